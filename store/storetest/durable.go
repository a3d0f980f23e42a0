package storetest

import (
	"fmt"
	"testing"

	"github.com/hashtrail/hashtrail"
)

// RunDurable checks that everything a store acknowledged is there after it
// is closed and opened again (events, tree hashes, checkpoints, settings),
// and that logs and their trees continue where they were.
// open opens the store whose data lives in dir, a directory the suite makes
// (t.TempDir); opening the same dir again must open the same data. A store
// that does not keep files may use dir as the key of its data. The suite
// closes every store it opens.
func RunDurable(t *testing.T, open func(t *testing.T, dir string) hashtrail.Store) {
	runDurableTenantDeletion(t, open)
	t.Run("Reopen", func(t *testing.T) {
		dir := t.TempDir()
		ctx := t.Context()
		s := open(t, dir)
		full := fullEvent("acme", "full")
		var evs []*hashtrail.Event
		for i := range 20 {
			evs = append(evs, newEvent("acme", fmt.Sprintf("e%d", i)))
		}
		appendEvents(t, s, append(evs, full, newEvent("beta", "b0"))...)
		if err := s.CreateTenant(ctx, &hashtrail.Tenant{ID: "named", Name: "Named"}); err != nil {
			t.Fatal(err)
		}
		key := &hashtrail.APIKey{ID: "k1", Tenant: "acme", Role: hashtrail.RoleAdmin, Hash: []byte("hash"), CreatedAt: at(1)}
		if err := s.CreateKey(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.InitSetting(ctx, "server_name", "log.example"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSetting(ctx, "mutable", "v2"); err != nil {
			t.Fatal(err)
		}
		tree := checkTree(t, s, "acme")
		cp := &hashtrail.SignedCheckpoint{Tenant: "acme", Size: tree.Size(), Root: tree.Root(), Note: []byte("note\n"), CreatedAt: at(5)}
		if err := s.AddCheckpoint(ctx, cp); err != nil {
			t.Fatal(err)
		}
		closeStore(t, s)

		s = open(t, dir)
		for _, e := range []*hashtrail.Event{evs[0], evs[19], full} {
			got, err := s.Event(ctx, "acme", e.ID)
			if err != nil {
				t.Fatalf("after reopen, Event(%s): %v", e.ID, err)
			}
			equalEvent(t, got, e)
		}
		if tn, err := s.Tenant(ctx, "acme"); err != nil || tn.Size != 21 {
			t.Errorf("after reopen, Tenant(acme) = %+v, %v; want Size 21", tn, err)
		}
		if tn, err := s.Tenant(ctx, "named"); err != nil || tn.Name != "Named" {
			t.Errorf("after reopen, Tenant(named) = %+v, %v", tn, err)
		}
		if k, err := s.KeyByHash(ctx, []byte("hash")); err != nil || k.ID != "k1" {
			t.Errorf("after reopen, KeyByHash = %+v, %v", k, err)
		}
		if v, err := s.Setting(ctx, "server_name"); err != nil || v != "log.example" {
			t.Errorf("after reopen, Setting = %q, %v", v, err)
		}
		if v, err := s.Setting(ctx, "mutable"); err != nil || v != "v2" {
			t.Errorf("after reopen, Setting(mutable) = %q, %v", v, err)
		}
		if again := checkTree(t, s, "acme"); again.Root() != tree.Root() {
			t.Errorf("after reopen, the tree's root is %v, want %v", again.Root(), tree.Root())
		}
		if got, err := s.LatestCheckpoint(ctx, "acme"); err != nil || got.Size != cp.Size || got.Root != cp.Root || string(got.Note) != string(cp.Note) {
			t.Errorf("after reopen, LatestCheckpoint = %+v, %v", got, err)
		}
		// The logs continue; replays still find the originals.
		replay, next, b1 := newEvent("acme", "e5"), newEvent("acme", "after"), newEvent("beta", "b1")
		g := group(replay, next, b1)
		mustAppend(t, s, g)
		if !g.Entries[0].Replayed || replay.Seq != 5 || next.Seq != 21 || b1.Seq != 1 {
			t.Errorf("after reopen: replay %v seq %d, new seqs %d and %d; want true 5, 21 and 1",
				g.Entries[0].Replayed, replay.Seq, next.Seq, b1.Seq)
		}
		closeStore(t, s)

		s = open(t, dir)
		defer closeStore(t, s)
		wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Limit: 2}, 21, 20)
		wantSeqs(t, s, hashtrail.Query{Tenant: "beta"}, 1, 0)
		// The trees grew on from where they were, after each reopen.
		for i := range 12 {
			appendEvents(t, s, newEvent("acme", fmt.Sprintf("late%d", i)))
		}
		checkTree(t, s, "acme")
		checkTree(t, s, "beta")
		if cps, err := s.Checkpoints(ctx, "acme"); err != nil || len(cps) != 1 {
			t.Errorf("after reopen, Checkpoints = %v, %v", cps, err)
		}
	})
}

func closeStore(t *testing.T, s hashtrail.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
