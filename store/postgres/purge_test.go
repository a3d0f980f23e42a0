package postgres_test

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/postgres"
)

// monthEvent returns an event of tenant received on day d of month m of 2020.
func monthEvent(tenant, id string, m time.Month, d int) *hashtrail.Entry {
	at := hashtrail.NewTime(time.Date(2020, m, d, 12, 0, 0, 0, time.UTC))
	e := &hashtrail.Event{
		ID: id, Tenant: tenant, Time: at, ReceivedAt: at, Action: "user.login",
		Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
		Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Email: "alice@example.com"},
		Targets: []hashtrail.Target{{Type: "project", ID: "7"}}, Tags: []string{"t"},
	}
	h := sha256.Sum256([]byte(tenant + "/" + id))
	return &hashtrail.Entry{Event: e, ContentHash: h[:]}
}

// partitions returns the names of the partitions of events.
func partitions(t *testing.T, s *postgres.Store) []string {
	t.Helper()
	rows, err := s.Pool().Query(t.Context(), `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = 'events'::regclass AND n.nspname = $1 ORDER BY 1`, s.Schema())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func count(t *testing.T, s *postgres.Store, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.Pool().QueryRow(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestPurgePartitions shows both ways a purge removes event bodies: a
// month whose every event is purged loses its partition (detached and
// dropped), a month that keeps an event (one held) keeps its partition and
// loses the purged rows; a month shared with another tenant's events
// keeps its partition until those are purged too; a partition left empty
// some other way is dropped by Upkeep.
func TestPurgePartitions(t *testing.T) {
	s := mustOpenSchema(t, newSchema(t), postgres.Config{})
	defer s.Close()
	ctx := t.Context()
	// acme: seqs 0-4 in January 2020, 5-9 in February (seq 7 is held, so
	// not purged), 10-11 in March; other: seqs 0-1 in March.
	var g hashtrail.AppendGroup
	g.CreateTenants = true
	for i := range 5 {
		g.Entries = append(g.Entries, monthEvent("acme", fmt.Sprintf("jan-%d", i), time.January, 1+i))
	}
	for i := range 5 {
		g.Entries = append(g.Entries, monthEvent("acme", fmt.Sprintf("feb-%d", i), time.February, 1+i))
	}
	for i := range 2 {
		g.Entries = append(g.Entries, monthEvent("acme", fmt.Sprintf("mar-%d", i), time.March, 1+i))
	}
	o := &hashtrail.AppendGroup{CreateTenants: true}
	for i := range 2 {
		o.Entries = append(o.Entries, monthEvent("other", fmt.Sprintf("mar-%d", i), time.March, 10+i))
	}
	if err := s.Append(ctx, []*hashtrail.AppendGroup{&g, o}); err != nil || g.Err != nil || o.Err != nil {
		t.Fatalf("Append: %v %v %v", err, g.Err, o.Err)
	}
	before := partitions(t, s)
	for _, p := range []string{"events_p202001", "events_p202002", "events_p202003"} {
		if !slices.Contains(before, p) {
			t.Fatalf("partitions %v: no %s", before, p)
		}
	}

	n, err := s.PurgeEvents(ctx, "acme", [][2]int64{{0, 6}, {8, 11}})
	if err != nil || n != 11 {
		t.Fatalf("PurgeEvents = %d, %v; want 11", n, err)
	}
	after := partitions(t, s)
	if slices.Contains(after, "events_p202001") {
		t.Errorf("January, whose every event was purged, still has its partition: %v", after)
	}
	if !slices.Contains(after, "events_p202002") || !slices.Contains(after, "events_p202003") {
		t.Errorf("February (one held event) or March (another tenant's events) lost its partition: %v", after)
	}
	if c := count(t, s, `SELECT count(*) FROM events_p202002`); c != 1 {
		t.Errorf("February holds %d rows, want the held one", c)
	}
	if c := count(t, s, `SELECT count(*) FROM events_p202003`); c != 2 {
		t.Errorf("March holds %d rows, want the other tenant's 2", c)
	}
	evs, err := s.Events(ctx, &hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc})
	if err != nil || len(evs) != 1 || evs[0].Seq != 7 {
		t.Errorf("acme's events after the purge: %d, %v; want seq 7 alone", len(evs), err)
	}
	// What proves the purged events, and their idempotency records, stay.
	if c := count(t, s, `SELECT count(*) FROM event_ids WHERE tenant = (SELECT num FROM tenants WHERE id = 'acme')`); c != 12 {
		t.Errorf("event_ids of acme: %d rows, want 12", c)
	}
	if c := count(t, s, `SELECT count(*) FROM event_targets`); c != 3 {
		t.Errorf("event_targets: %d rows, want 3 (the held event's, the other tenant's)", c)
	}
	if c := count(t, s, `SELECT count(*) FROM event_pii WHERE tenant = (SELECT num FROM tenants WHERE id = 'acme')`); c != 1 {
		t.Errorf("event_pii of acme: %d rows, want the held event's", c)
	}
	// The other tenant's purge then empties March: its partition goes.
	if n, err := s.PurgeEvents(ctx, "other", [][2]int64{{0, 1}}); err != nil || n != 2 {
		t.Fatalf("PurgeEvents(other) = %d, %v", n, err)
	}
	if slices.Contains(partitions(t, s), "events_p202003") {
		t.Errorf("March, emptied by the second tenant's purge, still has its partition")
	}
	// Again: nothing left to purge.
	if n, err := s.PurgeEvents(ctx, "acme", [][2]int64{{0, 6}, {8, 11}}); err != nil || n != 0 {
		t.Errorf("PurgeEvents again = %d, %v; want 0", n, err)
	}
	// A partition left empty otherwise is dropped by upkeep; the current
	// month's never is.
	if _, err := s.Pool().Exec(ctx, `DELETE FROM events_p202002`); err != nil {
		t.Fatal(err)
	}
	if err := s.Upkeep(ctx); err != nil {
		t.Fatal(err)
	}
	ps := partitions(t, s)
	if slices.Contains(ps, "events_p202002") {
		t.Errorf("upkeep left the empty partition of February 2020: %v", ps)
	}
	now := time.Now().UTC()
	if cur := fmt.Sprintf("events_p%04d%02d", now.Year(), int(now.Month())); !slices.Contains(ps, cur) {
		t.Errorf("upkeep dropped the current month's partition %s: %v", cur, ps)
	}
	// Appends into a dropped month still work (the partition comes back).
	late := &hashtrail.AppendGroup{CreateTenants: true, Entries: []*hashtrail.Entry{monthEvent("acme", "late", time.January, 20)}}
	if err := s.Append(ctx, []*hashtrail.AppendGroup{late}); err != nil || late.Err != nil {
		t.Fatalf("Append into a dropped month: %v %v", err, late.Err)
	}
}
