package sqlite_test

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// checkStoreTree checks that the stored tree of tenant is the tree of its
// events' leaf hashes, that every event rebuilds to its leaf hash, and
// returns the tree's size.
func checkStoreTree(t testing.TB, s *sqlite.Store, tenant string) int64 {
	t.Helper()
	var tree merkle.Tree
	after := int64(-1)
	for {
		page, err := s.Events(t.Context(), &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, AfterSeq: &after, Limit: hashtrail.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, nil)
			if err != nil {
				t.Fatalf("seq %d: RebuildLeaf: %v", e.Seq, err)
			}
			if hashtrail.LeafHash(leaf) != e.LeafHash || e.Seq != tree.Size() {
				t.Fatalf("seq %d (want %d): the rebuilt leaf does not hash to %s", e.Seq, tree.Size(), e.LeafHash)
			}
			h, _ := hex.DecodeString(e.LeafHash)
			tree.Append(merkle.Hash(h))
		}
		after = page[len(page)-1].Seq
	}
	want := tree.StoredHashes()
	idx := make([]int64, len(want))
	for i := range idx {
		idx[i] = int64(i)
	}
	got, err := s.ReadHashes(t.Context(), tenant, idx)
	if err != nil {
		t.Fatalf("ReadHashes: %v", err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tenant %s: stored hash %d differs from the tree of the leaf hashes", tenant, i)
		}
	}
	if _, err := s.ReadHashes(t.Context(), tenant, []int64{int64(len(want))}); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Fatalf("tenant %s: a stored hash past the tree: %v", tenant, err)
	}
	return tree.Size()
}

// TestTwoWriters appends through two stores on one file in turn: each one's
// cached tree edges go stale whenever the other writes, and the tree must
// come out right regardless.
func TestTwoWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hashtrail.db")
	a, b := mustOpenAt(t, path), mustOpenAt(t, path)
	defer a.Close()
	defer b.Close()
	n := 0
	for round := range 12 {
		s := []*sqlite.Store{a, b}[round%2]
		batch := 1 + round%5
		if err := s.Append(t.Context(), benchGroups(batch, n, idKinds["ulid"])); err != nil {
			t.Fatal(err)
		}
		n += batch
	}
	var total int64
	for i := range 4 {
		total += checkStoreTree(t, a, fmt.Sprintf("tenant-%d", i))
	}
	if total != int64(n) {
		t.Errorf("%d events in the trees, want %d", total, n)
	}
}
