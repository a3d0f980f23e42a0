package ledger

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// evalClock is the injectable clock of these tests: events are received
// at its time, and it moves only when a test moves it.
type evalClock struct {
	t   time.Time
	seq int64
}

func (c *evalClock) add(d time.Duration) { c.t = c.t.Add(d) }

// event makes the next event of tenant acme, received now.
func (c *evalClock) event(action string, outcome hashtrail.Outcome, actor, ip, country string) *hashtrail.Event {
	e := &hashtrail.Event{
		ID: fmt.Sprintf("ev%d", c.seq), Tenant: "acme", Seq: c.seq, Action: action, Outcome: outcome,
		Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo,
		Time: hashtrail.NewTime(c.t), ReceivedAt: hashtrail.NewTime(c.t),
		Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: actor},
		Context: &hashtrail.Context{IP: ip},
	}
	if country != "" {
		e.Context.Location = &hashtrail.Location{Country: country}
	}
	c.seq++
	return e
}

func rule(t *testing.T, created time.Time, r hashtrail.AlertRule) []*alertRuleEval {
	t.Helper()
	r.Tenant = "acme"
	if r.ID == "" {
		r.ID = "alr_test"
	}
	r.CreatedAt, r.UpdatedAt = hashtrail.NewTime(created), hashtrail.NewTime(created)
	rs := compileAlertRules([]*hashtrail.AlertRule{&r})
	if len(rs) != 1 {
		t.Fatalf("rule %+v did not compile", r)
	}
	return rs
}

func TestThresholdPerGroupInWindow(t *testing.T) {
	c := &evalClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	rules := rule(t, c.t.Add(-time.Hour), hashtrail.AlertRule{
		Filter:    "action:user.login outcome:failure",
		Threshold: &hashtrail.AlertThreshold{Count: 5, Window: "10m", GroupBy: "actor"},
		Cooldown:  "30m",
	})
	st := &alertState{}
	var evs []*hashtrail.Event
	// alice fails 4 times, bob 5 times, interleaved, a minute apart; a
	// success of bob's does not count.
	for i := range 5 {
		if i < 4 {
			evs = append(evs, c.event("user.login", hashtrail.OutcomeFailure, "alice", "203.0.113.1", ""))
		}
		evs = append(evs, c.event("user.login", hashtrail.OutcomeFailure, "bob", "203.0.113.2", ""))
		evs = append(evs, c.event("user.login", hashtrail.OutcomeSuccess, "bob", "203.0.113.2", ""))
		c.add(time.Minute)
	}
	fs := evaluate(st, rules, evs, c.t)
	if len(fs) != 1 {
		t.Fatalf("firings = %d, want 1 (bob's fifth failure): %+v", len(fs), fs)
	}
	f := fs[0].Firing
	if f.Group != "user:bob" || f.Count != 5 || !f.Notified || f.FirstEvent != "ev1" || f.LastEvent != evs[len(evs)-2].ID {
		t.Errorf("firing = %+v", f)
	}
	if f.ID != "alert:alr_test:"+fmt.Sprint(evs[len(evs)-2].Seq) || f.Reason != "5 events in 10m0s for one actor" {
		t.Errorf("id %q reason %q", f.ID, f.Reason)
	}
	// alice's fifth failure comes 11 minutes after her first: the window
	// has slid past her first, so nothing fires.
	c.add(7 * time.Minute)
	if fs := evaluate(st, rules, []*hashtrail.Event{c.event("user.login", hashtrail.OutcomeFailure, "alice", "", "")}, c.t); len(fs) != 0 {
		t.Fatalf("alice fired with 4 failures in the window: %+v", fs[0].Firing)
	}
	// Bob fails 5 more times within the cooldown: recorded, suppressed.
	var more []*hashtrail.Event
	for range 5 {
		more = append(more, c.event("user.login", hashtrail.OutcomeFailure, "bob", "", ""))
	}
	fs = evaluate(st, rules, more, c.t)
	if len(fs) != 1 || fs[0].Firing.Notified || fs[0].Firing.Count != 5 {
		t.Fatalf("within the cooldown: %+v", fs)
	}
	// After the cooldown, the next firing is notified and counts the
	// suppressed one.
	c.add(31 * time.Minute)
	more = more[:0]
	for range 5 {
		more = append(more, c.event("user.login", hashtrail.OutcomeFailure, "bob", "", ""))
	}
	fs = evaluate(st, rules, more, c.t)
	if len(fs) != 1 || !fs[0].Firing.Notified || fs[0].Firing.Suppressed != 1 {
		t.Fatalf("after the cooldown: %+v", fs)
	}
}

func TestThresholdGroupedByPersonalFieldCommitsAHash(t *testing.T) {
	c := &evalClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	rules := rule(t, c.t, hashtrail.AlertRule{Threshold: &hashtrail.AlertThreshold{Count: 2, Window: "1m", GroupBy: "ip"}})
	fs := evaluate(&alertState{}, rules, []*hashtrail.Event{
		c.event("user.login", hashtrail.OutcomeFailure, "a", "198.51.100.7", ""),
		c.event("user.login", hashtrail.OutcomeFailure, "b", "198.51.100.7", ""),
	}, c.t)
	if len(fs) != 1 {
		t.Fatalf("firings = %d", len(fs))
	}
	if fs[0].Firing.Group != "" || fs[0].Firing.GroupHash == "" || fs[0].Group != "198.51.100.7" {
		t.Errorf("personal group: recorded %q/%q, notified %q", fs[0].Firing.Group, fs[0].Firing.GroupHash, fs[0].Group)
	}
	b, _ := json.Marshal(fs[0].Firing)
	if strings.Contains(string(b), "198.51.100.7") {
		t.Errorf("the recorded firing holds the address: %s", b)
	}
}

// TestThresholdOnUnknownAccounts: failed logins for an account that does
// not exist carry only an email; they group as email:<address>, which a
// firing commits only as a hash.
func TestThresholdOnUnknownAccounts(t *testing.T) {
	c := &evalClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	rules := rule(t, c.t, hashtrail.AlertRule{Threshold: &hashtrail.AlertThreshold{Count: 3, Window: "1m", GroupBy: "actor"}})
	var evs []*hashtrail.Event
	for i := range 3 {
		e := c.event("user.login", hashtrail.OutcomeFailure, "", "", "")
		e.Actor.Email = []string{"Eve@Example.com", "eve@example.com", "EVE@example.com"}[i]
		evs = append(evs, e)
	}
	fs := evaluate(&alertState{}, rules, evs, c.t)
	if len(fs) != 1 || fs[0].Group != "email:eve@example.com" || fs[0].Firing.Group != "" || fs[0].Firing.GroupHash == "" {
		t.Fatalf("firings %+v", fs)
	}
}

func TestNoveltyCountryAndIPRange(t *testing.T) {
	c := &evalClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	country := rule(t, c.t, hashtrail.AlertRule{ID: "alr_country", Filter: "action:user.login", Novelty: &hashtrail.AlertNovelty{Field: "country", Per: "actor"}, Cooldown: "0s"})
	ipr := rule(t, c.t, hashtrail.AlertRule{ID: "alr_range", Filter: "action:user.login", Novelty: &hashtrail.AlertNovelty{Field: "ip_range", Per: "actor"}, Cooldown: "0s"})
	rules := append(country, ipr...)
	st := &alertState{}
	step := func(actor, ip, cc string) []*pendingFiring {
		c.add(time.Minute)
		return evaluate(st, rules, []*hashtrail.Event{c.event("user.login", hashtrail.OutcomeSuccess, actor, ip, cc)}, c.t)
	}
	// The first login of a user is the baseline.
	if fs := step("alice", "203.0.113.5", "DE"); len(fs) != 0 {
		t.Fatalf("first login fired: %+v", fs[0].Firing)
	}
	// Same /24, same country: nothing.
	if fs := step("alice", "203.0.113.77", "de"); len(fs) != 0 {
		t.Fatalf("same range and country fired: %+v", fs[0].Firing)
	}
	// A new country and a new /24.
	fs := step("alice", "198.51.100.1", "FR")
	if len(fs) != 2 || fs[0].Firing.Rule != "alr_country" || fs[0].Value != "FR" || fs[1].Value != "198.51.100.0/24" {
		t.Fatalf("new country and range: %+v", fs)
	}
	if fs[0].Firing.GroupHash != "" || fs[0].Firing.Group != "user:alice" || fs[0].Firing.Reason != "new country for its actor" {
		t.Errorf("firing = %+v", fs[0].Firing)
	}
	// Back to a known one: nothing. Another user's first login: baseline.
	if fs := step("alice", "203.0.113.9", "DE"); len(fs) != 0 {
		t.Fatalf("known values fired: %+v", fs)
	}
	if fs := step("bob", "198.51.100.2", "FR"); len(fs) != 0 {
		t.Fatalf("bob's first login fired: %+v", fs)
	}
	// IPv6: the /48.
	step("carol", "2001:db8:1:2::1", "")
	if fs := step("carol", "2001:db8:1:ffff::1", ""); len(fs) != 0 {
		t.Fatalf("same /48 fired: %+v", fs)
	}
	if fs := step("carol", "2001:db8:2::1", ""); len(fs) != 1 || fs[0].Value != "2001:db8:2::/48" {
		t.Fatalf("new /48: %+v", fs)
	}
}

func TestNoveltyFirstSeenAndTenantWide(t *testing.T) {
	c := &evalClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	rules := rule(t, c.t, hashtrail.AlertRule{Novelty: &hashtrail.AlertNovelty{Field: "api_key"}, Cooldown: "0s"})
	st := &alertState{}
	key := func(id string) *hashtrail.Event {
		c.add(time.Second)
		e := c.event("project.deploy", hashtrail.OutcomeSuccess, "ci", "", "")
		e.Actor.Auth = &hashtrail.Auth{Method: "api_token", CredentialID: id}
		return e
	}
	// Tenant-wide: every new key fires, the first one too.
	fs := evaluate(st, rules, []*hashtrail.Event{key("k1"), key("k1"), key("k2")}, c.t)
	if len(fs) != 2 || fs[0].Value != "k1" || fs[1].Value != "k2" {
		t.Fatalf("new keys: %+v", fs)
	}
	first := rule(t, c.t, hashtrail.AlertRule{Novelty: &hashtrail.AlertNovelty{Field: "country", Per: "actor", FirstSeen: true}})
	if fs := evaluate(&alertState{}, first, []*hashtrail.Event{c.event("user.login", hashtrail.OutcomeSuccess, "x", "", "NL")}, c.t); len(fs) != 1 {
		t.Fatalf("first_seen did not fire on the first value")
	}
}

func TestSystemEventsAndRuleLifetime(t *testing.T) {
	c := &evalClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	sys := func() *hashtrail.Event {
		e := c.event(hashtrail.ActionAlertFired, hashtrail.OutcomeSuccess, "x", "", "")
		e.Category = hashtrail.CategorySystem
		return e
	}
	all := rule(t, c.t, hashtrail.AlertRule{})
	if fs := evaluate(&alertState{}, all, []*hashtrail.Event{sys()}, c.t); len(fs) != 0 {
		t.Fatal("a rule without a system filter saw a firing")
	}
	other := func() *hashtrail.Event {
		e := c.event("system.sink_paused", hashtrail.OutcomeSuccess, "x", "", "")
		e.Category = hashtrail.CategorySystem
		return e
	}
	asks := rule(t, c.t, hashtrail.AlertRule{Filter: "action:system.*"})
	if fs := evaluate(&alertState{}, asks, []*hashtrail.Event{other()}, c.t); len(fs) != 1 {
		t.Fatal("a rule asking for system events did not see one")
	}
	// Not even a rule that names them sees firings: it would feed itself.
	for _, f := range []string{"action:system.*", "category:system", "action:system.alert_fired"} {
		if fs := evaluate(&alertState{}, rule(t, c.t, hashtrail.AlertRule{Filter: f}), []*hashtrail.Event{sys()}, c.t); len(fs) != 0 {
			t.Errorf("a rule with filter %q saw a firing", f)
		}
	}
	neg := rule(t, c.t, hashtrail.AlertRule{Filter: "-category:system"})
	if fs := evaluate(&alertState{}, neg, []*hashtrail.Event{sys()}, c.t); len(fs) != 0 {
		t.Fatal("a negated system term counts as asking")
	}
	// A rule ignores events received before it was created.
	old := c.event("user.login", hashtrail.OutcomeSuccess, "a", "", "")
	c.add(time.Second)
	later := rule(t, c.t, hashtrail.AlertRule{})
	if fs := evaluate(&alertState{}, later, []*hashtrail.Event{old}, c.t); len(fs) != 0 {
		t.Fatal("a rule fired on an event older than itself")
	}
}

func TestEvaluationIsDeterministicAndChangedRulesStartOver(t *testing.T) {
	c := &evalClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	r := hashtrail.AlertRule{ID: "alr_x", Threshold: &hashtrail.AlertThreshold{Count: 3, Window: "1h", GroupBy: "action"}}
	rules := rule(t, c.t, r)
	var evs []*hashtrail.Event
	for range 7 {
		c.add(time.Second)
		evs = append(evs, c.event("user.login", hashtrail.OutcomeFailure, "a", "", ""))
	}
	st := &alertState{}
	evaluate(st, rules, evs[:2], c.t)
	saved, _ := json.Marshal(st)
	a := evaluate(st, rules, evs[2:], c.t)
	// A node that resumes from the stored state decides the same firings.
	var resumed alertState
	if err := json.Unmarshal(saved, &resumed); err != nil {
		t.Fatal(err)
	}
	b := evaluate(&resumed, rules, evs[2:], c.t.Add(time.Hour))
	// A state whose groups were all pruned reads back without any.
	var empty alertState
	if err := json.Unmarshal([]byte(`{"next":3,"rules":{"alr_x":{"version":`+fmt.Sprint(conditionVersion(&r))+`}}}`), &empty); err != nil {
		t.Fatal(err)
	}
	if fs := evaluate(&empty, rules, evs[:3], c.t); len(fs) != 1 {
		t.Fatalf("from a state without groups: %d firings", len(fs))
	}
	if len(a) != 2 || len(b) != 2 || a[0].Firing.ID != b[0].Firing.ID || a[1].Firing.ID != b[1].Firing.ID || a[1].Firing.Notified != b[1].Firing.Notified {
		t.Fatalf("first run %+v, resumed %+v", a, b)
	}
	// A new name or cooldown keeps what the rule counted...
	r.Name, r.Cooldown, r.UpdatedAt = "renamed", "1m", hashtrail.NewTime(c.t.Add(time.Minute))
	renamed := compileAlertRules([]*hashtrail.AlertRule{&r})
	renamed[0].since = rules[0].since
	evaluate(st, renamed, nil, c.t)
	if st.Rules["alr_x"].Groups["user.login"] == nil {
		t.Fatal("a renamed rule forgot its counts")
	}
	// ...a changed condition forgets it.
	r.Threshold = &hashtrail.AlertThreshold{Count: 3, Window: "2h", GroupBy: "action"}
	changed := compileAlertRules([]*hashtrail.AlertRule{&r})
	changed[0].rule.CreatedAt = hashtrail.NewTime(c.t.Add(-time.Hour))
	changed[0].since = changed[0].rule.CreatedAt.Micros()
	c.add(time.Second)
	if fs := evaluate(st, changed, []*hashtrail.Event{c.event("user.login", hashtrail.OutcomeFailure, "a", "", "")}, c.t); len(fs) != 0 {
		t.Fatal("a changed rule kept its old counts")
	}
	if len(st.Rules["alr_x"].Groups["user.login"].Hits) != 1 {
		t.Fatalf("state after the change: %+v", st.Rules["alr_x"].Groups)
	}
	// A removed rule's memory goes.
	evaluate(st, nil, nil, c.t)
	if len(st.Rules) != 0 {
		t.Fatal("a removed rule's state stayed")
	}
}

func TestGroupsAreBounded(t *testing.T) {
	c := &evalClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	rules := rule(t, c.t, hashtrail.AlertRule{Novelty: &hashtrail.AlertNovelty{Field: "ip", Per: "actor"}})
	st := &alertState{}
	var evs []*hashtrail.Event
	for i := range maxAlertGroups + 10 {
		c.add(time.Millisecond)
		evs = append(evs, c.event("user.login", hashtrail.OutcomeSuccess, fmt.Sprint("u", i), "192.0.2.1", ""))
	}
	evaluate(st, rules, evs, c.t)
	g := st.Rules["alr_test"].Groups
	if len(g) != maxAlertGroups {
		t.Fatalf("groups = %d, want %d", len(g), maxAlertGroups)
	}
	if g["user:u0"] != nil || g[fmt.Sprint("user:u", maxAlertGroups+9)] == nil {
		t.Error("eviction did not forget the least recently seen group")
	}
	// Values per group are bounded too.
	var one []*hashtrail.Event
	for i := range maxNoveltyValues + 5 {
		one = append(one, c.event("user.login", hashtrail.OutcomeSuccess, "busy", fmt.Sprintf("192.0.2.%d", i+1), ""))
	}
	evaluate(st, rules, one, c.t)
	if n := len(st.Rules["alr_test"].Groups["user:busy"].Seen); n != maxNoveltyValues {
		t.Fatalf("values kept = %d", n)
	}
}

func TestDigestPeriod(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		schedule string
		hour     int
		now      string
		name     string
		from     string
	}{
		{"daily", 7, "2026-11-23T08:00:00Z", "daily:2026-11-22", "2026-11-22T00:00:00Z"},
		{"daily", 7, "2026-11-23T06:59:00Z", "daily:2026-11-21", "2026-11-21T00:00:00Z"},
		{"weekly", 0, "2026-11-23T00:00:01Z", "weekly:2026-11-16", "2026-11-16T00:00:00Z"}, // a Monday
		{"weekly", 9, "2026-11-23T08:00:00Z", "weekly:2026-11-09", "2026-11-09T00:00:00Z"},
		{"weekly", 9, "2026-11-29T23:00:00Z", "weekly:2026-11-16", "2026-11-16T00:00:00Z"}, // Sunday
	} {
		name, from, until := digestPeriod(tc.schedule, tc.hour, at(tc.now))
		if name != tc.name || !from.Equal(at(tc.from)) {
			t.Errorf("%s %d at %s: %s from %s, want %s from %s", tc.schedule, tc.hour, tc.now, name, from, tc.name, tc.from)
		}
		days := 1
		if tc.schedule == "weekly" {
			days = 7
		}
		if !until.Equal(from.AddDate(0, 0, days)) {
			t.Errorf("%s: until %s", tc.name, until)
		}
	}
}

// BenchmarkEvaluate measures rule evaluation: three rules (a threshold per
// actor, a novelty of IP range per actor, a plain filter) over batches of
// 1,000 failed and successful logins from 1,000 actors.
func BenchmarkEvaluate(b *testing.B) {
	c := &evalClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	created := c.t.Add(-time.Hour)
	var rules []*alertRuleEval
	for _, r := range []hashtrail.AlertRule{
		{ID: "alr_t", Filter: "action:user.login outcome:failure", Threshold: &hashtrail.AlertThreshold{Count: 5, Window: "10m", GroupBy: "actor"}},
		{ID: "alr_n", Filter: "action:user.login outcome:success", Novelty: &hashtrail.AlertNovelty{Field: "ip_range", Per: "actor"}},
		{ID: "alr_f", Filter: "action:user.login severity:>=high"},
	} {
		r.Tenant, r.CreatedAt, r.UpdatedAt = "acme", hashtrail.NewTime(created), hashtrail.NewTime(created)
		rules = append(rules, compileAlertRules([]*hashtrail.AlertRule{&r})...)
	}
	evs := make([]*hashtrail.Event, 1000)
	for i := range evs {
		c.add(10 * time.Millisecond)
		out := hashtrail.OutcomeSuccess
		if i%3 == 0 {
			out = hashtrail.OutcomeFailure
		}
		evs[i] = c.event("user.login", out, fmt.Sprint("u", i%1000), fmt.Sprintf("198.51.%d.%d", i%200, i%250), "DE")
	}
	st := &alertState{}
	b.ResetTimer()
	for range b.N {
		evaluate(st, rules, evs, c.t)
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
	raw, _ := json.Marshal(st)
	b.ReportMetric(float64(len(raw)), "state-bytes")
}
