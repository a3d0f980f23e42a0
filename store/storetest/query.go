package storetest

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
)

// seedFilters appends the events the filter tests query, to tenant acme,
// and an unrelated event to tenant other. Traps: "userx.thing" for the
// "user.*" prefix, "user:420" for actor "user:42", "project:70" for target
// "project:7", an IPv4-mapped IPv6 address, times out of seq order.
func seedFilters(t *testing.T, s hashtrail.Store) {
	type spec struct {
		action  string
		cat     hashtrail.Category
		sev     hashtrail.Severity
		out     hashtrail.Outcome
		actor   *hashtrail.Actor
		ip      string
		targets []hashtrail.Target
		time    int
	}
	user := func(id, email string) *hashtrail.Actor {
		return &hashtrail.Actor{Type: hashtrail.ActorUser, ID: id, Email: email}
	}
	tg := func(keys ...string) []hashtrail.Target {
		var out []hashtrail.Target
		for _, k := range keys {
			typ, id, _ := cut(k)
			out = append(out, hashtrail.Target{Type: typ, ID: id, Name: "n-" + id})
		}
		return out
	}
	specs := []spec{
		0: {"user.login", hashtrail.CategoryAuthentication, hashtrail.SeverityInfo, hashtrail.OutcomeSuccess,
			user("42", "alice@example.com"), "203.0.113.5", tg("user:42"), 0},
		1: {"user.logout", hashtrail.CategoryAuthentication, hashtrail.SeverityLow, hashtrail.OutcomeSuccess,
			user("7", "Bob@Example.com"), "203.0.113.200", tg("project:7"), 10},
		2: {"user.login", hashtrail.CategoryAuthentication, hashtrail.SeverityMedium, hashtrail.OutcomeFailure,
			&hashtrail.Actor{Type: hashtrail.ActorUser, Email: "mallory@evil.test"}, "198.51.100.1", nil, 20},
		3: {"role.permission_grant", hashtrail.CategoryAuthorization, hashtrail.SeverityHigh, hashtrail.OutcomeSuccess,
			user("42", "alice@example.com"), "2001:db8::1", tg("role:admin", "user:7"), 30},
		4: {"app.env_var_add", hashtrail.CategoryConfiguration, hashtrail.SeverityCritical, hashtrail.OutcomeUnknown,
			&hashtrail.Actor{Type: hashtrail.ActorService, ID: "billing"}, "2001:db8:1::5", tg("project:7", "server:web-1"), 40},
		5: {"userx.thing", hashtrail.CategoryData, hashtrail.SeverityInfo, hashtrail.OutcomeSuccess,
			&hashtrail.Actor{Type: hashtrail.ActorAPIKey, ID: "k1"}, "", tg("project:70"), 50},
		6: {"user.password_change", hashtrail.CategoryAccount, hashtrail.SeverityHigh, hashtrail.OutcomeFailure,
			user("420", "carol@example.com"), "::ffff:203.0.113.9", tg("user:42", "user:42"), 5},
		7: {"system.startup", hashtrail.CategorySystem, hashtrail.SeverityInfo, hashtrail.OutcomeSuccess,
			nil, "10.0.0.1", nil, 60},
	}
	var events []*hashtrail.Event
	for i, sp := range specs {
		e := newEvent("acme", "f-"+string(rune('a'+i)))
		e.Action, e.Category, e.Severity, e.Outcome = sp.action, sp.cat, sp.sev, sp.out
		e.Actor, e.Targets, e.Time = sp.actor, sp.targets, at(sp.time)
		if sp.ip != "" {
			e.Context = &hashtrail.Context{IP: sp.ip}
		}
		events = append(events, e)
	}
	decoy := newEvent("other", "f-a")
	decoy.Targets, decoy.Context = tg("project:7"), &hashtrail.Context{IP: "203.0.113.5"}
	events = append(events, decoy)
	appendEvents(t, s, events...)
}

func cut(k string) (string, string, bool) {
	for i := range len(k) {
		if k[i] == ':' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

func testFilterActions(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	q := func(a ...string) hashtrail.Query { return hashtrail.Query{Tenant: "acme", Actions: a} }
	wantSeqs(t, s, q("user.login"), 2, 0)
	wantSeqs(t, s, q("user.*"), 6, 2, 1, 0)
	wantSeqs(t, s, q("user.login", "role.*"), 3, 2, 0)
	wantSeqs(t, s, q("app.env_var_add", "system.startup"), 7, 4)
	wantSeqs(t, s, q("user.log*"), 2, 1, 0)
	wantSeqs(t, s, q("user"))
	wantSeqs(t, s, q("nothing.here"))
}

func testFilterCategories(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	q := func(c ...hashtrail.Category) hashtrail.Query { return hashtrail.Query{Tenant: "acme", Categories: c} }
	wantSeqs(t, s, q(hashtrail.CategoryAuthentication), 2, 1, 0)
	wantSeqs(t, s, q(hashtrail.CategoryAuthorization, hashtrail.CategoryConfiguration), 4, 3)
	wantSeqs(t, s, q(hashtrail.CategorySecurity))
}

func testFilterMinSeverity(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	q := func(v hashtrail.Severity) hashtrail.Query { return hashtrail.Query{Tenant: "acme", MinSeverity: v} }
	wantSeqs(t, s, q(hashtrail.SeverityInfo), 7, 6, 5, 4, 3, 2, 1, 0)
	wantSeqs(t, s, q(hashtrail.SeverityLow), 6, 4, 3, 2, 1)
	wantSeqs(t, s, q(hashtrail.SeverityMedium), 6, 4, 3, 2)
	wantSeqs(t, s, q(hashtrail.SeverityHigh), 6, 4, 3)
	wantSeqs(t, s, q(hashtrail.SeverityCritical), 4)
}

func testFilterOutcomes(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	q := func(o ...hashtrail.Outcome) hashtrail.Query { return hashtrail.Query{Tenant: "acme", Outcomes: o} }
	wantSeqs(t, s, q(hashtrail.OutcomeFailure), 6, 2)
	wantSeqs(t, s, q(hashtrail.OutcomeSuccess, hashtrail.OutcomeUnknown), 7, 5, 4, 3, 1, 0)
}

func testFilterActor(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	q := func(a string) hashtrail.Query { return hashtrail.Query{Tenant: "acme", Actor: a} }
	wantSeqs(t, s, q("user:42"), 3, 0)
	wantSeqs(t, s, q("user:7"), 1)
	wantSeqs(t, s, q("user:4"))
	wantSeqs(t, s, q("service:billing"), 4)
	wantSeqs(t, s, q("api_key:k1"), 5)
	// An email address matches actor.email, case-insensitively.
	wantSeqs(t, s, q("alice@example.com"), 3, 0)
	wantSeqs(t, s, q("ALICE@example.COM"), 3, 0)
	wantSeqs(t, s, q("bob@example.com"), 1)
	wantSeqs(t, s, q("mallory@evil.test"), 2)
	// An actor known only by address has the key email:<address>.
	wantSeqs(t, s, q("email:mallory@evil.test"), 2)
	wantSeqs(t, s, q("nobody@example.com"))
}

func testFilterTarget(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	q := func(k string) hashtrail.Query { return hashtrail.Query{Tenant: "acme", Target: k} }
	wantSeqs(t, s, q("project:7"), 4, 1)
	wantSeqs(t, s, q("project:70"), 5)
	wantSeqs(t, s, q("user:42"), 6, 0) // listed twice in event 6, returned once
	wantSeqs(t, s, q("user:7"), 3)
	wantSeqs(t, s, q("role:admin"), 3)
	wantSeqs(t, s, q("server:web-1"), 4)
	wantSeqs(t, s, q("server:web"))
	asc := q("project:7")
	asc.Order, asc.Limit = hashtrail.OrderAsc, 1
	wantSeqs(t, s, asc, 1)
	asc.AfterSeq = ptr(int64(1))
	wantSeqs(t, s, asc, 4)
	desc := q("project:7")
	desc.Limit = 1
	wantSeqs(t, s, desc, 4)
	desc.BeforeSeq = ptr(int64(4))
	wantSeqs(t, s, desc, 1)
}

func testFilterIP(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	q := func(f string) hashtrail.Query {
		p, err := hashtrail.ParseIPFilter(f)
		if err != nil {
			t.Fatalf("ParseIPFilter(%s): %v", f, err)
		}
		return hashtrail.Query{Tenant: "acme", IP: p}
	}
	wantSeqs(t, s, q("203.0.113.5"), 0)
	wantSeqs(t, s, q("203.0.113.0/24"), 6, 1, 0)
	wantSeqs(t, s, q("203.0.113.128/25"), 1)
	wantSeqs(t, s, q("203.0.113.9"), 6) // stored as ::ffff:203.0.113.9
	wantSeqs(t, s, q("198.51.100.0/24"), 2)
	wantSeqs(t, s, q("0.0.0.0/0"), 7, 6, 2, 1, 0)
	wantSeqs(t, s, q("2001:db8::/32"), 4, 3)
	wantSeqs(t, s, q("2001:db8::/48"), 3)
	wantSeqs(t, s, q("2001:db8::1"), 3)
	wantSeqs(t, s, q("2001:db8::2"))
	wantSeqs(t, s, q("192.0.2.0/24"))
	// A prefix given unmasked still means the whole network.
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", IP: netip.MustParsePrefix("203.0.113.77/24")}, 6, 1, 0)
}

func testFilterTime(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	q := func(since, until hashtrail.Time) hashtrail.Query {
		return hashtrail.Query{Tenant: "acme", Since: since, Until: until}
	}
	none := hashtrail.Time{}
	wantSeqs(t, s, q(at(10), none), 7, 5, 4, 3, 2, 1)
	wantSeqs(t, s, q(none, at(10)), 6, 0)
	wantSeqs(t, s, q(at(10), at(30)), 2, 1)
	wantSeqs(t, s, q(at(20), at(21)), 2)                                                 // Since is inclusive
	wantSeqs(t, s, q(at(19), at(20)))                                                    // Until is exclusive
	wantSeqs(t, s, q(hashtrail.NewTime(at(20).Add(time.Microsecond)), none), 7, 5, 4, 3) // to the microsecond
	wantSeqs(t, s, q(none, hashtrail.NewTime(at(0).Add(time.Microsecond))), 0)
}

func testFilterSeqBounds(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	q := func(after, before *int64, o hashtrail.Order) hashtrail.Query {
		return hashtrail.Query{Tenant: "acme", AfterSeq: after, BeforeSeq: before, Order: o}
	}
	wantSeqs(t, s, q(ptr(int64(2)), nil, hashtrail.OrderAsc), 3, 4, 5, 6, 7)
	wantSeqs(t, s, q(nil, ptr(int64(3)), hashtrail.OrderDesc), 2, 1, 0)
	wantSeqs(t, s, q(ptr(int64(1)), ptr(int64(4)), hashtrail.OrderDesc), 3, 2)
	wantSeqs(t, s, q(ptr(int64(1)), ptr(int64(2)), hashtrail.OrderAsc))
	wantSeqs(t, s, q(ptr(int64(7)), nil, hashtrail.OrderAsc))
	wantSeqs(t, s, q(nil, ptr(int64(0)), hashtrail.OrderDesc))
	wantSeqs(t, s, q(ptr(int64(-1)), nil, hashtrail.OrderAsc), 0, 1, 2, 3, 4, 5, 6, 7)
	wantSeqs(t, s, q(nil, ptr(int64(1<<62)), ""), 7, 6, 5, 4, 3, 2, 1, 0)
	wantSeqs(t, s, q(ptr(int64(1<<62)), nil, ""))
}

func testFilterCombined(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	ip, _ := hashtrail.ParseIPFilter("2001:db8::/32")
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Actions: []string{"user.*"}, Outcomes: []hashtrail.Outcome{hashtrail.OutcomeFailure},
		Target: "user:42"}, 6)
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Actor: "user:42", MinSeverity: hashtrail.SeverityHigh}, 3)
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Target: "project:7", IP: ip}, 4)
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Actor: "alice@example.com", Since: at(1), Categories: []hashtrail.Category{hashtrail.CategoryAuthorization}}, 3)
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Actions: []string{"user.*"}, AfterSeq: ptr(int64(0)), BeforeSeq: ptr(int64(6)), Order: hashtrail.OrderAsc}, 1, 2)
}

func testOrderAndLimit(t *testing.T, s hashtrail.Store) {
	seedFilters(t, s)
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Limit: 3}, 7, 6, 5)
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Limit: 3, Order: hashtrail.OrderDesc}, 7, 6, 5)
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Limit: 3, Order: hashtrail.OrderAsc}, 0, 1, 2)
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme"}, 7, 6, 5, 4, 3, 2, 1, 0) // Limit 0: DefaultLimit
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Limit: 1, Actions: []string{"user.*"}, Order: hashtrail.OrderAsc}, 0)
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Limit: 2, Actions: []string{"user.*"}}, 6, 2)
}

// testLimits checks the limits the engine relies on: no Limit means
// DefaultLimit, and MaxLimit+1 (a full page and one more, to know whether
// another page follows) is honoured.
func testLimits(t *testing.T, s hashtrail.Store) {
	var evs []*hashtrail.Event
	for i := range hashtrail.MaxLimit + 5 {
		evs = append(evs, newEvent("acme", fmt.Sprintf("e%d", i)))
	}
	mustAppend(t, s, group(evs...))
	if got := query(t, s, hashtrail.Query{Tenant: "acme", Limit: hashtrail.MaxLimit + 1}); len(got) != hashtrail.MaxLimit+1 {
		t.Errorf("Limit MaxLimit+1: %d events, want %d", len(got), hashtrail.MaxLimit+1)
	}
	if got := query(t, s, hashtrail.Query{Tenant: "acme"}); len(got) != hashtrail.DefaultLimit {
		t.Errorf("no Limit: %d events, want %d", len(got), hashtrail.DefaultLimit)
	}
}
