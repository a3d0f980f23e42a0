package sqlite

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/hashtrail/hashtrail/merkle"
)

// maxLevels bounds the levels of a tenant's tree: seqs are below 2^seqBits.
const maxLevels = seqBits + 1

// edge is the right edge of a tenant's tree of size n: for each set bit L
// of n, the hash of the complete subtree at level L that ends at leaf n-1,
// stored at merkle.StoredHashIndex(L, n>>L - 1). Those are exactly the
// hashes merkle.StoredHashes reads to append leaf n, so an Append that holds
// the edge computes every new tree hash without reading the database.
//
// Store.edges caches the edges across Append calls (the store is the only
// writer of its file): an Append works on copies and installs them only
// after its COMMIT succeeded, and uses a cached edge only if its size is the
// log size it just read from the database, so the tree stays right across
// failed transactions, restarts, crashes and other processes writing the
// same file. Anything else reloads the edge from tree_hashes.
type edge struct {
	n      int64
	hashes []merkle.Hash // by level; len(hashes) >= bits.Len64(n)
}

// maxCachedEdges bounds Store.edges (an edge is at most 41 hashes); past it
// the cache starts again empty.
const maxCachedEdges = 10000

// clone returns a copy of e that can be advanced without changing e.
func (e *edge) clone() *edge { return &edge{n: e.n, hashes: slices.Clone(e.hashes)} }

// edgeIndexes returns the stored-hash indexes of the right edge of a tree
// of size n, in increasing order.
func edgeIndexes(n int64) []int64 {
	var idx []int64
	for l := maxLevels - 1; l >= 0; l-- {
		if n>>l&1 == 1 {
			idx = append(idx, merkle.StoredHashIndex(l, n>>l-1))
		}
	}
	return idx
}

// ReadHashes serves merkle.StoredHashes for leaf e.n: it is asked only for
// hashes of the right edge.
func (e *edge) ReadHashes(indexes []int64) ([]merkle.Hash, error) {
	out := make([]merkle.Hash, len(indexes))
	for i, x := range indexes {
		l, k := merkle.SplitStoredHashIndex(x)
		if l >= len(e.hashes) || e.n>>l&1 == 0 || k != e.n>>l-1 {
			return nil, fmt.Errorf("sqlite: tree hash %d is not on the right edge of a tree of size %d", x, e.n)
		}
		out[i] = e.hashes[l]
	}
	return out, nil
}

// add appends a leaf: it returns the stored hashes to write, from
// merkle.StoredHashIndex(0, e.n) on, and moves the edge to size e.n+1.
func (e *edge) add(leafHash merkle.Hash) ([]merkle.Hash, error) {
	hs, err := merkle.StoredHashes(e.n, leafHash, e)
	if err != nil {
		return nil, err
	}
	// Leaf n completes one subtree per trailing one bit of n; the largest,
	// at level len(hs)-1, is the edge's new member, and the smaller ones it
	// absorbed are no longer on the edge (their bits of n+1 are zero).
	if l := len(hs) - 1; l != bits.TrailingZeros64(uint64(e.n+1)) {
		return nil, fmt.Errorf("sqlite: %d stored hashes for leaf %d", len(hs), e.n)
	}
	for len(e.hashes) < len(hs) {
		e.hashes = append(e.hashes, merkle.Hash{})
	}
	e.hashes[len(hs)-1] = hs[len(hs)-1]
	e.n++
	return hs, nil
}

// loadEdge reads the right edge of the tree of the tenant with num, of size
// n, from tree_hashes in the transaction.
func (t *wtx) loadEdge(num, n int64) (*edge, error) {
	e := &edge{n: n, hashes: make([]merkle.Hash, bits.Len64(uint64(n)))}
	want := edgeIndexes(n)
	found := 0
	err := inChunks(want, func(list string, args []any) error {
		rows, err := t.query(`SELECT idx, hash FROM tree_hashes WHERE tenant = ? AND idx IN (`+list+`)`, append([]any{num}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var idx int64
			var h []byte
			if err := rows.Scan(&idx, &h); err != nil {
				return fmt.Errorf("sqlite: read tree: %w", err)
			}
			l, _ := merkle.SplitStoredHashIndex(idx)
			if e.hashes[l], err = merkle.HashFromBytes(h); err != nil {
				return fmt.Errorf("sqlite: tree hash %d of tenant %d: %w", idx, num, err)
			}
			found++
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if found != len(want) {
		return nil, fmt.Errorf("sqlite: the tree of tenant %d (size %d) lacks hashes of its right edge %v", num, n, want)
	}
	return e, nil
}
