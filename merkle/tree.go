package merkle

import (
	"fmt"
	"slices"
)

// Tree is a log held in memory: its stored hash sequence and nothing else.
// It serves tests, benchmarks and verifiers that rebuild a small log, such
// as from an evidence bundle. The zero Tree is an empty log, ready to use.
// A Tree is not safe for concurrent use while it is being appended to.
type Tree struct {
	n      int64
	hashes []Hash
}

// Append adds a leaf with the given leaf hash.
func (t *Tree) Append(leafHash Hash) {
	hs, err := StoredHashes(t.n, leafHash, t)
	if err != nil {
		panic("merkle: Tree lost its own hashes: " + err.Error()) // cannot happen
	}
	t.hashes = append(t.hashes, hs...)
	t.n++
}

// AppendLeaf adds a leaf, hashing it with LeafHash.
func (t *Tree) AppendLeaf(leaf []byte) { t.Append(LeafHash(leaf)) }

// Size returns the number of leaves.
func (t *Tree) Size() int64 { return t.n }

// Root returns the root hash of the whole tree.
func (t *Tree) Root() Hash {
	h, err := TreeHash(t.n, t)
	if err != nil {
		panic("merkle: Tree lost its own hashes: " + err.Error()) // cannot happen
	}
	return h
}

// LeafHash returns the hash of leaf i, 0 <= i < Size().
func (t *Tree) LeafHash(i int64) (Hash, error) {
	if i < 0 || i >= t.n {
		return Hash{}, fmt.Errorf("%w: leaf %d in a tree of size %d", ErrOutOfRange, i, t.n)
	}
	return t.hashes[StoredHashIndex(0, i)], nil
}

// ReadHashes implements HashReader over the stored hashes.
func (t *Tree) ReadHashes(indexes []int64) ([]Hash, error) {
	out := make([]Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(t.hashes)) {
			return nil, fmt.Errorf("%w: stored hash %d of %d", ErrOutOfRange, x, len(t.hashes))
		}
		out[i] = t.hashes[x]
	}
	return out, nil
}

// StoredHashes returns a copy of the tree's stored hash sequence.
func (t *Tree) StoredHashes() []Hash { return slices.Clone(t.hashes) }
