package sqlite_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// searchActions are the actions of the search benchmark's events, most
// frequent first.
var searchActions = []string{"user.login", "page.view", "project.member_add", "user.logout", "project.update",
	"role.permission_grant", "api_key.create", "user.password_change"}

// searchWords make descriptions; "quokka" is rare (1 in 10,000 events).
var searchWords = []string{"deployed", "payments", "website", "billing", "invoice", "staging", "production",
	"rotated", "dashboard", "report", "export", "settings", "webhook", "team", "member", "backup"}

var searchCountries = []string{"DE", "FR", "US", "GB", "NL", "BR", "IN", "JP"}

// searchEvent returns event n of the search benchmark: one every 2 s,
// 5,000 users, 300 projects, 8 actions (a quarter logins, 5% of them failed), a description
// of four words, tags on a tenth of the events, a country, metadata with a
// plan and, on 1 in 1,000, a ticket.
func searchEvent(n int) *hashtrail.Event {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	e := benchEvent("acme", fmt.Sprintf("01J%013d", n), n)
	// One event every 2 s from 2026-03-01 (a million events span 23
	// days), a few seconds out of order.
	e.Time = hashtrail.NewTime(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(2*n+r.IntN(5)) * time.Second))
	e.ReceivedAt = e.Time
	e.Action = searchActions[min(r.IntN(16), len(searchActions)-1)]
	if r.IntN(4) == 0 {
		e.Action = "user.login"
	}
	if e.Action == "user.login" && r.IntN(20) == 0 {
		e.Outcome = hashtrail.OutcomeFailure
	}
	desc := ""
	for i := range 4 {
		if i > 0 {
			desc += " "
		}
		desc += searchWords[r.IntN(len(searchWords))]
	}
	if n%10_000 == 5 {
		desc += " quokka"
	}
	e.Description = desc
	e.Context.Location = &hashtrail.Location{Country: searchCountries[r.IntN(len(searchCountries))]}
	switch n % 10 {
	case 0:
		e.Tags = []string{"deploy", "ci"}
	case 5:
		e.Tags = []string{"prod"}
	}
	meta := fmt.Sprintf(`{"plan":%q,"seats":%d`, []string{"free", "team", "enterprise"}[r.IntN(3)], r.IntN(100))
	if n%1000 == 3 {
		meta += fmt.Sprintf(`,"ticket":"OPS-%d"`, n/1000)
	}
	e.Metadata = json.RawMessage(meta + "}")
	return e
}

// searchCases are the searches measured, with what they exercise.
var searchCases = []struct{ name, q string }{
	{"newest", ""},
	{"action", "action:user.login"},
	{"failed-logins", "action:user.login -outcome:success"},
	{"actor-rare-scan", "actor:user:42"},
	{"actor-email", "actor:user42@example.com action:user.login"},
	{"target", "target:project:7"},
	{"target-and-filter", "target:project:7 action:project.member_add country:DE"},
	{"tag", "tag:deploy"},
	{"country", "country:BR action:user.login,user.logout"},
	{"meta-common", "meta.plan:enterprise"},
	{"meta-rare-scan", "meta.ticket:OPS-500"},
	{"text-common", "payments"},
	{"text-phrase", `"rotated billing"`},
	{"text-rare", "quokka"},
	{"text-and-filter", "payments -outcome:success category:access"},
	{"text-prefix", "invoi*"},
	{"created-recent", "created:>=2026-03-23"},
	{"created-day", "created:2026-03-10"},
	{"created-old", "created:<2026-03-02"},
	{"created-old-filter", "created:<2026-03-02 action:user.login -outcome:success"},
}

// openSearchBench opens a store of n events of tenant acme, made once and
// kept at HASHTRAIL_SEARCH_DB if set (so that reruns skip the seeding).
func openSearchBench(tb testing.TB, n int) *sqlite.Store {
	path := os.Getenv("HASHTRAIL_SEARCH_DB")
	if path == "" {
		path = tb.TempDir() + "/search.db"
	}
	s, err := sqlite.Open(tb.Context(), path, sqlite.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tenants, err := s.Tenants(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	have := 0
	for _, t := range tenants {
		if t.ID == "acme" {
			have = int(t.Size)
		}
	}
	start := time.Now()
	for i := have; i < n; i += 1000 {
		g := &hashtrail.AppendGroup{CreateTenants: true}
		for j := i; j < min(i+1000, n); j++ {
			e := searchEvent(j)
			g.Entries = append(g.Entries, &hashtrail.Entry{Event: e, ContentHash: []byte(e.ID)})
		}
		if err := s.Append(tb.Context(), []*hashtrail.AppendGroup{g}); err != nil {
			tb.Fatal(err)
		}
	}
	if n > have {
		size, _ := s.Size(tb.Context())
		tb.Logf("seeded %d events in %v (%.0f events/s), %d MiB", n-have, time.Since(start).Round(time.Millisecond),
			float64(n-have)/time.Since(start).Seconds(), size>>20)
	}
	return s
}

// searchQuery returns the first-page query of search text, as the engine
// asks it (a page of 100 and one more).
func searchQuery(tb testing.TB, text string) *hashtrail.Query {
	q := &hashtrail.Query{Tenant: "acme", Limit: hashtrail.DefaultLimit + 1}
	sr, err := query.Parse(text)
	if err != nil {
		tb.Fatal(err)
	}
	sr.Apply(q)
	return q
}

// BenchmarkSearch measures the first page of typical searches over a
// tenant of 100,000 events (HASHTRAIL_SEARCH_EVENTS to change it).
func BenchmarkSearch(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("HASHTRAIL_SEARCH_EVENTS"))
	if n <= 0 {
		n = 100_000
	}
	s := openSearchBench(b, n)
	defer s.Close()
	for _, c := range searchCases {
		q := searchQuery(b, c.q)
		b.Run(c.name, func(b *testing.B) {
			found := 0
			for b.Loop() {
				evs, err := s.Events(b.Context(), q)
				if err != nil {
					b.Fatal(err)
				}
				found = len(evs)
			}
			b.ReportMetric(float64(found), "events")
		})
	}
}

// TestSearchAtScale runs each search of the benchmark 50 times on a tenant
// of HASHTRAIL_SEARCH_EVENTS events (say 1000000) and logs the events found
// and the p50, p99 and maximum latency of the first page. Skipped unless
// that variable is set.
func TestSearchAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HASHTRAIL_SEARCH_EVENTS"))
	if n < 10_000 {
		t.Skip("set HASHTRAIL_SEARCH_EVENTS to run")
	}
	s := openSearchBench(t, n)
	defer s.Close()
	t.Logf("%-20s %-58s %6s %9s %9s %9s", "case", "q", "events", "p50", "p99", "max")
	for _, c := range searchCases {
		q := searchQuery(t, c.q)
		var d []time.Duration
		found := 0
		for range 50 {
			start := time.Now()
			evs, err := s.Events(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			d = append(d, time.Since(start))
			found = len(evs)
		}
		slices.Sort(d)
		t.Logf("%-20s %-58s %6d %9v %9v %9v", c.name, c.q, found, d[len(d)/2].Round(time.Microsecond),
			d[len(d)*99/100].Round(time.Microsecond), d[len(d)-1].Round(time.Microsecond))
	}
}
