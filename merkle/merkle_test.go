package merkle_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashtrail/hashtrail/merkle"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// vectorDir finds the shared RFC 6962 vectors (see
// shared/vectors/rfc6962/README.md), next to the repository or above it.
func vectorDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "shared", "vectors", "rfc6962")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		if filepath.Dir(dir) == dir {
			t.Skip("the shared RFC 6962 vectors (shared/vectors/rfc6962) are not on this machine")
		}
	}
}

// vectorFiles returns every JSON file under dir, relative names first to last.
func vectorFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no vectors in %s", dir)
	}
	return files
}

func readVector(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type inclusionVector struct {
	LeafIdx  uint64   `json:"leafIdx"`
	TreeSize uint64   `json:"treeSize"`
	Root     []byte   `json:"root"`
	LeafHash []byte   `json:"leafHash"`
	Proof    [][]byte `json:"proof"`
	Desc     string   `json:"desc"`
	WantErr  bool     `json:"wantErr"`
}

type consistencyVector struct {
	Size1   uint64   `json:"size1"`
	Size2   uint64   `json:"size2"`
	Root1   []byte   `json:"root1"`
	Root2   []byte   `json:"root2"`
	Proof   [][]byte `json:"proof"`
	Desc    string   `json:"desc"`
	WantErr bool     `json:"wantErr"`
}

// referenceTree is the log of testonly.LeafInputs, from which the happy-path
// vectors were generated.
func referenceTree() *merkle.Tree {
	var tr merkle.Tree
	for _, leaf := range testonly.LeafInputs() {
		tr.AppendLeaf(leaf)
	}
	return &tr
}

func TestInclusionVectors(t *testing.T) {
	dir := filepath.Join(vectorDir(t), "inclusion")
	ref := referenceTree()
	compared := 0
	for _, path := range vectorFiles(t, dir) {
		name, _ := filepath.Rel(dir, path)
		t.Run(name, func(t *testing.T) {
			var v inclusionVector
			readVector(t, path, &v)
			idx, size := signed(v.LeafIdx), signed(v.TreeSize)
			err := merkle.VerifyInclusion(idx, size, v.LeafHash, v.Proof, v.Root)
			if (err != nil) != v.WantErr {
				t.Fatalf("%s: VerifyInclusion = %v, want error %v", v.Desc, err, v.WantErr)
			}
			if err != nil && !errors.Is(err, merkle.ErrInvalidProof) && !errors.Is(err, merkle.ErrOutOfRange) {
				t.Errorf("error %v is neither ErrInvalidProof nor ErrOutOfRange", err)
			}
			// Happy paths over the reference leaves must be what we prove too.
			if !v.WantErr && size <= ref.Size() && bytes.Equal(v.Root, hashAt(t, ref, size)) {
				p, err := merkle.ProveRecord(size, idx, ref)
				if err != nil {
					t.Fatal(err)
				}
				compared++
				if got := raw(p); !equalProofs(got, v.Proof) {
					t.Errorf("ProveRecord(%d, %d) = %x, want %x", size, idx, got, v.Proof)
				}
			}
		})
	}
	if compared == 0 {
		t.Error("no happy-path vector was compared with ProveRecord")
	}
}

func TestConsistencyVectors(t *testing.T) {
	dir := filepath.Join(vectorDir(t), "consistency")
	ref := referenceTree()
	compared := 0
	for _, path := range vectorFiles(t, dir) {
		name, _ := filepath.Rel(dir, path)
		t.Run(name, func(t *testing.T) {
			var v consistencyVector
			readVector(t, path, &v)
			size1, size2 := signed(v.Size1), signed(v.Size2)
			err := merkle.VerifyConsistency(size1, size2, v.Proof, v.Root1, v.Root2)
			if (err != nil) != v.WantErr {
				t.Fatalf("%s: VerifyConsistency = %v, want error %v", v.Desc, err, v.WantErr)
			}
			if !v.WantErr && size2 <= ref.Size() && bytes.Equal(v.Root2, hashAt(t, ref, size2)) {
				p, err := merkle.ProveTree(size2, size1, ref)
				if err != nil {
					t.Fatal(err)
				}
				compared++
				if got := raw(p); !equalProofs(got, v.Proof) {
					t.Errorf("ProveTree(%d, %d) = %x, want %x", size2, size1, got, v.Proof)
				}
			}
		})
	}
	if compared == 0 {
		t.Error("no happy-path vector was compared with ProveTree")
	}
}

// signed maps the vectors' uint64 indexes onto int64; those past
// math.MaxInt64 (such as 0 - 1) become -1, which no tree holds either.
func signed(u uint64) int64 {
	if u > math.MaxInt64 {
		return -1
	}
	return int64(u)
}

func hashAt(t *testing.T, tr *merkle.Tree, size int64) []byte {
	t.Helper()
	h, err := merkle.TreeHash(size, tr)
	if err != nil {
		t.Fatal(err)
	}
	return h[:]
}

func raw(p []merkle.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

func equalProofs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestReferenceRoots checks the published roots of the RFC 6962 reference
// leaves (as in certificate-transparency and transparency-dev/merkle).
func TestReferenceRoots(t *testing.T) {
	var tr merkle.Tree
	roots := testonly.RootHashes()
	if got := tr.Root(); !bytes.Equal(got[:], roots[0]) || got != merkle.EmptyRoot {
		t.Fatalf("empty root = %x, want %x", got, roots[0])
	}
	for i, leaf := range testonly.LeafInputs() {
		tr.AppendLeaf(leaf)
		if got := tr.Root(); !bytes.Equal(got[:], roots[i+1]) {
			t.Errorf("root of %d leaves = %x, want %x", i+1, got, roots[i+1])
		}
	}
	leaf := []byte("hashtrail")
	want := sha256.Sum256(append([]byte{0}, leaf...))
	if got := merkle.LeafHash(leaf); got != want {
		t.Errorf("LeafHash = %x, want SHA-256(0x00||leaf) %x", got, want)
	}
	l, r := merkle.LeafHash([]byte("l")), merkle.LeafHash([]byte("r"))
	want = sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
	if got := merkle.NodeHash(l, r); got != want {
		t.Errorf("NodeHash = %x, want SHA-256(0x01||l||r) %x", got, want)
	}
}

// leafData returns distinct leaves for a log of n entries.
func leafData(n int) [][]byte {
	leaves := make([][]byte, n)
	for i := range leaves {
		leaves[i] = binary.BigEndian.AppendUint64([]byte("leaf-"), uint64(i))
	}
	return leaves
}

// TestCrossCheck compares every root and every proof of every tree size up
// to maxSize with transparency-dev/merkle, byte for byte, and has each
// implementation verify the other's proofs.
func TestCrossCheck(t *testing.T) {
	const maxSize = 140
	hasher := rfc6962.DefaultHasher
	leaves := leafData(maxSize)
	var ours merkle.Tree
	ref := testonly.New(hasher)
	for size := int64(1); size <= maxSize; size++ {
		ours.AppendLeaf(leaves[size-1])
		ref.AppendData(leaves[size-1])
		root := ours.Root()
		if !bytes.Equal(root[:], ref.Hash()) {
			t.Fatalf("size %d: root %x, reference %x", size, root, ref.Hash())
		}
		for i := int64(0); i < size; i++ {
			crossCheckInclusion(t, &ours, ref, i, size)
		}
		for m := int64(1); m <= size; m++ {
			crossCheckConsistency(t, &ours, ref, m, size)
		}
	}
	if got, want := int64(len(ours.StoredHashes())), merkle.StoredHashCount(maxSize); got != want {
		t.Errorf("stored %d hashes, StoredHashCount says %d", got, want)
	}
}

// TestCrossCheckLarge samples proofs in larger trees.
func TestCrossCheckLarge(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 1100
	}
	leaves := leafData(n)
	var ours merkle.Tree
	ref := testonly.New(rfc6962.DefaultHasher)
	for _, l := range leaves {
		ours.AppendLeaf(l)
		ref.AppendData(l)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		size := 1 + rng.Int64N(int64(n))
		crossCheckInclusion(t, &ours, ref, rng.Int64N(size), size)
		crossCheckConsistency(t, &ours, ref, 1+rng.Int64N(size), size)
	}
	for _, size := range []int64{1023, 1024, 1025, int64(n)} {
		crossCheckInclusion(t, &ours, ref, size-1, size)
		crossCheckConsistency(t, &ours, ref, size-1, size)
		crossCheckConsistency(t, &ours, ref, 1, size)
	}
}

func crossCheckInclusion(t *testing.T, ours *merkle.Tree, ref *testonly.Tree, i, size int64) {
	t.Helper()
	p, err := merkle.ProveRecord(size, i, ours)
	if err != nil {
		t.Fatalf("ProveRecord(%d, %d): %v", size, i, err)
	}
	want, err := ref.InclusionProof(uint64(i), uint64(size))
	if err != nil {
		t.Fatal(err)
	}
	if !equalProofs(raw(p), want) {
		t.Fatalf("ProveRecord(%d, %d) = %x, reference %x", size, i, raw(p), want)
	}
	root := ref.HashAt(uint64(size))
	leaf := ref.LeafHash(uint64(i))
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(size), leaf, raw(p), root); err != nil {
		t.Fatalf("reference rejects our inclusion proof (%d, %d): %v", size, i, err)
	}
	if err := merkle.VerifyInclusion(i, size, leaf, want, root); err != nil {
		t.Fatalf("we reject the reference inclusion proof (%d, %d): %v", size, i, err)
	}
	th, lh := mustHash(t, root), mustHash(t, leaf)
	if err := merkle.CheckRecord(p, size, th, i, lh); err != nil {
		t.Fatalf("CheckRecord(%d, %d): %v", size, i, err)
	}
	if len(p) > 0 {
		bad := append([]merkle.Hash(nil), p...)
		bad[len(bad)/2][7] ^= 0x10
		if err := merkle.CheckRecord(bad, size, th, i, lh); !errors.Is(err, merkle.ErrInvalidProof) {
			t.Fatalf("CheckRecord accepted a corrupted proof (%d, %d): %v", size, i, err)
		}
	}
	if err := merkle.CheckRecord(p, size, th, i, merkle.LeafHash([]byte("other"))); !errors.Is(err, merkle.ErrInvalidProof) {
		t.Fatalf("CheckRecord accepted another leaf (%d, %d): %v", size, i, err)
	}
}

func crossCheckConsistency(t *testing.T, ours *merkle.Tree, ref *testonly.Tree, m, size int64) {
	t.Helper()
	p, err := merkle.ProveTree(size, m, ours)
	if err != nil {
		t.Fatalf("ProveTree(%d, %d): %v", size, m, err)
	}
	want, err := ref.ConsistencyProof(uint64(m), uint64(size))
	if err != nil {
		t.Fatal(err)
	}
	if !equalProofs(raw(p), want) {
		t.Fatalf("ProveTree(%d, %d) = %x, reference %x", size, m, raw(p), want)
	}
	r1, r2 := ref.HashAt(uint64(m)), ref.HashAt(uint64(size))
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(m), uint64(size), raw(p), r1, r2); err != nil {
		t.Fatalf("reference rejects our consistency proof (%d, %d): %v", m, size, err)
	}
	if err := merkle.VerifyConsistency(m, size, want, r1, r2); err != nil {
		t.Fatalf("we reject the reference consistency proof (%d, %d): %v", m, size, err)
	}
	h1, h2 := mustHash(t, r1), mustHash(t, r2)
	if err := merkle.CheckTree(p, size, h2, m, h1); err != nil {
		t.Fatalf("CheckTree(%d, %d): %v", size, m, err)
	}
	if len(p) > 0 {
		bad := append([]merkle.Hash(nil), p...)
		bad[0][0] ^= 1
		if err := merkle.CheckTree(bad, size, h2, m, h1); !errors.Is(err, merkle.ErrInvalidProof) {
			t.Fatalf("CheckTree accepted a corrupted proof (%d, %d): %v", size, m, err)
		}
	}
}

func mustHash(t *testing.T, b []byte) merkle.Hash {
	t.Helper()
	h, err := merkle.HashFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestStoredHashIndex(t *testing.T) {
	// The first positions, as the package documentation lists them.
	want := [][2]int64{{0, 0}, {0, 1}, {1, 0}, {0, 2}, {0, 3}, {1, 1}, {2, 0}, {0, 4}}
	for i, w := range want {
		level, n := merkle.SplitStoredHashIndex(int64(i))
		if int64(level) != w[0] || n != w[1] {
			t.Errorf("SplitStoredHashIndex(%d) = (%d, %d), want (%d, %d)", i, level, n, w[0], w[1])
		}
		if got := merkle.StoredHashIndex(int(w[0]), w[1]); got != int64(i) {
			t.Errorf("StoredHashIndex(%d, %d) = %d, want %d", w[0], w[1], got, i)
		}
	}
	for i := int64(0); i < 5000; i++ {
		level, n := merkle.SplitStoredHashIndex(i)
		if got := merkle.StoredHashIndex(level, n); got != i {
			t.Fatalf("StoredHashIndex(SplitStoredHashIndex(%d)) = %d", i, got)
		}
	}
	// Record n's hashes start at StoredHashIndex(0, n) and end at StoredHashCount(n+1).
	var tr merkle.Tree
	for n := int64(0); n < 300; n++ {
		before := len(tr.StoredHashes())
		if int64(before) != merkle.StoredHashIndex(0, n) {
			t.Fatalf("record %d starts at %d, StoredHashIndex says %d", n, before, merkle.StoredHashIndex(0, n))
		}
		tr.AppendLeaf([]byte{byte(n)})
		if got := int64(len(tr.StoredHashes())); got != merkle.StoredHashCount(n+1) {
			t.Fatalf("after record %d: %d hashes, StoredHashCount says %d", n, got, merkle.StoredHashCount(n+1))
		}
		if h, _ := tr.LeafHash(n); h != merkle.LeafHash([]byte{byte(n)}) {
			t.Fatalf("LeafHash(%d) is not at StoredHashIndex(0, %d)", n, n)
		}
	}
}

// TestStoredHashes builds a log the way a store does: a map of index to
// hash, fed by StoredHashes, read through a HashReaderFunc.
func TestStoredHashes(t *testing.T) {
	stored := map[int64]merkle.Hash{}
	reads := 0
	r := merkle.HashReaderFunc(func(idx []int64) ([]merkle.Hash, error) {
		reads++
		out := make([]merkle.Hash, len(idx))
		for i, x := range idx {
			h, ok := stored[x]
			if !ok {
				return nil, fmt.Errorf("hash %d missing", x)
			}
			out[i] = h
		}
		return out, nil
	})
	var ref merkle.Tree
	for n := int64(0); n < 100; n++ {
		lh := merkle.LeafHash([]byte(fmt.Sprint(n)))
		reads = 0
		hs, err := merkle.StoredHashes(n, lh, r)
		if err != nil {
			t.Fatal(err)
		}
		if reads != 1 {
			t.Fatalf("StoredHashes(%d) called ReadHashes %d times", n, reads)
		}
		for i, h := range hs {
			stored[merkle.StoredHashIndex(0, n)+int64(i)] = h
		}
		ref.Append(lh)
		root, err := merkle.TreeHash(n+1, r)
		if err != nil {
			t.Fatal(err)
		}
		if root != ref.Root() {
			t.Fatalf("TreeHash(%d) = %v, want %v", n+1, root, ref.Root())
		}
	}
	failing := merkle.HashReaderFunc(func([]int64) ([]merkle.Hash, error) { return nil, errors.New("disk on fire") })
	if _, err := merkle.TreeHash(5, failing); err == nil {
		t.Error("TreeHash ignored a read error")
	}
	if _, err := merkle.StoredHashes(3, merkle.Hash{}, failing); err == nil {
		t.Error("StoredHashes ignored a read error")
	}
	short := merkle.HashReaderFunc(func([]int64) ([]merkle.Hash, error) { return nil, nil })
	if _, err := merkle.ProveRecord(5, 1, short); err == nil {
		t.Error("ProveRecord accepted too few hashes")
	}
}

func TestRanges(t *testing.T) {
	tr := referenceTree()
	root := tr.Root()
	for _, c := range []struct{ t, n int64 }{{0, 0}, {3, 3}, {3, -1}, {3, 4}} {
		if _, err := merkle.ProveRecord(c.t, c.n, tr); !errors.Is(err, merkle.ErrOutOfRange) {
			t.Errorf("ProveRecord(%d, %d) = %v, want ErrOutOfRange", c.t, c.n, err)
		}
		if err := merkle.CheckRecord(nil, c.t, root, c.n, root); !errors.Is(err, merkle.ErrOutOfRange) {
			t.Errorf("CheckRecord(%d, %d) = %v, want ErrOutOfRange", c.t, c.n, err)
		}
	}
	for _, c := range []struct{ t, n int64 }{{0, 0}, {3, 0}, {3, 4}, {0, 1}} {
		if _, err := merkle.ProveTree(c.t, c.n, tr); !errors.Is(err, merkle.ErrOutOfRange) {
			t.Errorf("ProveTree(%d, %d) = %v, want ErrOutOfRange", c.t, c.n, err)
		}
		if err := merkle.CheckTree(nil, c.t, root, c.n, root); !errors.Is(err, merkle.ErrOutOfRange) {
			t.Errorf("CheckTree(%d, %d) = %v, want ErrOutOfRange", c.t, c.n, err)
		}
	}
	if p, err := merkle.ProveTree(5, 5, tr); err != nil || len(p) != 0 {
		t.Errorf("ProveTree(5, 5) = %v, %v; want an empty proof", p, err)
	}
	if _, err := merkle.TreeHash(-1, tr); !errors.Is(err, merkle.ErrOutOfRange) {
		t.Errorf("TreeHash(-1) = %v", err)
	}
	if _, err := tr.LeafHash(8); !errors.Is(err, merkle.ErrOutOfRange) {
		t.Errorf("LeafHash(8) = %v", err)
	}
}

func TestParseHash(t *testing.T) {
	h := merkle.LeafHash(nil)
	got, err := merkle.ParseHash(h.String())
	if err != nil || got != h {
		t.Fatalf("ParseHash(%q) = %v, %v", h.String(), got, err)
	}
	for _, s := range []string{"", "abc", h.String()[:40], "!" + h.String()[1:]} {
		if _, err := merkle.ParseHash(s); err == nil {
			t.Errorf("ParseHash(%q) succeeded", s)
		}
	}
	if _, err := merkle.HashFromBytes(make([]byte, 31)); err == nil {
		t.Error("HashFromBytes accepted 31 bytes")
	}
}
