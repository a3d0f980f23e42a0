package storetest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// This file checks tamper evidence (DESIGN §2): Append seals every event
// and grows its tenant's Merkle tree in the same transaction; reads give
// back what rebuilds the leaf; LogStore serves the tree and the checkpoints.

// salts returns fixed salts for the roles an event may have.
func salts(seed byte) map[string][]byte {
	out := map[string][]byte{}
	for i, role := range []string{hashtrail.PIIRoleActor, hashtrail.PIIRoleTarget(0), hashtrail.PIIRoleTarget(1)} {
		out[role] = bytes.Repeat([]byte{seed + byte(i)}, hashtrail.SaltSize)
	}
	return out
}

// personalEvent returns an event with personal values in several roles:
// the actor's, a user target's (with a personal change) and no other.
func personalEvent(tenant, id string) *hashtrail.Event {
	e := newEvent(tenant, id)
	e.Action, e.Category = "user.email_change", hashtrail.CategoryAccount
	e.Actor.Name = "Alice Ø"
	e.Targets = []hashtrail.Target{{Type: "project", ID: "7", Name: "Website"}, {Type: "user", ID: "7", Name: "Bob"}}
	e.Context = &hashtrail.Context{IP: "203.0.113.9", RequestID: "req_1", Location: &hashtrail.Location{Country: "DE"}}
	e.Changes = []hashtrail.Change{
		{Field: "email", Old: json.RawMessage(`"bob@old.example"`), New: json.RawMessage(`"bob@new.example"`)},
		{Field: "phone", New: json.RawMessage(`{"cc":49,"n":"30 1234"}`)},
		{Field: "plan", Old: json.RawMessage(`"free"`), New: json.RawMessage(`"pro"`)},
	}
	return e
}

// treeOf returns the tree of the leaf hashes of tenant's events, read in
// seq order, checking that they are the log's events 0..n-1.
func treeOf(t testing.TB, s hashtrail.Store, tenant string) *merkle.Tree {
	t.Helper()
	var tree merkle.Tree
	after := int64(-1)
	for {
		page := query(t, s, hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, AfterSeq: &after, Limit: hashtrail.MaxLimit})
		if len(page) == 0 {
			return &tree
		}
		for _, e := range page {
			if e.Seq != tree.Size() {
				t.Fatalf("tenant %s: event %s has seq %d, want %d", tenant, e.ID, e.Seq, tree.Size())
			}
			h, err := hex.DecodeString(e.LeafHash)
			if err != nil || len(h) != merkle.HashSize {
				t.Fatalf("tenant %s seq %d: leaf hash %q", tenant, e.Seq, e.LeafHash)
			}
			tree.Append(merkle.Hash(h))
		}
		after = page[len(page)-1].Seq
	}
}

// reader reads tenant's stored hashes from s.
func reader(t testing.TB, s hashtrail.Store, tenant string) merkle.HashReader {
	return merkle.HashReaderFunc(func(indexes []int64) ([]merkle.Hash, error) {
		return s.ReadHashes(t.Context(), tenant, indexes)
	})
}

// checkTree checks that the store's tree of tenant is the tree of its
// events' leaf hashes: the same stored hashes, no more, and the same root
// at every size. It returns the tree.
func checkTree(t testing.TB, s hashtrail.Store, tenant string) *merkle.Tree {
	t.Helper()
	tree := treeOf(t, s, tenant)
	n := tree.Size()
	want := tree.StoredHashes()
	all := make([]int64, len(want))
	for i := range all {
		all[i] = int64(i)
	}
	got, err := s.ReadHashes(t.Context(), tenant, all)
	if err != nil {
		t.Fatalf("tenant %s: ReadHashes of all %d stored hashes: %v", tenant, len(all), err)
	}
	for i := range want {
		if got[i] != want[i] {
			l, k := merkle.SplitStoredHashIndex(int64(i))
			t.Fatalf("tenant %s (size %d): stored hash %d (level %d, index %d) is %v, want %v", tenant, n, i, l, k, got[i], want[i])
		}
	}
	_, err = s.ReadHashes(t.Context(), tenant, []int64{merkle.StoredHashCount(n)})
	wantCode(t, err, hashtrail.ENOTFOUND, fmt.Sprintf("tenant %s: ReadHashes past the tree of size %d", tenant, n))
	var prefix merkle.Tree
	r := reader(t, s, tenant)
	for size := int64(0); size <= n; size++ {
		root, err := merkle.TreeHash(size, r)
		if err != nil {
			t.Fatalf("tenant %s: TreeHash(%d): %v", tenant, size, err)
		}
		if root != prefix.Root() {
			t.Fatalf("tenant %s: TreeHash(%d) = %v, want %v", tenant, size, root, prefix.Root())
		}
		if size < n {
			h, _ := tree.LeafHash(size)
			prefix.Append(h)
		}
	}
	return tree
}

func testTreeHashes(t *testing.T, s hashtrail.Store) {
	// Calls of varied shapes, so that appends start and end at every kind
	// of tree edge: 1, 2, 3, 5, 8, ... events per call, several groups.
	n := 0
	for call, size := range []int{1, 1, 2, 3, 5, 8, 13, 1, 21, 34, 2, 40} {
		var gs []*hashtrail.AppendGroup
		for i := range size {
			e := newEvent("acme", fmt.Sprintf("c%d-%d", call, i))
			if i%3 == 1 {
				e = personalEvent("acme", e.ID)
			}
			if i%4 == 0 || len(gs) == 0 {
				gs = append(gs, group(e))
			} else {
				gs[len(gs)-1].Entries = append(gs[len(gs)-1].Entries, entry(e))
			}
		}
		mustAppend(t, s, gs...)
		n += size
		if call%4 == 3 {
			checkTree(t, s, "acme")
		}
	}
	if tree := checkTree(t, s, "acme"); tree.Size() != int64(n) {
		t.Errorf("tree size %d, want %d", tree.Size(), n)
	}
	_, err := s.ReadHashes(t.Context(), "nobody", []int64{0})
	wantCode(t, err, hashtrail.ENOTFOUND, "ReadHashes of an unknown tenant")
	mustTenant(t, s, "empty")
	_, err = s.ReadHashes(t.Context(), "empty", []int64{0})
	wantCode(t, err, hashtrail.ENOTFOUND, "ReadHashes of an empty log")
	// Indexes in any order, repeated.
	got, err := s.ReadHashes(t.Context(), "acme", []int64{5, 0, 5, 2})
	want := checkTree(t, s, "acme").StoredHashes()
	if err != nil || !slices.Equal(got, []merkle.Hash{want[5], want[0], want[5], want[2]}) {
		t.Errorf("ReadHashes(5, 0, 5, 2) = %v, %v", got, err)
	}
}

func testTreesPerTenant(t *testing.T, s hashtrail.Store) {
	var gs []*hashtrail.AppendGroup
	for i := range 30 {
		tn := []string{"a", "b", "c"}[i%3]
		gs = append(gs, group(newEvent(tn, fmt.Sprintf("e%d", i))))
	}
	mustAppend(t, s, gs...)
	mustAppend(t, s, group(newEvent("a", "more"), newEvent("c", "more")))
	roots := map[merkle.Hash]string{}
	for tn, size := range map[string]int64{"a": 11, "b": 10, "c": 11} {
		tree := checkTree(t, s, tn)
		if tree.Size() != size {
			t.Errorf("tenant %s: tree size %d, want %d", tn, tree.Size(), size)
		}
		if other, ok := roots[tree.Root()]; ok {
			t.Errorf("tenants %s and %s have the same root", tn, other)
		}
		roots[tree.Root()] = tn
	}
}

func testLeafHashSealed(t *testing.T, s hashtrail.Store) {
	plain, personal, full := newEvent("acme", "plain"), personalEvent("acme", "personal"), fullEvent("acme", "full")
	full.LeafHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" // replaced by the store
	var entries []*hashtrail.Entry
	for i, e := range []*hashtrail.Event{plain, personal, full} {
		en := entry(e)
		en.Salts = salts(byte(10 * i))
		entries = append(entries, en)
	}
	mustAppend(t, s, &hashtrail.AppendGroup{Entries: entries, CreateTenants: true})
	for i, en := range entries {
		e := en.Event
		// The leaf the store committed to is EncodeLeaf's for the stored
		// event, with the entry's salts: independent of the store.
		ref := *e
		ref.LeafHash, ref.PII = "", nil
		leaf, roles, err := hashtrail.EncodeLeaf(&ref, en.Salts, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := hashtrail.LeafHash(leaf); e.LeafHash != want {
			t.Errorf("event %d: Append set LeafHash %s, want %s", i, e.LeafHash, want)
		}
		got, err := s.Event(t.Context(), "acme", e.ID)
		if err != nil {
			t.Fatal(err)
		}
		equalEvent(t, got, e)
		if got.LeafHash != e.LeafHash {
			t.Errorf("event %d: read LeafHash %s, Append said %s", i, got.LeafHash, e.LeafHash)
		}
		wantPII := map[string]hashtrail.PIICommitment{}
		for _, r := range roles {
			wantPII[r.Role] = hashtrail.PIICommitment{Commitment: r.Commitment, Salt: en.Salts[r.Role]}
		}
		if len(wantPII) == 0 {
			wantPII = nil
		}
		if !maps.EqualFunc(got.PII, wantPII, func(a, b hashtrail.PIICommitment) bool {
			return a.Commitment == b.Commitment && bytes.Equal(a.Salt, b.Salt) && a.Erased == b.Erased
		}) {
			t.Errorf("event %d: PII = %+v, want %+v", i, got.PII, wantPII)
		}
		h, err := s.ReadHashes(t.Context(), "acme", []int64{merkle.StoredHashIndex(0, e.Seq)})
		if err != nil || hex.EncodeToString(h[0][:]) != e.LeafHash {
			t.Errorf("event %d: the tree's leaf hash at seq %d is %v, %v; want %s", i, e.Seq, h, err, e.LeafHash)
		}
	}
}

func testReadsRebuild(t *testing.T, s hashtrail.Store) {
	// A tenant marking only "phone" personal: "email" changes stay in clear.
	custom := []string{"phone"}
	var gs []*hashtrail.AppendGroup
	want := map[string]*hashtrail.Event{}
	for i := range 12 {
		var e *hashtrail.Event
		switch i % 4 {
		case 0:
			e = newEvent("acme", fmt.Sprintf("e%d", i))
		case 1:
			e = personalEvent("acme", fmt.Sprintf("e%d", i))
		case 2:
			e = fullEvent("acme", fmt.Sprintf("e%d", i))
		default:
			e = newEvent("acme", fmt.Sprintf("e%d", i))
			e.Actor = &hashtrail.Actor{Type: hashtrail.ActorService, ID: "billing", Name: "Billing"}
			e.Context = &hashtrail.Context{UserAgent: "cron/1.0"}
		}
		want[e.ID] = e
		g := group(e)
		gs = append(gs, g)
	}
	other := personalEvent("custom", "c1")
	want["c1"] = other
	oe := entry(other)
	oe.PersonalFields = custom
	gs = append(gs, &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{oe}, CreateTenants: true})
	mustAppend(t, s, gs...)

	for _, q := range []hashtrail.Query{
		{Tenant: "acme", Limit: 5},
		{Tenant: "acme", Order: hashtrail.OrderAsc, Limit: hashtrail.MaxLimit},
		{Tenant: "acme", Actor: "user:42"},
		{Tenant: "acme", Target: "user:7"},
		{Tenant: "acme", Actions: []string{"role.*"}},
		{Tenant: "acme", Actor: "alice@example.com", Order: hashtrail.OrderAsc},
	} {
		events := query(t, s, q)
		if len(events) == 0 {
			t.Errorf("Events(%s) found nothing", describe(q))
		}
		for _, e := range events {
			equalEvent(t, e, want[e.ID])
		}
	}
	for id, w := range want {
		tenant := w.Tenant
		got, err := s.Event(t.Context(), tenant, id)
		if err != nil {
			t.Fatalf("Event(%s): %v", id, err)
		}
		if tenant == "custom" {
			checkSealed(t, got, custom)
			got.PII = nil
			if !bytes.Equal(got.Changes[0].Old, w.Changes[0].Old) || got.Actor.Email != w.Actor.Email {
				t.Errorf("custom personal fields: read back %+v", got)
			}
			continue
		}
		equalEvent(t, got, w)
		if w.Actor != nil && w.Actor.Type == hashtrail.ActorUser && len(got.PII) == 0 {
			t.Errorf("event %s: no PII", id)
		}
	}
	checkTree(t, s, "acme")
	checkTree(t, s, "custom")
}

func testReplayKeepsLeaf(t *testing.T, s hashtrail.Store) {
	orig := personalEvent("acme", "x")
	appendEvents(t, s, orig, newEvent("acme", "y"))
	before := checkTree(t, s, "acme")

	again := personalEvent("acme", "x")
	again.ReceivedAt = at(99)
	en := entry(again)
	en.Salts = salts(1) // other salts would give another leaf: ignored
	mustAppend(t, s, &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{en}})
	if !en.Replayed || again.LeafHash != orig.LeafHash || again.Seq != orig.Seq {
		t.Errorf("replay: Replayed %v seq %d leaf %s; want the original's %d %s", en.Replayed, again.Seq, again.LeafHash, orig.Seq, orig.LeafHash)
	}
	// A replay within the call that writes the original.
	first, dup := newEvent("acme", "z"), newEvent("acme", "z")
	g := group(first, dup)
	mustAppend(t, s, g)
	if !g.Entries[1].Replayed || dup.LeafHash != first.LeafHash || dup.LeafHash == "" {
		t.Errorf("replay in the same group: leaf %q, want %q", dup.LeafHash, first.LeafHash)
	}
	after := checkTree(t, s, "acme")
	if after.Size() != before.Size()+1 {
		t.Errorf("replays grew the tree from %d to %d leaves, want %d", before.Size(), after.Size(), before.Size()+1)
	}
	got, err := s.Event(t.Context(), "acme", "x")
	if err != nil {
		t.Fatal(err)
	}
	equalEvent(t, got, orig)
}

func testFailedGroupWritesNoHashes(t *testing.T, s hashtrail.Store) {
	appendEvents(t, s, newEvent("acme", "x"))
	changed := newEvent("acme", "x")
	changed.Action = "user.logout"
	conflict := group(newEvent("acme", "a1"), personalEvent("acme", "a2"), changed)
	unsealable := group(newEvent("acme", "b1"), newEvent("acme", "b2"))
	unsealable.Entries[1].Event.Category = "" // the leaf needs it
	fresh := group(newEvent("newco", "n1"))
	fresh.Entries[0].Event.Outcome = ""
	good := group(personalEvent("acme", "c1"))
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{conflict, unsealable, fresh, good}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, conflict.Err, hashtrail.ECONFLICT, "group reusing an id")
	wantCode(t, unsealable.Err, hashtrail.EINVALID, "group with an event that cannot be sealed")
	wantCode(t, fresh.Err, hashtrail.EINVALID, "group creating a tenant with an event that cannot be sealed")
	if good.Err != nil || good.Entries[0].Event.Seq != 1 {
		t.Fatalf("the good group: %v, seq %d; want seq 1", good.Err, good.Entries[0].Event.Seq)
	}
	for _, id := range []string{"a1", "a2", "b1", "b2"} {
		if _, err := s.Event(t.Context(), "acme", id); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
			t.Errorf("event %s of a failed group: %v, want ENOTFOUND", id, err)
		}
	}
	if _, err := s.Tenant(t.Context(), "newco"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("tenant of a failed group: %v, want ENOTFOUND", err)
	}
	if tree := checkTree(t, s, "acme"); tree.Size() != 2 {
		t.Errorf("tree size %d, want 2", tree.Size())
	}
	// A failed Append writes no hashes either, and the tree goes on.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Append(ctx, []*hashtrail.AppendGroup{group(newEvent("acme", "lost"))}); err == nil {
		t.Fatal("Append with a cancelled context succeeded")
	}
	appendEvents(t, s, newEvent("acme", "d1"), newEvent("acme", "d2"))
	if tree := checkTree(t, s, "acme"); tree.Size() != 4 {
		t.Errorf("tree size %d, want 4", tree.Size())
	}

	// Many groups in one call (so a store may seal them in parallel), with
	// an unsealable one in the middle whose id a later group uses with other
	// content: that later group succeeds, since the failed one wrote nothing.
	var gs []*hashtrail.AppendGroup
	for i := range 80 {
		gs = append(gs, group(personalEvent("acme", fmt.Sprintf("m%d", i))))
	}
	bad := group(newEvent("acme", "shared"), newEvent("acme", "bad"))
	bad.Entries[1].Event.Time = hashtrail.Time{}
	reuse := newEvent("acme", "shared")
	reuse.Action = "user.logout"
	later := group(reuse)
	replay := group(personalEvent("acme", "m3"))
	gs = slices.Insert(gs, 40, bad)
	gs = append(gs, later, replay)
	if err := s.Append(t.Context(), gs); err != nil {
		t.Fatal(err)
	}
	wantCode(t, bad.Err, hashtrail.EINVALID, "group with an event that cannot be sealed")
	for i, g := range gs {
		if g != bad && g.Err != nil {
			t.Fatalf("group %d: %v", i, g.Err)
		}
	}
	if reuse.Seq != 84 || reuse.LeafHash == "" {
		t.Errorf("the group reusing the failed group's id: seq %d leaf %q, want seq 84", reuse.Seq, reuse.LeafHash)
	}
	if e := replay.Entries[0]; !e.Replayed || e.Event.Seq != 7 || e.Event.LeafHash != gs[3].Entries[0].Event.LeafHash {
		t.Errorf("replay of an event of the same call: replayed %v seq %d leaf %s, want seq 7 leaf %s",
			e.Replayed, e.Event.Seq, e.Event.LeafHash, gs[3].Entries[0].Event.LeafHash)
	}
	if tree := checkTree(t, s, "acme"); tree.Size() != 85 {
		t.Errorf("tree size %d, want 85", tree.Size())
	}
}

// testCheckpoints checks the semantics of AddCheckpoint and its readers.
func testCheckpoints(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	var evs []*hashtrail.Event
	for i := range 9 {
		evs = append(evs, newEvent("acme", fmt.Sprintf("e%d", i)))
	}
	appendEvents(t, s, evs...)
	mustTenant(t, s, "quiet")
	r := reader(t, s, "acme")
	cp := func(size int64, created int) *hashtrail.SignedCheckpoint {
		root, err := merkle.TreeHash(size, r)
		if err != nil {
			t.Fatal(err)
		}
		return &hashtrail.SignedCheckpoint{Tenant: "acme", Size: size, Root: root,
			Note: fmt.Appendf(nil, "example/acme\n%d\n%s\n\n— sig\n", size, root), CreatedAt: at(created)}
	}
	for _, c := range []struct {
		tenant string
		fn     func() error
	}{
		{"acme", func() error { _, err := s.LatestCheckpoint(ctx, "acme"); return err }},
		{"acme", func() error { _, err := s.CheckpointCovering(ctx, "acme", 0); return err }},
		{"nobody", func() error { _, err := s.LatestCheckpoint(ctx, "nobody"); return err }},
		{"nobody", func() error { _, err := s.Checkpoints(ctx, "nobody"); return err }},
		{"nobody", func() error {
			return s.AddCheckpoint(ctx, &hashtrail.SignedCheckpoint{Tenant: "nobody", Note: []byte("x")})
		}},
	} {
		wantCode(t, c.fn(), hashtrail.ENOTFOUND, "before any checkpoint of "+c.tenant)
	}
	if cps, err := s.Checkpoints(ctx, "quiet"); err != nil || cps == nil || len(cps) != 0 {
		t.Errorf("Checkpoints of a tenant without any = %v, %v; want an empty list", cps, err)
	}
	c3, c7, c9 := cp(3, 3), cp(7, 7), cp(9, 9)
	for _, c := range []*hashtrail.SignedCheckpoint{c7, c3, c9} { // out of order
		if err := s.AddCheckpoint(ctx, c); err != nil {
			t.Fatalf("AddCheckpoint(%d): %v", c.Size, err)
		}
	}
	same := cp(7, 70)
	same.Note = []byte("another note of the same tree")
	if err := s.AddCheckpoint(ctx, same); err != nil {
		t.Errorf("AddCheckpoint of the same size and root: %v, want a no-op", err)
	}
	other := cp(7, 71)
	other.Root = c3.Root
	wantCode(t, s.AddCheckpoint(ctx, other), hashtrail.ECONFLICT, "AddCheckpoint of the same size with another root")
	beyond := cp(9, 10)
	beyond.Size = 10
	wantCode(t, s.AddCheckpoint(ctx, beyond), hashtrail.EINVALID, "AddCheckpoint beyond the log's size")

	equal := func(what string, got *hashtrail.SignedCheckpoint, err error, want *hashtrail.SignedCheckpoint) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		if got.Tenant != want.Tenant || got.Size != want.Size || got.Root != want.Root ||
			!bytes.Equal(got.Note, want.Note) || !got.CreatedAt.Equal(want.CreatedAt.Time) {
			t.Errorf("%s = %+v\nwant %+v", what, got, want)
		}
	}
	got, err := s.LatestCheckpoint(ctx, "acme")
	equal("LatestCheckpoint", got, err, c9)
	for seq, want := range map[int64]*hashtrail.SignedCheckpoint{0: c3, 2: c3, 3: c7, 6: c7, 7: c9, 8: c9} {
		got, err := s.CheckpointCovering(ctx, "acme", seq)
		equal(fmt.Sprintf("CheckpointCovering(%d)", seq), got, err, want)
	}
	_, err = s.CheckpointCovering(ctx, "acme", 9)
	wantCode(t, err, hashtrail.ENOTFOUND, "CheckpointCovering of a seq past every checkpoint")
	cps, err := s.Checkpoints(ctx, "acme")
	if err != nil || len(cps) != 3 {
		t.Fatalf("Checkpoints = %v, %v; want 3", cps, err)
	}
	for i, want := range []*hashtrail.SignedCheckpoint{c3, c7, c9} {
		equal(fmt.Sprintf("Checkpoints[%d]", i), cps[i], nil, want)
	}
	// A checkpoint of the empty log, and CreatedAt set when zero.
	empty := &hashtrail.SignedCheckpoint{Tenant: "quiet", Size: 0, Root: merkle.EmptyRoot, Note: []byte("empty")}
	if err := s.AddCheckpoint(ctx, empty); err != nil || empty.CreatedAt.IsZero() {
		t.Errorf("AddCheckpoint of an empty log: %v, CreatedAt %v", err, empty.CreatedAt)
	}
	got, err = s.LatestCheckpoint(ctx, "quiet")
	equal("LatestCheckpoint of the empty log", got, err, empty)
	if _, err := s.LatestCheckpoint(ctx, "acme"); err != nil {
		t.Errorf("checkpoints of one tenant changed another's: %v", err)
	}
	// Deleting an empty tenant deletes its checkpoints: a tenant made again
	// with its id starts a new log.
	if err := s.DeleteTenant(ctx, "quiet"); err != nil {
		t.Fatal(err)
	}
	mustTenant(t, s, "quiet")
	if cps, err := s.Checkpoints(ctx, "quiet"); err != nil || len(cps) != 0 {
		t.Errorf("Checkpoints of a tenant made again = %v, %v; want none", cps, err)
	}
}

func testSetSetting(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	if err := s.SetSetting(ctx, "signer", "a"); err != nil {
		t.Fatalf("SetSetting: %v", err)
	}
	if err := s.SetSetting(ctx, "signer", "b"); err != nil {
		t.Fatalf("SetSetting again: %v", err)
	}
	if v, err := s.Setting(ctx, "signer"); err != nil || v != "b" {
		t.Errorf("Setting after SetSetting = %q, %v; want b", v, err)
	}
	if v, err := s.InitSetting(ctx, "signer", "c"); err != nil || v != "b" {
		t.Errorf("InitSetting over SetSetting = %q, %v; want b", v, err)
	}
	if _, err := s.InitSetting(ctx, "fixed", "1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "fixed", "2"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Setting(ctx, "fixed"); err != nil || v != "2" {
		t.Errorf("Setting = %q, %v; want 2", v, err)
	}
}
