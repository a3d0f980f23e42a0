package ledger_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/prometheus/client_golang/prometheus"
)

// testClock is an injectable clock tests move forward.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// storeSource is a tenant's log in a store as client.Verifier reads it (as
// hashtrail verify --data does): every seq, without an event where the
// store has no body.
type storeSource struct {
	st     hashtrail.Store
	tenant string
}

func (s *storeSource) Tenant() string          { return s.tenant }
func (s *storeSource) Complete() bool          { return true }
func (s *storeSource) ShowsPersonalData() bool { return true }
func (s *storeSource) Checkpoints(ctx context.Context) ([][]byte, error) {
	cps, err := s.st.Checkpoints(ctx, s.tenant)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, c := range cps {
		out = append(out, c.Note)
	}
	return out, nil
}
func (s *storeSource) ReadHashes(ctx context.Context, idx []int64) ([]merkle.Hash, error) {
	return s.st.ReadHashes(ctx, s.tenant, idx)
}
func (s *storeSource) Entries(ctx context.Context, end int64, fn func(*client.Entry) error) error {
	t, err := s.st.Tenant(ctx, s.tenant)
	if err != nil {
		return err
	}
	byseq := map[int64]*hashtrail.Event{}
	after := int64(-1)
	for {
		page, err := s.st.Events(ctx, &hashtrail.Query{Tenant: s.tenant, Order: hashtrail.OrderAsc, AfterSeq: &after, Limit: hashtrail.MaxLimit})
		if err != nil {
			return err
		}
		for _, e := range page {
			byseq[e.Seq], after = e, e.Seq
		}
		if len(page) < hashtrail.MaxLimit {
			break
		}
	}
	for seq := range max(t.Size, end) {
		if err := fn(&client.Entry{Seq: seq, Event: byseq[seq]}); err != nil {
			return err
		}
	}
	return nil
}

func verifyStore(t *testing.T, st hashtrail.Store, tenant string) *client.Report {
	t.Helper()
	v := &client.Verifier{ServerName: testServerName, Keys: []ed25519.PublicKey{testKey("a").Public().(ed25519.PublicKey)}}
	rep, err := v.Verify(t.Context(), &storeSource{st: st, tenant: tenant})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// listAll walks every page of tenant's events with limit per page.
func listAll(t *testing.T, ctx context.Context, l *ledger.Ledger, tenant string, limit int) []string {
	t.Helper()
	var ids []string
	cursor := hashtrail.Cursor{}
	q := &hashtrail.Query{Tenant: tenant, Limit: limit, Order: hashtrail.OrderAsc}
	for range 1000 {
		page, err := l.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			ids = append(ids, e.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		if cursor, err = hashtrail.ParseCursor(page.NextCursor); err != nil {
			t.Fatal(err)
		}
		q.AfterSeq = &cursor.Seq
	}
	t.Fatal("paging does not end")
	return nil
}

// TestRetentionPurge: user events kept 400 days, project events forever
// (seed 001's policy), one user's events under a legal hold. Past 400 days
// (on the injected clock) the expired events vanish from every read at
// once, paging still walks everything else; the purge announces them,
// waits for a checkpoint over the announcement and deletes their bodies;
// the real verifier accepts the result, and flags a body deleted without
// an announcement.
func TestRetentionPurge(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, st := MustOpenLog(t, ledger.Config{Now: clock.Now, CheckpointInterval: 10 * time.Millisecond, PurgeBatch: 7})
	ctx := t.Context()
	if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	var raws []string
	for i := range 20 {
		if i%2 == 0 {
			raws = append(raws, fmt.Sprintf(`{"id":"u%d","action":"user.login","actor":{"type":"user","id":"%d","email":"u%d@example.com"},"context":{"ip":"203.0.113.%d"}}`, i, i, i, i))
		} else {
			raws = append(raws, fmt.Sprintf(`{"id":"p%d","action":"project.update","actor":{"type":"user","id":"%d"},"targets":[{"type":"project","id":"7"}]}`, i, i))
		}
	}
	raws = append(raws, `{"id":"held","action":"user.login","actor":{"type":"user","id":"99","email":"held@example.com"}}`)
	if _, err := ingest(t, ctx, l, "acme", raws...); err != nil {
		t.Fatal(err)
	}
	admin := as(ctx, "acme", hashtrail.RoleAdmin)
	pol, err := l.PutRetention(admin, "acme", &hashtrail.RetentionPolicy{Rules: []hashtrail.RetentionRule{
		{Name: "projects", Filter: "target:project:*", Keep: hashtrail.Forever},
		{Action: "user.*", Keep: hashtrail.MustKeep("400d")},
	}})
	if err != nil || pol.Version != 1 {
		t.Fatalf("PutRetention: %+v, %v", pol, err)
	}
	if _, err := l.PutRetention(admin, "acme", &hashtrail.RetentionPolicy{}); hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		t.Errorf("PutRetention of a stale version: %v, want ECONFLICT", err)
	}
	hold, err := l.AddHold(admin, "acme", &hashtrail.LegalHold{Filter: "actor:user:99", Reason: "case 12"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddHold(as(ctx, "acme", hashtrail.RoleRead), "acme", &hashtrail.LegalHold{Filter: "actor:user:1", Reason: "x"}); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("AddHold by a read key: %v, want EFORBIDDEN", err)
	}
	if got := len(listAll(t, ctx, l, "acme", 4)); got != 21+2 { // and 2 self-audit events
		t.Fatalf("before expiry: %d events listed, want 23", got)
	}

	clock.Add(401 * 24 * time.Hour)
	ids := listAll(t, ctx, l, "acme", 4)
	for _, id := range ids {
		if strings.HasPrefix(id, "u") {
			t.Errorf("expired event %s listed", id)
		}
	}
	if len(ids) != 10+1+2 {
		t.Errorf("after expiry: %d events listed (%v), want 13: projects, the held one, the audit events", len(ids), ids)
	}
	if _, err := l.Event(ctx, "acme", "u2"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("Event of an expired event: %v, want ENOTFOUND", err)
	}
	if _, err := l.EventProof(ctx, "acme", "u2", 0); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("EventProof of an expired event: %v, want ENOTFOUND", err)
	}
	if _, err := l.Event(ctx, "acme", "held"); err != nil {
		t.Errorf("Event of a held event: %v", err)
	}

	n, err := l.Purge(ctx, "acme")
	if err != nil || n != 10 {
		t.Fatalf("Purge = %d, %v; want 10", n, err)
	}
	stored, err := st.Events(ctx, &hashtrail.Query{Tenant: "acme", Actions: []string{"system.retention_purge"}, Order: hashtrail.OrderAsc})
	if err != nil || len(stored) != 2 { // PurgeBatch 7: two rounds
		t.Fatalf("announcements: %d, %v; want 2", len(stored), err)
	}
	for _, a := range stored {
		m, err := client.ParseRetentionPurge(a)
		if err != nil || m.Policy != "action:user.* 400d" || a.Category != hashtrail.CategorySystem || a.Actor.Type != hashtrail.ActorSystem {
			t.Errorf("announcement %d: %+v, %v", a.Seq, m, err)
		}
	}
	if _, err := st.Event(ctx, "acme", "u4"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("a purged body is still stored: %v", err)
	}
	if _, err := st.Event(ctx, "acme", "held"); err != nil {
		t.Errorf("the held event's body was deleted: %v", err)
	}
	waitCheckpoint(t, st, "acme", mustSize(t, st, "acme"))
	rep := verifyStore(t, st, "acme")
	if !rep.OK() || rep.Purged != 10 {
		t.Errorf("verify after the purge: %v (purged %d), want OK with 10 purged", rep.Summary(), rep.Purged)
	}

	// Running again deletes nothing; a lost completion marker neither.
	if n, err := l.Purge(ctx, "acme"); err != nil || n != 0 {
		t.Errorf("Purge again = %d, %v; want 0", n, err)
	}
	if err := st.SetSetting(ctx, "purge_done/acme", "-1"); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Purge(ctx, "acme"); err != nil || n != 0 {
		t.Errorf("Purge after losing its completion marker = %d, %v; want 0", n, err)
	}

	// Lifting the hold lets the held event go at the next purge.
	if err := l.RemoveHold(admin, "acme", hold.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Purge(ctx, "acme"); err != nil || n != 1 {
		t.Errorf("Purge after the hold was lifted = %d, %v; want 1", n, err)
	}

	// A body deleted without an announcement is tampering.
	p, err := st.Event(ctx, "acme", "p3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PurgeEvents(ctx, "acme", [][2]int64{{p.Seq, p.Seq}}); err != nil {
		t.Fatal(err)
	}
	if rep := verifyStore(t, st, "acme"); rep.OK() || !strings.Contains(rep.Summary(), "missing") {
		t.Errorf("verify after an unannounced deletion: %v, want a missing seq", rep.Summary())
	}
}

func mustSize(t *testing.T, st hashtrail.Store, tenant string) int64 {
	t.Helper()
	tn, err := st.Tenant(t.Context(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return tn.Size
}

// TestRetentionFloor: a locked compliance floor refuses shorter rules with
// 400 naming the rule, and may be raised but not lowered through the API.
func TestRetentionFloor(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{})
	ctx := t.Context()
	if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	inst := as(ctx, hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := l.PutRetentionFloor(as(ctx, "acme", hashtrail.RoleAdmin), &hashtrail.RetentionFloor{Keep: ptrKeep("12mo")}); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("a tenant admin setting the floor: %v, want EFORBIDDEN", err)
	}
	f, err := l.PutRetentionFloor(inst, &hashtrail.RetentionFloor{Keep: ptrKeep("12mo"), Locked: true, Reason: "PCI DSS 10.5.1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.PutRetention(inst, "acme", &hashtrail.RetentionPolicy{Rules: []hashtrail.RetentionRule{
		{Name: "logins", Category: hashtrail.CategoryAuthentication, Keep: hashtrail.MustKeep("365d")},
		{Action: "user.*", Keep: hashtrail.MustKeep("366d")},
	}})
	var he *hashtrail.Error
	if !asError(err, &he) || he.Code != hashtrail.EINVALID || len(he.Fields) != 1 || he.Fields[0].Field != "rules[0].keep" || !strings.Contains(he.Fields[0].Message, `"logins"`) {
		t.Errorf("a rule below the floor: %v, want EINVALID naming rules[0] \"logins\"", err)
	}
	if _, err := l.PutRetention(inst, "acme", &hashtrail.RetentionPolicy{Default: hashtrail.MustKeep("1y")}); err != nil {
		t.Errorf("a default at the floor: %v", err)
	}
	if _, err := l.PutRetentionFloor(inst, &hashtrail.RetentionFloor{Keep: ptrKeep("6mo"), Locked: true, Version: f.Version}); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("lowering a locked floor: %v, want EFORBIDDEN", err)
	}
	if _, err := l.PutRetentionFloor(inst, &hashtrail.RetentionFloor{Keep: ptrKeep("2y"), Locked: true, Version: f.Version}); err != nil {
		t.Errorf("raising a locked floor: %v", err)
	}
}

func ptrKeep(s string) *hashtrail.Keep {
	k := hashtrail.MustKeep(s)
	return &k
}

// TestPurgeCompletesAnAnnouncement: a crash between announcing a purge and
// deleting (simulated by writing the announcement straight to the store)
// is completed by the next run, which deletes only what is still expired
// and unheld.
func TestPurgeCompletesAnAnnouncement(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, st := MustOpenLog(t, ledger.Config{Now: clock.Now, CheckpointInterval: 10 * time.Millisecond})
	ctx := t.Context()
	if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	events(t, ctx, l, "acme", 0, 4) // seqs 0-3
	if _, err := l.PutRetention(ctx, "acme", &hashtrail.RetentionPolicy{Default: hashtrail.MustKeep("30d")}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddHold(ctx, "acme", &hashtrail.LegalHold{Filter: "id:e2", Reason: "kept"}); err != nil {
		t.Fatal(err)
	}
	clock.Add(31 * 24 * time.Hour)
	a := &hashtrail.Event{ID: "ann", Tenant: "acme", Action: "system.retention_purge", Category: hashtrail.CategorySystem,
		Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess, Time: hashtrail.NewTime(clock.Now()),
		ReceivedAt: hashtrail.NewTime(clock.Now()), Actor: &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail"},
		Metadata: []byte(`{"ranges":[[0,2]],"policy":"default 30d"}`)}
	g := &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{{Event: a, ContentHash: []byte("ann")}}}
	if err := st.Append(ctx, []*hashtrail.AppendGroup{g}); err != nil || g.Err != nil {
		t.Fatalf("Append: %v %v", err, g.Err)
	}
	// The pending announcement first (seqs 0 and 1; 2 is held), then a new
	// round for seq 3 and the two self-audit events (4, 5: the default
	// applies to them too).
	n, err := l.Purge(ctx, "acme")
	if err != nil || n != 5 {
		t.Fatalf("Purge = %d, %v; want 5", n, err)
	}
	left, err := st.Events(ctx, &hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc, BeforeSeq: ptr(int64(4))})
	if err != nil || len(left) != 1 || left[0].ID != "e2" {
		t.Errorf("bodies left below seq 4: %d, %v; want the held e2", len(left), err)
	}
	waitCheckpoint(t, st, "acme", mustSize(t, st, "acme"))
	if rep := verifyStore(t, st, "acme"); !rep.OK() || rep.Purged != 5 {
		t.Errorf("verify: %s (purged %d)", rep.Summary(), rep.Purged)
	}
}

func ptr[T any](v T) *T { return &v }

// TestPurgeLoopMetrics: the background purge runs on its own every
// PurgeInterval and reports what it did in Prometheus metrics (runs by
// outcome, events purged, the last clean round).
func TestPurgeLoopMetrics(t *testing.T) {
	clock := &testClock{now: time.Now().UTC()}
	l, _ := MustOpenLog(t, ledger.Config{Now: clock.Now, CheckpointInterval: 10 * time.Millisecond, PurgeInterval: 20 * time.Millisecond})
	ctx := t.Context()
	if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	var raws []string
	for i := range 5 {
		raws = append(raws, fmt.Sprintf(`{"id":"u%d","action":"user.login","actor":{"type":"user","id":"%d"}}`, i, i))
	}
	if _, err := ingest(t, ctx, l, "acme", raws...); err != nil {
		t.Fatal(err)
	}
	admin := as(ctx, "acme", hashtrail.RoleAdmin)
	if _, err := l.PutRetention(admin, "acme", &hashtrail.RetentionPolicy{Rules: []hashtrail.RetentionRule{
		{Action: "user.*", Keep: hashtrail.MustKeep("1d")},
	}}); err != nil {
		t.Fatal(err)
	}
	clock.Add(48 * time.Hour)
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.Collectors()...)
	value := func(name, label string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
					continue
				}
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		return sum
	}
	deadline := time.Now().Add(20 * time.Second)
	for value("hashtrail_purged_events_total", "") < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the purge loop purged %v events in 20s, want 5", value("hashtrail_purged_events_total", ""))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for value("hashtrail_purge_last_success_timestamp_seconds", "") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no clean purge round recorded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if value("hashtrail_purge_runs_total", "ok") < 1 || value("hashtrail_purge_runs_total", "error") != 0 {
		t.Errorf("runs: ok %v, error %v", value("hashtrail_purge_runs_total", "ok"), value("hashtrail_purge_runs_total", "error"))
	}
}
