package storetest

import (
	"fmt"
	"testing"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// testInstallationLog checks the installation log: appends with their tree
// hashes, the size guard, lookups, checkpoints and cosignatures.
func testInstallationLog(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	if n, err := s.InstallationSize(ctx); err != nil || n != 0 {
		t.Fatalf("InstallationSize of a new store = %d, %v", n, err)
	}
	if _, err := s.LatestInstallationCheckpoint(ctx, false); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Fatalf("LatestInstallationCheckpoint of a new store: %v, want ENOTFOUND", err)
	}
	var want merkle.Tree
	entry := func(tenant string, size int64) *hashtrail.InstallationEntry {
		return &hashtrail.InstallationEntry{Tenant: tenant, Size: size, Note: fmt.Appendf(nil, "example/%s\n%d\nroot\n\n— sig\n", tenant, size)}
	}
	batches := [][]*hashtrail.InstallationEntry{
		{entry("a", 1)},
		{entry("b", 3), entry("a", 2)},
		{entry("a", 5), entry("c", 1), entry("b", 4)},
	}
	for _, b := range batches {
		if err := s.AppendInstallation(ctx, want.Size(), b); err != nil {
			t.Fatal(err)
		}
		for _, e := range b {
			want.AppendLeaf(e.Note)
		}
	}
	if n, err := s.InstallationSize(ctx); err != nil || n != want.Size() {
		t.Fatalf("InstallationSize = %d, %v; want %d", n, err, want.Size())
	}
	all := want.StoredHashes()
	idx := make([]int64, len(all))
	for i := range idx {
		idx[i] = int64(i)
	}
	got, err := s.ReadInstallationHashes(ctx, idx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if got[i] != all[i] {
			t.Fatalf("installation tree hash %d differs", i)
		}
	}
	if _, err := s.ReadInstallationHashes(ctx, []int64{int64(len(all))}); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Fatalf("reading past the tree: %v, want ENOTFOUND", err)
	}
	if err := s.AppendInstallation(ctx, 2, []*hashtrail.InstallationEntry{entry("d", 1)}); hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		t.Fatalf("append at a stale size: %v, want ECONFLICT", err)
	}
	if err := s.AppendInstallation(ctx, want.Size(), []*hashtrail.InstallationEntry{entry("a", 2)}); hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		t.Fatalf("append of an entry already there: %v, want ECONFLICT", err)
	}
	if n, _ := s.InstallationSize(ctx); n != want.Size() {
		t.Fatalf("a refused append changed the size to %d", n)
	}
	if i, e, err := s.InstallationIndex(ctx, "a", 6); err != nil || i != 3 || e.Size != 5 {
		t.Fatalf("InstallationIndex(a, 6) = %d, %+v, %v; want 3, size 5", i, e, err)
	}
	if i, e, err := s.InstallationIndex(ctx, "a", 3); err != nil || i != 2 || e.Size != 2 || string(e.Note) != string(entry("a", 2).Note) {
		t.Fatalf("InstallationIndex(a, 3) = %d, %+v, %v; want 2, size 2", i, e, err)
	}
	if _, _, err := s.InstallationIndex(ctx, "c", 4); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Fatalf("InstallationIndex(c, 4): %v, want ENOTFOUND", err)
	}
	if ok, err := s.HasInstallationEntry(ctx, "b", 4); err != nil || !ok {
		t.Fatalf("HasInstallationEntry(b, 4) = %v, %v", ok, err)
	}
	if ok, err := s.HasInstallationEntry(ctx, "b", 5); err != nil || ok {
		t.Fatalf("HasInstallationEntry(b, 5) = %v, %v", ok, err)
	}

	// Checkpoints and cosignatures.
	cp3 := &hashtrail.SignedCheckpoint{Size: 3, Root: merkle.LeafHash([]byte("r3")), Note: []byte("note 3\n")}
	cp6 := &hashtrail.SignedCheckpoint{Size: 6, Root: merkle.LeafHash([]byte("r6")), Note: []byte("note 6\n")}
	for _, cp := range []*hashtrail.SignedCheckpoint{cp3, cp6, cp3} {
		if err := s.AddInstallationCheckpoint(ctx, cp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddInstallationCheckpoint(ctx, &hashtrail.SignedCheckpoint{Size: 3, Root: cp6.Root, Note: []byte("x\n")}); hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		t.Fatalf("another root at size 3: %v, want ECONFLICT", err)
	}
	if err := s.AddInstallationCheckpoint(ctx, &hashtrail.SignedCheckpoint{Size: 7, Note: []byte("x\n")}); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Fatalf("a checkpoint past the log: %v, want EINVALID", err)
	}
	if cp, err := s.LatestInstallationCheckpoint(ctx, false); err != nil || cp.Size != 6 || string(cp.Note) != "note 6\n" {
		t.Fatalf("LatestInstallationCheckpoint = %+v, %v", cp, err)
	}
	if _, err := s.LatestInstallationCheckpoint(ctx, true); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Fatalf("latest cosigned before any cosignature: %v, want ENOTFOUND", err)
	}
	lineA1 := "— w.example/a AAAAAAAAone\n"
	lineA2 := "— w.example/a AAAAAAAAtwo\n"
	lineB := "— w.example/b BBBBBBBBone\n"
	for _, l := range []string{lineA1, lineB, lineA2} {
		if err := s.AddCosignature(ctx, 3, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddCosignature(ctx, 4, lineA1); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Fatalf("cosignature of no checkpoint: %v, want ENOTFOUND", err)
	}
	if err := s.AddCosignature(ctx, 3, "not a line"); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Fatalf("a malformed line: %v, want EINVALID", err)
	}
	if ls, err := s.Cosignatures(ctx, 3); err != nil || len(ls) != 2 || ls[0] != lineA2 || ls[1] != lineB {
		t.Fatalf("Cosignatures(3) = %q, %v; want the newer line of a, and b", ls, err)
	}
	if ls, err := s.Cosignatures(ctx, 6); err != nil || len(ls) != 0 {
		t.Fatalf("Cosignatures(6) = %q, %v", ls, err)
	}
	if cp, err := s.LatestInstallationCheckpoint(ctx, true); err != nil || cp.Size != 3 {
		t.Fatalf("latest cosigned = %+v, %v; want size 3", cp, err)
	}
}
