package ingest

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/hashtrail/hashtrail/merkle"
)

// MaxLevels bounds the levels of a tenant's tree: seqs are below 2^62.
const MaxLevels = 63

// Edge is the right edge of a tenant's tree of size N: for each set bit L
// of N, the hash of the complete subtree at level L that ends at leaf N-1,
// stored at merkle.StoredHashIndex(L, N>>L - 1). Those are exactly the
// hashes merkle.StoredHashes reads to append leaf N, so an appender that
// holds the edge computes every new tree hash without reading the database.
type Edge struct {
	N      int64
	hashes []merkle.Hash // by level; len(hashes) >= bits.Len64(N)
}

// Clone returns a copy of e that can be advanced without changing e.
func (e *Edge) Clone() *Edge { return &Edge{N: e.N, hashes: slices.Clone(e.hashes)} }

// EdgeIndexes returns the stored-hash indexes of the right edge of a tree
// of size n, highest level (leftmost subtree) first.
func EdgeIndexes(n int64) []int64 {
	var idx []int64
	for l := MaxLevels - 1; l >= 0; l-- {
		if n>>l&1 == 1 {
			idx = append(idx, merkle.StoredHashIndex(l, n>>l-1))
		}
	}
	return idx
}

// EdgeFromHashes returns the edge of the tree of size n whose edge hashes,
// in the order of EdgeIndexes(n), are hs.
func EdgeFromHashes(n int64, hs []merkle.Hash) (*Edge, error) {
	want := EdgeIndexes(n)
	if len(hs) != len(want) {
		return nil, fmt.Errorf("the right edge of a tree of size %d has %d hashes, not %d", n, len(want), len(hs))
	}
	e := &Edge{N: n, hashes: make([]merkle.Hash, bits.Len64(uint64(n)))}
	for i, x := range want {
		l, _ := merkle.SplitStoredHashIndex(x)
		e.hashes[l] = hs[i]
	}
	return e, nil
}

// Hashes returns the edge's hashes in the order of EdgeIndexes(e.N).
func (e *Edge) Hashes() []merkle.Hash {
	var out []merkle.Hash
	for l := len(e.hashes) - 1; l >= 0; l-- {
		if e.N>>l&1 == 1 {
			out = append(out, e.hashes[l])
		}
	}
	return out
}

// MarshalBinary returns Hashes concatenated (32 bytes each).
func (e *Edge) MarshalBinary() []byte {
	hs := e.Hashes()
	b := make([]byte, 0, len(hs)*len(merkle.Hash{}))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// ParseEdge reads the edge of a tree of size n from MarshalBinary's bytes.
func ParseEdge(n int64, b []byte) (*Edge, error) {
	size := len(merkle.Hash{})
	if len(b)%size != 0 {
		return nil, fmt.Errorf("a right edge of %d bytes", len(b))
	}
	hs := make([]merkle.Hash, len(b)/size)
	for i := range hs {
		copy(hs[i][:], b[i*size:])
	}
	return EdgeFromHashes(n, hs)
}

// ReadHashes serves merkle.StoredHashes for leaf e.N: it is asked only for
// hashes of the right edge.
func (e *Edge) ReadHashes(indexes []int64) ([]merkle.Hash, error) {
	out := make([]merkle.Hash, len(indexes))
	for i, x := range indexes {
		l, k := merkle.SplitStoredHashIndex(x)
		if l >= len(e.hashes) || e.N>>l&1 == 0 || k != e.N>>l-1 {
			return nil, fmt.Errorf("tree hash %d is not on the right edge of a tree of size %d", x, e.N)
		}
		out[i] = e.hashes[l]
	}
	return out, nil
}

// Add appends a leaf: it returns the stored hashes to write, from
// merkle.StoredHashIndex(0, e.N) on, and moves the edge to size e.N+1.
func (e *Edge) Add(leafHash merkle.Hash) ([]merkle.Hash, error) {
	hs, err := merkle.StoredHashes(e.N, leafHash, e)
	if err != nil {
		return nil, err
	}
	// Leaf n completes one subtree per trailing one bit of n; the largest,
	// at level len(hs)-1, is the edge's new member, and the smaller ones it
	// absorbed are no longer on the edge (their bits of n+1 are zero).
	if l := len(hs) - 1; l != bits.TrailingZeros64(uint64(e.N+1)) {
		return nil, fmt.Errorf("%d stored hashes for leaf %d", len(hs), e.N)
	}
	for len(e.hashes) < len(hs) {
		e.hashes = append(e.hashes, merkle.Hash{})
	}
	e.hashes[len(hs)-1] = hs[len(hs)-1]
	e.N++
	return hs, nil
}
