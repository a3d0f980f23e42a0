package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
)

// fullEvent returns an event with every field set.
func fullEvent(tenant, id string) *hashtrail.Event {
	e := newEvent(tenant, id)
	e.Time = hashtrail.NewTime(time.Date(2025, 12, 31, 23, 59, 59, 999999000, time.UTC))
	e.ReceivedAt = hashtrail.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 1000, time.UTC))
	e.Action, e.Category = "role.permission_grant", hashtrail.CategoryAuthorization
	e.Severity, e.Outcome = hashtrail.SeverityCritical, hashtrail.OutcomeFailure
	e.Reason, e.Error = "ticket OPS-12 <urgent> & \"quoted\"", "permission denied: ünïcödé ✓"
	e.Description = "Alice granted admin to Bob"
	mfa, exit := false, 0
	e.Actor = &hashtrail.Actor{
		Type: hashtrail.ActorUser, ID: "42", Name: "Alice Ø", Email: "alice@example.com",
		Roles:        []string{"owner", "billing"},
		Auth:         &hashtrail.Auth{Method: "password+totp", MFA: &mfa, CredentialID: "cred_1", Provider: "oauth:github"},
		Impersonator: &hashtrail.Impersonator{Type: hashtrail.ActorUser, ID: "1", Name: "Root Admin"},
	}
	e.Targets = []hashtrail.Target{{Type: "user", ID: "7", Name: "Bob"}, {Type: "role", ID: "admin"}}
	e.Context = &hashtrail.Context{
		IP: "2001:db8::42", UserAgent: "Mozilla/5.0 (X11)", SessionID: "sess_9", RequestID: "req_1",
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Method: "POST", Path: "/admin/roles?x=1&y=<2>",
		Source: "web", Location: &hashtrail.Location{Country: "DE", Region: "BE", City: "Berlin"},
	}
	e.Service = &hashtrail.Service{Name: "app", Version: "1.2.3", Environment: "prod", Host: "web-1"}
	e.Changes = []hashtrail.Change{
		{Field: "role", Old: json.RawMessage(`"member"`), New: json.RawMessage(`{"name":"admin","level":3}`)},
		{Field: "password", Redacted: true},
		{Field: "limits", Old: json.RawMessage(`null`), New: json.RawMessage(`[1,2.5,-3e-7,true]`)},
	}
	e.Metadata = json.RawMessage(`{"nested":{"a":[1,{"b":"<&>"}],"empty":{}},"unicode":"\u00e9 é","n":1.5e300}`)
	e.Tags = []string{"prod", "sensitive"}
	e.Output = &hashtrail.Output{Command: "deploy --force", ExitCode: &exit, Stdout: "ok\n", Stderr: "warn: x\x01"}
	e.LeafHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	e.KeyID = "key_abc"
	return e
}

func testRoundTrip(t *testing.T, s hashtrail.Store) {
	full := fullEvent("acme", "01JABCDEFGHJKMNPQRSTVWXYZ0")
	bare := newEvent("acme", "bare:1")
	bare.Actor, bare.KeyID = nil, ""
	appendEvents(t, s, full, bare)
	for _, want := range []*hashtrail.Event{full, bare} {
		got, err := s.Event(t.Context(), "acme", want.ID)
		if err != nil {
			t.Fatalf("Event(%s): %v", want.ID, err)
		}
		equalEvent(t, got, want)
	}
	listed := query(t, s, hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc})
	if len(listed) != 2 {
		t.Fatalf("Events: %d events, want 2", len(listed))
	}
	equalEvent(t, listed[0], full)
	equalEvent(t, listed[1], bare)
}

func testTenantIsolation(t *testing.T, s hashtrail.Store) {
	a1, a2 := newEvent("acme", "shared"), newEvent("acme", "acme-only")
	a1.Targets = []hashtrail.Target{{Type: "project", ID: "7"}}
	b1 := newEvent("acme2", "shared")
	b1.Action = "user.logout" // other content, same id: another tenant, so no conflict
	appendEvents(t, s, a1, a2, b1)
	if b1.Seq != 0 {
		t.Errorf("first event of a second tenant: Seq %d, want 0", b1.Seq)
	}
	got, err := s.Event(t.Context(), "acme2", "shared")
	if err != nil || got.Action != "user.logout" || got.Tenant != "acme2" {
		t.Errorf("Event(acme2, shared) = %+v, %v", got, err)
	}
	if _, err := s.Event(t.Context(), "acme2", "acme-only"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("Event(acme2, acme-only) = %v, want ENOTFOUND", err)
	}
	for _, q := range []hashtrail.Query{
		{Tenant: "acme2"}, {Tenant: "acme2", Target: "project:7"}, {Tenant: "acme2", Actor: "user:42"},
		{Tenant: "acme2", Actor: "alice@example.com"}, {Tenant: "acme2", Order: hashtrail.OrderAsc, AfterSeq: ptr(int64(-1))},
	} {
		for _, e := range query(t, s, q) {
			if e.Tenant != "acme2" || e.ID != "shared" {
				t.Errorf("Events(%s) returned %s/%s", describe(q), e.Tenant, e.ID)
			}
		}
	}
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme2", Target: "project:7"})
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Target: "project:7"}, 0)
}

// testPagingUnderConcurrentWrites walks a tenant's log page by page, by
// seq cursors, in both orders, while other goroutines append to it and to
// another tenant: no walk may skip or repeat an event.
func testPagingUnderConcurrentWrites(t *testing.T, s hashtrail.Store) {
	const seed, writers, perWriter, batch = 40, 3, 60, 4
	const maxPages = 100000 // a bound, so that a broken store fails instead of looping
	var evs []*hashtrail.Event
	for i := range seed {
		evs = append(evs, newEvent("acme", fmt.Sprintf("seed-%d", i)))
	}
	mustAppend(t, s, group(evs...))

	var done atomic.Bool
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < perWriter; i += batch {
				var gs []*hashtrail.AppendGroup
				for j := range batch {
					gs = append(gs, group(newEvent("acme", fmt.Sprintf("w%d-%d", w, i+j)), newEvent("beta", fmt.Sprintf("w%d-%d", w, i+j))))
				}
				if err := s.Append(t.Context(), gs); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	var walkers sync.WaitGroup
	walkers.Go(func() { // newest first, from whatever is newest when it starts
		var got []int64
		q := hashtrail.Query{Tenant: "acme", Limit: 7}
		for range maxPages {
			page := query(t, s, q)
			if len(page) == 0 {
				break
			}
			got = append(got, seqs(page)...)
			q.BeforeSeq = ptr(page[len(page)-1].Seq)
		}
		for i, seq := range got {
			if want := got[0] - int64(i); seq != want {
				t.Errorf("desc walk: position %d has seq %d, want %d (walk %v)", i, seq, want, got)
				return
			}
		}
		if len(got) == 0 || got[len(got)-1] != 0 {
			t.Errorf("desc walk did not reach seq 0: %v", got)
		}
	})
	walkers.Go(func() { // oldest first, following the writers to the end
		var got []int64
		q := hashtrail.Query{Tenant: "acme", Limit: 9, Order: hashtrail.OrderAsc}
		for range maxPages {
			finished := done.Load()
			page := query(t, s, q)
			if len(page) == 0 && finished {
				break
			}
			got = append(got, seqs(page)...)
			if len(page) > 0 {
				q.AfterSeq = ptr(page[len(page)-1].Seq)
			}
		}
		for i, seq := range got {
			if seq != int64(i) {
				t.Errorf("asc walk: position %d has seq %d", i, seq)
				return
			}
		}
		if want := seed + writers*perWriter; len(got) != want {
			t.Errorf("asc walk saw %d events, want %d", len(got), want)
		}
	})
	wg.Wait()
	done.Store(true)
	walkers.Wait()
}
