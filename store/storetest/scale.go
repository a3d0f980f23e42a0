package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	searchq "github.com/hashtrail/hashtrail/query"
)

// ScaleTenant is the tenant RunScale loads and measures.
const ScaleTenant = "scale"

// ScaleEvents returns how many events the scale benchmark runs on:
// HASHTRAIL_BENCH_EVENTS if set, 10,000,000 with HASHTRAIL_BENCH_10M=1,
// else 0 (skip).
func ScaleEvents() int {
	if n, err := strconv.Atoi(os.Getenv("HASHTRAIL_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	if os.Getenv("HASHTRAIL_BENCH_10M") == "1" {
		return 10_000_000
	}
	return 0
}

// scaleStart is the time of the first event; one follows every 300 ms, so
// 10M events span 34.7 days.
var scaleStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const scaleStep = 300 * time.Millisecond

// scaleActions are the actions of the scale benchmark with their category
// and weight (of 100).
var scaleActions = []struct {
	action string
	cat    hashtrail.Category
	weight int
}{
	{"user.login", hashtrail.CategoryAuthentication, 30},
	{"page.view", hashtrail.CategoryAccess, 20},
	{"user.logout", hashtrail.CategoryAuthentication, 10},
	{"project.update", hashtrail.CategoryResource, 10},
	{"document.download", hashtrail.CategoryData, 8},
	{"project.member_add", hashtrail.CategoryAuthorization, 5},
	{"role.permission_grant", hashtrail.CategoryAuthorization, 3},
	{"api_key.create", hashtrail.CategorySecurity, 3},
	{"user.password_change", hashtrail.CategoryAccount, 3},
	{"user.mfa_enable", hashtrail.CategoryAccount, 2},
	{"app.env_var_add", hashtrail.CategoryConfiguration, 2},
	{"project.delete", hashtrail.CategoryResource, 2},
	{"system.backup", hashtrail.CategorySystem, 2},
}

// scaleWords make descriptions (four words each); "quokka" is rare (one
// event in 10,000).
var scaleWords = []string{"deployed", "payments", "website", "billing", "invoice", "staging", "production",
	"rotated", "dashboard", "report", "export", "settings", "webhook", "team", "member", "backup",
	"customer", "checkout", "analytics", "mobile", "gateway", "cluster", "search", "archive"}

var scaleCountries = []string{"DE", "FR", "US", "GB", "NL", "BR", "IN", "JP", "ES", "IT", "CA", "AU"}

// ScaleEvent returns event n of the scale benchmark: 20,000 users (a few
// far more active than most), 2,000 projects, 5% service actors, logins
// failing 5% of the time, a 4-word description, an IP from 5,000 networks
// with its country, tags on a tenth, metadata with a plan.
func ScaleEvent(n int) *hashtrail.Event {
	r := rand.New(rand.NewPCG(uint64(n), 11))
	e := newEvent(ScaleTenant, fmt.Sprintf("01K%013d", n))
	e.Time = hashtrail.NewTime(scaleStart.Add(time.Duration(n)*scaleStep + time.Duration(r.IntN(3000))*time.Millisecond).Truncate(time.Microsecond))
	e.ReceivedAt = e.Time
	w := r.IntN(100)
	for _, a := range scaleActions {
		if w < a.weight {
			e.Action, e.Category = a.action, a.cat
			break
		}
		w -= a.weight
	}
	user := int(r.ExpFloat64()*3000) % 20000
	if r.IntN(20) == 0 {
		e.Actor = &hashtrail.Actor{Type: hashtrail.ActorService, ID: fmt.Sprintf("svc-%d", r.IntN(20))}
	} else {
		e.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, ID: strconv.Itoa(user), Email: fmt.Sprintf("user%d@example.com", user), Name: fmt.Sprintf("User %d", user)}
	}
	if e.Action == "user.login" && r.IntN(20) == 0 {
		e.Outcome, e.Severity = hashtrail.OutcomeFailure, hashtrail.SeverityMedium
	}
	if e.Category != hashtrail.CategoryAuthentication {
		e.Targets = []hashtrail.Target{{Type: "project", ID: strconv.Itoa(r.IntN(2000)), Name: "Project"}}
		if r.IntN(5) == 0 {
			e.Targets = append(e.Targets, hashtrail.Target{Type: "user", ID: strconv.Itoa(r.IntN(20000))})
		}
	}
	desc := ""
	for i := range 4 {
		if i > 0 {
			desc += " "
		}
		desc += scaleWords[r.IntN(len(scaleWords))]
	}
	if n%10_000 == 7 {
		desc += " quokka"
	}
	e.Description = desc
	net := r.IntN(5000)
	e.Context = &hashtrail.Context{IP: fmt.Sprintf("10.%d.%d.%d", net/250, net%250, 1+r.IntN(250)), UserAgent: "Mozilla/5.0",
		Location: &hashtrail.Location{Country: scaleCountries[net%len(scaleCountries)]}}
	if n%10 == 0 {
		e.Tags = []string{"deploy"}
	}
	e.Metadata = json.RawMessage(fmt.Sprintf(`{"plan":%q,"seats":%d}`, []string{"free", "team", "enterprise"}[r.IntN(3)], r.IntN(100)))
	return e
}

// LoadScale appends ScaleEvent(i) for every i from the tenant's current
// size up to n, in groups of 1,000 from writers goroutines (Append's
// bulk path; no HTTP, no engine), and returns how many it wrote.
func LoadScale(tb testing.TB, s hashtrail.Store, n, writers int) int {
	have := 0
	if t, err := s.Tenant(tb.Context(), ScaleTenant); err == nil {
		have = int(t.Size)
	}
	if have >= n {
		return 0
	}
	start := time.Now()
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	done := have
	for range max(1, writers) {
		wg.Go(func() {
			for i := range next {
				g := &hashtrail.AppendGroup{CreateTenants: true}
				for j := i; j < min(i+1000, n); j++ {
					e := ScaleEvent(j)
					g.Entries = append(g.Entries, &hashtrail.Entry{Event: e, ContentHash: []byte(e.ID)})
				}
				err := s.Append(tb.Context(), []*hashtrail.AppendGroup{g})
				if err == nil {
					err = g.Err
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				done += len(g.Entries)
				if done%500_000 < 1000 {
					tb.Logf("loaded %d events, %.0f events/s", done, float64(done-have)/time.Since(start).Seconds())
				}
				mu.Unlock()
			}
		})
	}
	// Seqs are assigned in commit order, and every group is one tenant's,
	// so events land with increasing seqs whatever the writers' order;
	// their times follow n, which the generator keeps.
	for i := have; i < n; i += 1000 {
		mu.Lock()
		err := firstErr
		mu.Unlock()
		if err != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		tb.Fatalf("loading: %v", firstErr)
	}
	tb.Logf("loaded %d events in %v (%.0f events/s)", n-have, time.Since(start).Round(time.Second), float64(n-have)/time.Since(start).Seconds())
	return n - have
}

// scaleFeeds are the first pages measured: the feed and typical filters
// and free-text searches.
var scaleFeeds = []struct{ name, q string }{
	{"feed, newest", ""},
	{"feed, actor", "actor:user:1234"},
	{"feed, failed sign-ins", "category:authentication -outcome:success"},
	{"feed, target", "target:project:42"},
	{"feed, action and country", "action:project.member_add country:BR"},
	{"text, common word", "invoice"},
	{"text, rare word", "quokka"},
	{"text, phrase", `"payments website"`},
	{"text and filter", "checkout category:data -tag:deploy"},
}

// RunScale loads n events into s (see LoadScale) and logs the p50 and p99
// of the first page (100 events and one, as the engine asks) of each
// search of scaleFeeds, and of stats over the last 30 days. It runs each
// page query pages times and each stats query statsRuns times.
func RunScale(t *testing.T, s hashtrail.Store, n, writers, pages, statsRuns int) {
	LoadScale(t, s, n, writers)
	last := scaleStart.Add(time.Duration(n) * scaleStep)
	t.Logf("%-28s %-46s %8s %10s %10s %10s", "case", "query", "found", "p50", "p99", "max")
	report := func(name, q string, found int64, d []time.Duration) {
		slices.Sort(d)
		t.Logf("%-28s %-46s %8d %10v %10v %10v", name, q, found, d[len(d)/2].Round(10*time.Microsecond),
			d[min(len(d)-1, len(d)*99/100)].Round(10*time.Microsecond), d[len(d)-1].Round(10*time.Microsecond))
	}
	parse := func(text string) hashtrail.Query {
		q := hashtrail.Query{Tenant: ScaleTenant}
		if text != "" {
			sr, err := searchq.Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			sr.Apply(&q)
		}
		return q
	}
	for _, c := range scaleFeeds {
		q := parse(c.q)
		q.Limit = hashtrail.DefaultLimit + 1
		var d []time.Duration
		found := 0
		for range pages {
			start := time.Now()
			evs, err := s.Events(t.Context(), &q)
			if err != nil {
				t.Fatal(err)
			}
			d = append(d, time.Since(start))
			found = len(evs)
		}
		report(c.name, c.q, int64(found), d)
	}
	since := hashtrail.NewTime(last.Add(-30 * 24 * time.Hour).Truncate(24 * time.Hour))
	until := hashtrail.NewTime(last.Truncate(24 * time.Hour).Add(24 * time.Hour))
	stats := []struct {
		name, q string
		group   hashtrail.StatsField
		bucket  hashtrail.StatsBucket
	}{
		{"stats 30d, category by day", "", hashtrail.StatsCategory, hashtrail.BucketDay},
		{"stats 30d, top actions", "", hashtrail.StatsAction, ""},
		{"stats 30d, failed sign-ins", "category:authentication -outcome:success", hashtrail.StatsCountry, hashtrail.BucketDay},
		{"stats 30d, one actor", "actor:user:1234", hashtrail.StatsAction, hashtrail.BucketDay},
	}
	for _, c := range stats {
		q := parse(c.q)
		q.Since, q.Until = since, until
		sq := &hashtrail.StatsQuery{Query: q, GroupBy: c.group, Bucket: c.bucket}
		var d []time.Duration
		var total int64
		for range statsRuns {
			start := time.Now()
			st, err := s.Stats(t.Context(), sq)
			if err != nil {
				t.Fatal(err)
			}
			d = append(d, time.Since(start))
			total = st.Total
		}
		report(c.name, fmt.Sprintf("%s group_by=%s bucket=%s", c.q, c.group, c.bucket), total, d)
	}
}
