package sqlite_test

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

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

// benchEvent returns a realistic event of about 600 bytes as JSON.
func benchEvent(tenant string, n int) *hashtrail.Event {
	mfa := true
	now := hashtrail.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond))
	return &hashtrail.Event{
		ID:       fmt.Sprintf("01JBENCH%018d", n),
		Time:     now,
		Action:   "project.member_add",
		Category: hashtrail.CategoryAccess, Severity: hashtrail.SeverityLow, Outcome: hashtrail.OutcomeSuccess,
		Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(n % 5000), Name: "Alice Example",
			Email: fmt.Sprintf("user%d@example.com", n%5000), Auth: &hashtrail.Auth{Method: "password+totp", MFA: &mfa}},
		Targets: []hashtrail.Target{{Type: "project", ID: fmt.Sprint(n % 300), Name: "Website"},
			{Type: "user", ID: fmt.Sprint((n * 7) % 5000)}},
		Context: &hashtrail.Context{IP: fmt.Sprintf("203.0.%d.%d", n%256, (n/256)%256),
			UserAgent: "Mozilla/5.0 (Macintosh) Safari/605.1.15",
			RequestID: fmt.Sprintf("req_%012d", n), Source: "web"},
		Metadata: json.RawMessage(`{"plan":"enterprise","seats":41}`),
		Tenant:   tenant, ReceivedAt: now, KeyID: "key_ingest01",
	}
}

// BenchmarkAppend measures the store's own ingest ceiling: batches of
// realistic events, one group (request) per event across 4 tenants, one
// Append call (one transaction, one fsync) per batch.
func BenchmarkAppend(b *testing.B) {
	if b1, _ := json.Marshal(benchEvent("acme", 1)); len(b1) < 550 || len(b1) > 650 {
		b.Fatalf("bench event is %d bytes, want about 600", len(b1))
	}
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := MustOpen(b)
			defer s.Close()
			n := 0
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				groups := make([]*hashtrail.AppendGroup, batch)
				for i := range groups {
					e := benchEvent(fmt.Sprintf("tenant-%d", n%4), n)
					groups[i] = &hashtrail.AppendGroup{CreateTenants: true,
						Entries: []*hashtrail.Entry{{Event: e, ContentHash: []byte(e.ID)}}}
					n++
				}
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

// BenchmarkEvents measures listings over a tenant of 100,000 events: the
// newest page, a target's page (the event_targets range), a common actor's
// page (filtered while scanning, stops early) and a rare actor's (scans the
// whole tenant).
func BenchmarkEvents(b *testing.B) {
	s := MustOpen(b)
	defer s.Close()
	const total = 100_000
	for n := 0; n < total; n += 1000 {
		var groups []*hashtrail.AppendGroup
		for i := n; i < n+1000; i++ {
			e := benchEvent("acme", i)
			groups = append(groups, &hashtrail.AppendGroup{CreateTenants: true,
				Entries: []*hashtrail.Entry{{Event: e, ContentHash: []byte(e.ID)}}})
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
		{"actor-common", hashtrail.Query{Tenant: "acme", Actor: "user:42"}},
		{"actor-absent", hashtrail.Query{Tenant: "acme", Actor: "user:nobody"}},
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
