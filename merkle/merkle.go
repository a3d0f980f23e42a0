// Package merkle implements the Merkle tree hashing of RFC 6962 and RFC 9162
// that every Hashtrail tenant log uses (DESIGN §2), on top of
// golang.org/x/mod/sumdb/tlog.
//
// # Hashing
//
// A log of n leaves d[0], ..., d[n-1] has the root hash MTH defined by RFC 9162
// §2.1.1:
//
//	LeafHash(d)  = SHA-256(0x00 || d)
//	NodeHash(l, r) = SHA-256(0x01 || l || r)
//	MTH({})      = SHA-256("")                       (EmptyRoot)
//	MTH({d})     = LeafHash(d)
//	MTH(D[n])    = NodeHash(MTH(D[0:k]), MTH(D[k:n]))  for the largest power of two k < n
//
// # Stored hashes
//
// A log keeps, for each appended leaf n, the hashes StoredHashes returns: the
// leaf hash followed by the hash of every complete subtree whose last leaf is
// n. Laid end to end, they form one dense sequence in which the hash of the
// complete subtree at (level, i), covering leaves [i·2^level, (i+1)·2^level),
// sits at position StoredHashIndex(level, i); SplitStoredHashIndex is the
// inverse and StoredHashCount(n) the length of the sequence for n leaves. The
// leaf hash of record n is at StoredHashIndex(0, n) and the hashes of record n
// occupy positions [StoredHashIndex(0, n), StoredHashCount(n+1)). A store keeps
// this sequence per tenant (for example as rows keyed by tenant and index) and
// answers a HashReader from it; every other function here only reads it.
//
// The first positions are:
//
//	index:        0       1       2       3       4       5       6       7
//	(level, i): (0,0)   (0,1)   (1,0)   (0,2)   (0,3)   (1,1)   (2,0)   (0,4)
//
// # Proofs
//
// ProveRecord and CheckRecord are the RFC 9162 inclusion proof ("audit path",
// §2.1.3); ProveTree and CheckTree the consistency proof (§2.1.4). Their
// arguments follow tlog: the larger tree's size t comes first. VerifyInclusion
// and VerifyConsistency check the same proofs given as byte slices, in the
// argument order of transparency-dev/merkle's proof package, for verifiers
// that decode proofs from the wire; they check every hash's length.
//
// The package is pure: it does no I/O of its own, keeps no state, and imports
// nothing of the project.
package merkle

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Hash is a SHA-256 hash of a leaf, an interior node or a tree. Its String and
// MarshalJSON forms are standard base64; see ParseHash.
type Hash = tlog.Hash

// HashSize is the size of a Hash in bytes.
const HashSize = tlog.HashSize

// EmptyRoot is the root hash of the empty tree, SHA-256 of the empty string.
var EmptyRoot Hash = sha256.Sum256(nil)

var (
	// ErrInvalidProof reports a proof that does not prove what it should:
	// a hash of the wrong length, the wrong number of hashes, or hashes that
	// do not lead to the given roots.
	ErrInvalidProof = errors.New("merkle: invalid proof")
	// ErrOutOfRange reports a leaf index or tree size outside the tree, such
	// as a record index at or past the tree size, or a consistency proof from
	// a larger tree to a smaller one or from the empty tree.
	ErrOutOfRange = errors.New("merkle: index or size out of range")
)

// LeafHash returns the RFC 6962 hash of a leaf: SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) Hash { return tlog.RecordHash(leaf) }

// NodeHash returns the RFC 6962 hash of an interior node:
// SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash { return tlog.NodeHash(left, right) }

// ParseHash parses the standard base64 form of a hash.
func ParseHash(s string) (Hash, error) {
	h, err := tlog.ParseHash(s)
	if err != nil {
		return Hash{}, fmt.Errorf("merkle: malformed hash %.64q", s)
	}
	return h, nil
}

// HashFromBytes returns b as a Hash, or an error if b is not HashSize bytes long.
func HashFromBytes(b []byte) (Hash, error) {
	var h Hash
	if len(b) != HashSize {
		return h, fmt.Errorf("merkle: a hash must have %d bytes, not %d", HashSize, len(b))
	}
	copy(h[:], b)
	return h, nil
}

// A HashReader reads stored hashes of one log (see the package
// documentation for their indexes). It has the method set of tlog.HashReader,
// so a value of either type serves as the other.
//
// ReadHashes returns the hashes at the given indexes, in the same order and
// of the same number, or a non-nil error; it may run faster when indexes are
// sorted in increasing order. Every index it is asked for lies below
// StoredHashCount of the tree size the caller passed, so an implementation
// may treat a missing hash as an internal error. Implementations are usually
// bound to one tenant and one transaction or snapshot (and its context), so
// that all hashes of one call come from the same state of the log.
type HashReader interface {
	ReadHashes(indexes []int64) ([]Hash, error)
}

// HashReaderFunc is a function that implements HashReader.
type HashReaderFunc func(indexes []int64) ([]Hash, error)

// ReadHashes returns f(indexes).
func (f HashReaderFunc) ReadHashes(indexes []int64) ([]Hash, error) { return f(indexes) }

// StoredHashIndex returns the position in a log's stored hash sequence of the
// hash of the complete subtree at (level, n): leaves [n·2^level, (n+1)·2^level).
func StoredHashIndex(level int, n int64) int64 { return tlog.StoredHashIndex(level, n) }

// SplitStoredHashIndex is the inverse of StoredHashIndex.
func SplitStoredHashIndex(index int64) (level int, n int64) {
	return tlog.SplitStoredHashIndex(index)
}

// StoredHashCount returns the number of stored hashes of a log of n leaves.
func StoredHashCount(n int64) int64 { return tlog.StoredHashCount(n) }

// StoredHashes returns the hashes to store when appending leaf n (0-based)
// with the given leaf hash to a log of n leaves: leafHash itself, then the
// hash of each complete subtree that leaf n completes, lowest first. They
// belong at positions StoredHashIndex(0, n) onwards, one after the other.
// StoredHashes reads at most log₂(n) earlier hashes from r, in one call.
func StoredHashes(n int64, leafHash Hash, r HashReader) ([]Hash, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: leaf %d", ErrOutOfRange, n)
	}
	return tlog.StoredHashesForRecordHash(n, leafHash, r)
}

// TreeHash returns the root hash of the log's first n leaves (EmptyRoot for
// n == 0), reading at most 1 + log₂(n) hashes from r in one call.
func TreeHash(n int64, r HashReader) (Hash, error) {
	if n < 0 {
		return Hash{}, fmt.Errorf("%w: tree size %d", ErrOutOfRange, n)
	}
	return tlog.TreeHash(n, r)
}

// ProveRecord returns the inclusion proof that the tree of size t contains
// leaf n, 0 <= n < t: the RFC 9162 audit path, from the leaf up.
func ProveRecord(t, n int64, r HashReader) ([]Hash, error) {
	if n < 0 || n >= t {
		return nil, fmt.Errorf("%w: leaf %d in a tree of size %d", ErrOutOfRange, n, t)
	}
	p, err := tlog.ProveRecord(t, n, r)
	return []Hash(p), err
}

// CheckRecord reports whether p proves that the tree of size t with root
// hash th holds the leaf hash h at index n. It returns nil, ErrOutOfRange or
// ErrInvalidProof.
func CheckRecord(p []Hash, t int64, th Hash, n int64, h Hash) error {
	if n < 0 || n >= t {
		return fmt.Errorf("%w: leaf %d in a tree of size %d", ErrOutOfRange, n, t)
	}
	if tlog.CheckRecord(tlog.RecordProof(p), t, th, n, h) != nil {
		return ErrInvalidProof
	}
	return nil
}

// ProveTree returns the consistency proof that the tree of size t contains
// the tree of size n as a prefix, 1 <= n <= t (RFC 9162 §2.1.4 defines no
// proof from the empty tree). The proof is empty when n == t.
func ProveTree(t, n int64, r HashReader) ([]Hash, error) {
	if n < 1 || n > t {
		return nil, fmt.Errorf("%w: from tree size %d to %d", ErrOutOfRange, n, t)
	}
	p, err := tlog.ProveTree(t, n, r)
	return []Hash(p), err
}

// CheckTree reports whether p proves that the tree of size t with root hash
// th contains as a prefix the tree of size n with root hash h, 1 <= n <= t.
// It returns nil, ErrOutOfRange or ErrInvalidProof.
func CheckTree(p []Hash, t int64, th Hash, n int64, h Hash) error {
	if n < 1 || n > t {
		return fmt.Errorf("%w: from tree size %d to %d", ErrOutOfRange, n, t)
	}
	if tlog.CheckTree(tlog.TreeProof(p), t, th, n, h) != nil {
		return ErrInvalidProof
	}
	return nil
}

// VerifyInclusion reports whether proof shows that the tree of the given size
// and root hash holds leafHash at index, 0 <= index < size. Hashes arrive as
// byte slices, as decoded from the wire; any of the wrong length fails.
// It returns nil, ErrOutOfRange or ErrInvalidProof.
func VerifyInclusion(index, size int64, leafHash []byte, proof [][]byte, root []byte) error {
	if index < 0 || index >= size {
		return fmt.Errorf("%w: leaf %d in a tree of size %d", ErrOutOfRange, index, size)
	}
	h, err1 := HashFromBytes(leafHash)
	th, err2 := HashFromBytes(root)
	p, err3 := hashes(proof)
	if err1 != nil || err2 != nil || err3 != nil {
		return ErrInvalidProof
	}
	return CheckRecord(p, size, th, index, h)
}

// VerifyConsistency reports whether proof shows that the tree of size2 with
// root2 contains as a prefix the tree of size1 with root1, 1 <= size1 <= size2.
// When size1 == size2 the proof must be empty and the roots equal byte for
// byte. Otherwise hashes of the wrong length fail. It returns nil,
// ErrOutOfRange or ErrInvalidProof.
func VerifyConsistency(size1, size2 int64, proof [][]byte, root1, root2 []byte) error {
	if size1 < 1 || size1 > size2 {
		return fmt.Errorf("%w: from tree size %d to %d", ErrOutOfRange, size1, size2)
	}
	if size1 == size2 {
		if len(proof) != 0 || string(root1) != string(root2) {
			return ErrInvalidProof
		}
		return nil
	}
	h1, err1 := HashFromBytes(root1)
	h2, err2 := HashFromBytes(root2)
	p, err3 := hashes(proof)
	if err1 != nil || err2 != nil || err3 != nil {
		return ErrInvalidProof
	}
	return CheckTree(p, size2, h2, size1, h1)
}

func hashes(bs [][]byte) ([]Hash, error) {
	hs := make([]Hash, len(bs))
	for i, b := range bs {
		h, err := HashFromBytes(b)
		if err != nil {
			return nil, err
		}
		hs[i] = h
	}
	return hs, nil
}
