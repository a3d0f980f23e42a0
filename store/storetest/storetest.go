// Package storetest is the conformance suite of hashtrail.Store: every store
// implementation (store/sqlite, store/postgres) runs it unchanged from its
// own tests, and must pass it.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) hashtrail.Store { return MustOpen(t) })
//	}
//	func TestDurable(t *testing.T) {
//		storetest.RunDurable(t, func(t *testing.T, dir string) hashtrail.Store { ... })
//	}
//
// The suite covers appends (seq, idempotency, group failures, tenant
// creation), every Query filter, ordering and paging (also under concurrent
// writes), tenant isolation, the exact round trip of every event field,
// tenants, keys, settings, leases, tenant configuration documents, sinks and
// their cursors, retention purges (EventPurger), erasure (SubjectStore), and durability across a
// reopen; and tamper
// evidence (DESIGN §2): every appended event is sealed, its leaf hash is
// EncodeLeaf's, every event read rebuilds (RebuildLeaf with its PII) to its
// leaf hash, each tenant's stored tree hashes are those of merkle.Tree over
// its leaf hashes at every size, replays and failed groups leave the tree
// alone, and checkpoints keep the LogStore contract.
package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
)

// Run runs the conformance suite. open must return a new, empty store for
// each call; the suite closes every store it opens.
func Run(t *testing.T, open func(t *testing.T) hashtrail.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s hashtrail.Store)
	}{
		{"AppendSingle", testAppendSingle},
		{"AppendBatch", testAppendBatch},
		{"SeqPerTenant", testSeqPerTenant},
		{"AppendConcurrent", testAppendConcurrent},
		{"AppendCanceled", testAppendCanceled},
		{"IdempotentReplay", testIdempotentReplay},
		{"IdempotentConflict", testIdempotentConflict},
		{"SameIDAcrossGroups", testSameIDAcrossGroups},
		{"SameIDWithinGroup", testSameIDWithinGroup},
		{"CreateTenants", testCreateTenants},
		{"FailedGroupCreatesNoTenant", testFailedGroupCreatesNoTenant},
		{"LeafHashSealed", testLeafHashSealed},
		{"TreeHashes", testTreeHashes},
		{"TreesPerTenant", testTreesPerTenant},
		{"ReadsRebuild", testReadsRebuild},
		{"ReplayKeepsLeaf", testReplayKeepsLeaf},
		{"FailedGroupWritesNoHashes", testFailedGroupWritesNoHashes},
		{"Checkpoints", testCheckpoints},
		{"InstallationLog", testInstallationLog},
		{"RoundTrip", testRoundTrip},
		{"EventNotFound", testEventNotFound},
		{"QueryUnknownTenant", testQueryUnknownTenant},
		{"FilterActions", testFilterActions},
		{"FilterCategories", testFilterCategories},
		{"FilterMinSeverity", testFilterMinSeverity},
		{"FilterOutcomes", testFilterOutcomes},
		{"FilterActor", testFilterActor},
		{"FilterTarget", testFilterTarget},
		{"FilterIP", testFilterIP},
		{"FilterTime", testFilterTime},
		{"FilterSeqBounds", testFilterSeqBounds},
		{"FilterCombined", testFilterCombined},
		{"OrderAndLimit", testOrderAndLimit},
		{"Limits", testLimits},
		{"PagingUnderConcurrentWrites", testPagingUnderConcurrentWrites},
		{"TenantIsolation", testTenantIsolation},
		{"Stats", testStats},
		{"Tenants", testTenants},
		{"DeleteTenant", testDeleteTenant},
		{"Keys", testKeys},
		{"KeyUpdates", testKeyUpdates},
		{"Settings", testSettings},
		{"SetSetting", testSetSetting},
		{"PingAndSize", testPingAndSize},
		{"Leases", testLeases},
		{"LeaseRace", testLeaseRace},
		{"TenantConfig", testTenantConfig},
		{"Sinks", testSinks},
		{"DeleteTenantSinks", testDeleteTenantSinks},
		{"PurgeEvents", func(t *testing.T, s hashtrail.Store) { testPurgeEvents(t, s, s) }},
		{"PurgeKeepsIdempotency", func(t *testing.T, s hashtrail.Store) { testPurgeKeepsIdempotency(t, s, s) }},
		{"PurgeMany", func(t *testing.T, s hashtrail.Store) { testPurgeMany(t, s, s) }},
		{"PurgeErrors", func(t *testing.T, s hashtrail.Store) { testPurgeErrors(t, s, s) }},
		{"SubjectRoles", func(t *testing.T, s hashtrail.Store) { testSubjectRoles(t, s, s) }},
		{"ErasePersonal", func(t *testing.T, s hashtrail.Store) { testErasePersonal(t, s, s) }},
		{"EraseErrors", func(t *testing.T, s hashtrail.Store) { testEraseErrors(t, s, s) }},
		{"DeleteTenantWithEvents", testDeleteTenantWithEvents},
		{"StorageBytes", testStorageBytes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// base is the time of the first event the suite makes.
var base = hashtrail.NewTime(time.Date(2021, 1, 2, 3, 4, 5, 123456000, time.UTC))

// at returns base plus n seconds.
func at(n int) hashtrail.Time { return hashtrail.NewTime(base.Add(time.Duration(n) * time.Second)) }

// newEvent returns an event as the engine hands it to a store: validated,
// defaults applied, ID, Tenant, ReceivedAt and KeyID set.
func newEvent(tenant, id string) *hashtrail.Event {
	return &hashtrail.Event{
		ID:         id,
		Time:       base,
		Action:     "user.login",
		Category:   hashtrail.CategoryAuthentication,
		Severity:   hashtrail.SeverityInfo,
		Outcome:    hashtrail.OutcomeSuccess,
		Actor:      &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Email: "alice@example.com"},
		Tenant:     tenant,
		ReceivedAt: at(1),
		KeyID:      "key_test",
	}
}

// hashOf returns a content hash standing for the event as submitted.
func hashOf(e *hashtrail.Event) []byte {
	b, err := json.Marshal(struct {
		ID, Action string
		Time       hashtrail.Time
		Metadata   json.RawMessage
		Targets    []hashtrail.Target
	}{e.ID, e.Action, e.Time, e.Metadata, e.Targets})
	if err != nil {
		panic(err)
	}
	h := sha256.Sum256(b)
	return h[:]
}

// entry wraps e with its content hash.
func entry(e *hashtrail.Event) *hashtrail.Entry {
	return &hashtrail.Entry{Event: e, ContentHash: hashOf(e)}
}

// group makes a group of the events, creating tenants.
func group(events ...*hashtrail.Event) *hashtrail.AppendGroup {
	g := &hashtrail.AppendGroup{CreateTenants: true}
	for _, e := range events {
		g.Entries = append(g.Entries, entry(e))
	}
	return g
}

// mustAppend appends the groups and fails unless Append and every group
// succeed.
func mustAppend(t testing.TB, s hashtrail.Store, groups ...*hashtrail.AppendGroup) {
	t.Helper()
	if err := s.Append(t.Context(), groups); err != nil {
		t.Fatalf("Append: %v", err)
	}
	for i, g := range groups {
		if g.Err != nil {
			t.Fatalf("Append: group %d: %v", i, g.Err)
		}
	}
}

// appendEvents appends the events as one group each, in one call.
func appendEvents(t testing.TB, s hashtrail.Store, events ...*hashtrail.Event) {
	t.Helper()
	var gs []*hashtrail.AppendGroup
	for _, e := range events {
		gs = append(gs, group(e))
	}
	mustAppend(t, s, gs...)
}

// mustTenant creates a tenant.
func mustTenant(t testing.TB, s hashtrail.Store, id string) {
	t.Helper()
	if err := s.CreateTenant(t.Context(), &hashtrail.Tenant{ID: id}); err != nil {
		t.Fatalf("CreateTenant(%s): %v", id, err)
	}
}

// query runs q and returns the events.
func query(t testing.TB, s hashtrail.Store, q hashtrail.Query) []*hashtrail.Event {
	t.Helper()
	events, err := s.Events(t.Context(), &q)
	if err != nil {
		t.Fatalf("Events(%+v): %v", q, err)
	}
	return events
}

// seqs returns the seqs of events.
func seqs(events []*hashtrail.Event) []int64 {
	out := []int64{}
	for _, e := range events {
		out = append(out, e.Seq)
	}
	return out
}

// wantSeqs checks that q finds exactly the events with seqs want, in order.
func wantSeqs(t testing.TB, s hashtrail.Store, q hashtrail.Query, want ...int64) {
	t.Helper()
	if want == nil {
		want = []int64{}
	}
	if got := seqs(query(t, s, q)); !slices.Equal(got, want) {
		t.Errorf("Events(%s) = seqs %v, want %v", describe(q), got, want)
	}
}

// describe prints the set fields of q.
func describe(q hashtrail.Query) string {
	var b bytes.Buffer
	v := reflect.ValueOf(q)
	for i := range v.NumField() {
		f := v.Field(i)
		if f.IsZero() {
			continue
		}
		if f.Kind() == reflect.Pointer {
			f = f.Elem()
		}
		fmt.Fprintf(&b, "%s=%v ", v.Type().Field(i).Name, f.Interface())
	}
	return b.String()
}

// wantCode checks that err carries code.
func wantCode(t testing.TB, err error, code, what string) {
	t.Helper()
	if got := hashtrail.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// equalEvent checks that got is want, field by field; times must be the
// same instant. PII, which want (as appended) does not have, is not
// compared; instead got must rebuild to its leaf hash (checkSealed).
func equalEvent(t testing.TB, got, want *hashtrail.Event) {
	t.Helper()
	if got == nil {
		t.Fatalf("event %s: got nil", want.ID)
	}
	checkSealed(t, got, nil)
	g, w := *got, *want
	g.PII, w.PII = nil, nil
	for _, p := range []struct {
		name string
		g, w *hashtrail.Time
	}{{"time", &g.Time, &w.Time}, {"received_at", &g.ReceivedAt, &w.ReceivedAt}} {
		if !p.g.Equal(p.w.Time) {
			t.Errorf("event %s: %s = %v, want %v", want.ID, p.name, *p.g, *p.w)
		}
		*p.g, *p.w = hashtrail.Time{}, hashtrail.Time{}
	}
	if !bytes.Equal(g.Metadata, w.Metadata) {
		t.Errorf("event %s: metadata\n got %s\nwant %s", want.ID, g.Metadata, w.Metadata)
	}
	for i := range min(len(g.Changes), len(w.Changes)) {
		gc, wc := g.Changes[i], w.Changes[i]
		if !bytes.Equal(gc.Old, wc.Old) || !bytes.Equal(gc.New, wc.New) {
			t.Errorf("event %s: changes[%d] old, new = %s, %s; want %s, %s", want.ID, i, gc.Old, gc.New, wc.Old, wc.New)
		}
	}
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		t.Errorf("event %s differs:\n got %s\nwant %s", want.ID, gj, wj)
	}
}

// checkSealed checks that an event as read rebuilds, with its PII, to the
// leaf whose hash is its LeafHash, the tenant using personalFields (nil
// for the defaults).
func checkSealed(t testing.TB, e *hashtrail.Event, personalFields []string) {
	t.Helper()
	if e.LeafHash == "" {
		t.Errorf("event %s: no leaf hash", e.ID)
		return
	}
	leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, personalFields)
	if err != nil {
		t.Errorf("event %s: RebuildLeaf: %v", e.ID, err)
		return
	}
	if got := hashtrail.LeafHash(leaf); got != e.LeafHash {
		t.Errorf("event %s: the leaf rebuilt from what was read hashes to %s, not its leaf hash %s\nleaf %s", e.ID, got, e.LeafHash, leaf)
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
