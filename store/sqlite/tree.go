package sqlite

import (
	"fmt"

	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// maxCachedEdges bounds Store.edges (an edge is at most 41 hashes); past it
// the cache starts again empty.
//
// Store.edges caches the right edge (ingest.Edge) of each tenant's tree
// across Append calls (the store is the only writer of its file): an Append
// works on copies and installs them only after its COMMIT succeeded, and
// uses a cached edge only if its size is the log size it just read from the
// database, so the tree stays right across failed transactions, restarts,
// crashes and other processes writing the same file. Anything else reloads
// the edge from tree_hashes.
const maxCachedEdges = 10000

// loadEdge reads the right edge of the tree of the tenant with num, of size
// n, from tree_hashes in the transaction.
func (t *wtx) loadEdge(num, n int64) (*ingest.Edge, error) {
	want := ingest.EdgeIndexes(n)
	got := make(map[int64]merkle.Hash, len(want))
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
			if got[idx], err = merkle.HashFromBytes(h); err != nil {
				return fmt.Errorf("sqlite: tree hash %d of tenant %d: %w", idx, num, err)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	hs := make([]merkle.Hash, len(want))
	for i, x := range want {
		h, ok := got[x]
		if !ok {
			return nil, fmt.Errorf("sqlite: the tree of tenant %d (size %d) lacks hashes of its right edge %v", num, n, want)
		}
		hs[i] = h
	}
	return ingest.EdgeFromHashes(n, hs)
}
