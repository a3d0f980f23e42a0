package sqlite_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// idKinds are the event ids clients send: ULIDs (time-ordered, also what
// the server makes when an id is absent) and random UUIDs, which insert at
// random places in the idempotency index.
var idKinds = map[string]func(n int) string{
	"ulid": func(n int) string { return fmt.Sprintf("01J%013d%010X", n, rand.Uint64()&0xffffffffff) },
	"uuid": func(n int) string {
		return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rand.Uint32(), rand.Uint32()&0xffff,
			rand.Uint32()&0xfff, rand.Uint32()&0xfff, rand.Uint64()&0xffffffffffff)
	},
}

// benchEvent returns a realistic event of about 600 bytes as JSON: 5,000
// users acting on 300 projects and 100,000 users.
func benchEvent(tenant, id string, n int) *hashtrail.Event {
	mfa := true
	now := hashtrail.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond))
	return &hashtrail.Event{
		ID:       id,
		Time:     now,
		Action:   "project.member_add",
		Category: hashtrail.CategoryAccess, Severity: hashtrail.SeverityLow, Outcome: hashtrail.OutcomeSuccess,
		Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(n % 5000), Name: "Alice Example",
			Email: fmt.Sprintf("user%d@example.com", n%5000),
			Auth:  &hashtrail.Auth{Method: "password+totp", MFA: &mfa}},
		Targets: []hashtrail.Target{{Type: "project", ID: fmt.Sprint(n % 300), Name: "Website"},
			{Type: "user", ID: fmt.Sprint(rand.IntN(100_000))}},
		Context: &hashtrail.Context{IP: fmt.Sprintf("203.0.%d.%d", n%256, (n/256)%256),
			UserAgent: "Mozilla/5.0 (Macintosh) Safari/605.1.15",
			RequestID: fmt.Sprintf("req_%012d", n), Source: "web"},
		Metadata: json.RawMessage(`{"plan":"enterprise","seats":41}`),
		Tenant:   tenant, ReceivedAt: now, KeyID: "key_ingest01",
	}
}

// benchGroups returns batch groups of one event each (one request per
// event, the engine's worst case) across 4 tenants, numbered from n.
func benchGroups(batch, n int, id func(int) string) []*hashtrail.AppendGroup {
	groups := make([]*hashtrail.AppendGroup, batch)
	for i := range groups {
		e := benchEvent(fmt.Sprintf("tenant-%d", (n+i)%4), id(n+i), n+i)
		groups[i] = &hashtrail.AppendGroup{CreateTenants: true,
			Entries: []*hashtrail.Entry{{Event: e, ContentHash: []byte(e.ID)}}}
	}
	return groups
}

// BenchmarkAppend measures the store's own ingest ceiling: one Append call
// (one transaction, one fsync) per batch of realistic events.
func BenchmarkAppend(b *testing.B) {
	if b1, _ := json.Marshal(benchEvent("acme", idKinds["uuid"](1), 1)); len(b1) < 550 || len(b1) > 660 {
		b.Fatalf("bench event is %d bytes, want about 600", len(b1))
	}
	for _, kind := range []string{"ulid", "uuid"} {
		for _, batch := range []int{100, 1000} {
			b.Run(fmt.Sprintf("ids=%s/batch=%d", kind, batch), func(b *testing.B) {
				s := MustOpen(b)
				defer s.Close()
				n := 0
				cpu0 := cpuTime()
				for b.Loop() {
					b.StopTimer()
					groups := benchGroups(batch, n, idKinds[kind])
					n += batch
					b.StartTimer()
					if err := s.Append(b.Context(), groups); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/event")
				b.ReportMetric(commitSeconds(b, s)*1000/float64(b.N), "commit-ms/op")
			})
		}
	}
}

// TestAppendAtScale appends HASHTRAIL_SCALE_EVENTS events (say 1000000) with
// random UUIDs in batches of 1,000 and logs the throughput of each tenth:
// how ingest holds up once the indexes outgrow the page cache. It is skipped
// unless that variable is set.
func TestAppendAtScale(t *testing.T) {
	total, _ := strconv.Atoi(os.Getenv("HASHTRAIL_SCALE_EVENTS"))
	if total < 10_000 {
		t.Skip("set HASHTRAIL_SCALE_EVENTS to run")
	}
	s := MustOpen(t)
	defer s.Close()
	tenth := total / 10
	last := time.Now()
	for n := 0; n < total; n += 1000 {
		if err := s.Append(t.Context(), benchGroups(1000, n, idKinds["uuid"])); err != nil {
			t.Fatal(err)
		}
		if (n+1000)%tenth < 1000 {
			size, _ := s.Size(t.Context())
			t.Logf("%9d events: %6.0f events/s over the last tenth, %d MiB", n+1000,
				float64(tenth)/time.Since(last).Seconds(), size>>20)
			last = time.Now()
		}
	}
}

// BenchmarkEvents measures listings over a tenant of 100,000 events: the
// newest page, a target's page (the event_targets range), and an actor
// filter that matches 20 events, so it scans the whole tenant.
func BenchmarkEvents(b *testing.B) {
	s := MustOpen(b)
	defer s.Close()
	for n := 0; n < 100_000; n += 1000 {
		groups := benchGroups(1000, n, idKinds["ulid"])
		for _, g := range groups {
			g.Entries[0].Event.Tenant = "acme"
		}
		if err := s.Append(b.Context(), groups); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		q    hashtrail.Query
	}{
		{"newest", hashtrail.Query{Tenant: "acme"}},
		{"target", hashtrail.Query{Tenant: "acme", Target: "project:7"}},
		{"actor-scan", hashtrail.Query{Tenant: "acme", Actor: "user:42"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Events(b.Context(), &c.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cpuTime returns the process's user and system CPU time so far, a measure
// that other load on the machine disturbs less than wall time does. It
// includes building the events, which the timer excludes.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// commitSeconds returns the total time the store spent in COMMIT.
func commitSeconds(tb testing.TB, s *sqlite.Store) float64 {
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "hashtrail_store_commit_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	tb.Fatal("no hashtrail_store_commit_seconds")
	return 0
}
