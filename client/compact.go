package client

import "github.com/hashtrail/hashtrail/merkle"

// compactRange is the right edge of a growing RFC 6962 tree: the roots of its
// perfect subtrees, largest first. It computes the root of the tree at any
// size while leaves stream past, in O(log n) memory, and yields the stored
// hashes each leaf adds (the same sequence as merkle.StoredHashes).
type compactRange struct {
	n     int64
	stack []merkle.Hash
}

// append adds leaf n and appends to out the stored hashes it adds: the leaf
// hash, then the hash of each perfect subtree it completes, lowest first.
func (c *compactRange) append(lh merkle.Hash, out []merkle.Hash) []merkle.Hash {
	out = append(out, lh)
	h := lh
	for k := c.n; k&1 == 1; k >>= 1 {
		top := len(c.stack) - 1
		h = merkle.NodeHash(c.stack[top], h)
		c.stack = c.stack[:top]
		out = append(out, h)
	}
	c.stack = append(c.stack, h)
	c.n++
	return out
}

// root returns the root hash of the leaves appended so far.
func (c *compactRange) root() merkle.Hash {
	if len(c.stack) == 0 {
		return merkle.EmptyRoot
	}
	r := c.stack[len(c.stack)-1]
	for i := len(c.stack) - 2; i >= 0; i-- {
		r = merkle.NodeHash(c.stack[i], r)
	}
	return r
}
