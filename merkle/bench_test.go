package merkle_test

import (
	"encoding/binary"
	"testing"

	"github.com/hashtrail/hashtrail/merkle"
)

func benchTree(b *testing.B, n int) *merkle.Tree {
	b.Helper()
	var tr merkle.Tree
	for i := range n {
		tr.Append(merkle.LeafHash(binary.BigEndian.AppendUint64(nil, uint64(i))))
	}
	return &tr
}

// BenchmarkLeafHash hashes a typical 1 KiB leaf.
func BenchmarkLeafHash(b *testing.B) {
	leaf := make([]byte, 1024)
	b.SetBytes(int64(len(leaf)))
	for b.Loop() {
		merkle.LeafHash(leaf)
	}
}

// BenchmarkAppend measures the hashing of appending one leaf: StoredHashes
// reading earlier hashes from memory, about two hashes per leaf.
func BenchmarkAppend(b *testing.B) {
	var tr merkle.Tree
	h := merkle.LeafHash([]byte("leaf"))
	for b.Loop() {
		tr.Append(h)
	}
}

// BenchmarkTreeHash measures computing the root of a million-leaf log.
func BenchmarkTreeHash(b *testing.B) {
	tr := benchTree(b, 1_000_003)
	for b.Loop() {
		if _, err := merkle.TreeHash(tr.Size(), tr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProveRecord measures inclusion proofs in a million-leaf log.
func BenchmarkProveRecord(b *testing.B) {
	tr := benchTree(b, 1_000_003)
	n := tr.Size()
	i := int64(0)
	for b.Loop() {
		if _, err := merkle.ProveRecord(n, i%n, tr); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

// BenchmarkProveTree measures consistency proofs in a million-leaf log.
func BenchmarkProveTree(b *testing.B) {
	tr := benchTree(b, 1_000_003)
	n := tr.Size()
	i := int64(0)
	for b.Loop() {
		if _, err := merkle.ProveTree(n, 1+i%n, tr); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

// BenchmarkCheckRecord measures verifying an inclusion proof.
func BenchmarkCheckRecord(b *testing.B) {
	tr := benchTree(b, 1_000_003)
	n, root := tr.Size(), tr.Root()
	p, err := merkle.ProveRecord(n, 12345, tr)
	if err != nil {
		b.Fatal(err)
	}
	leaf, _ := tr.LeafHash(12345)
	for b.Loop() {
		if err := merkle.CheckRecord(p, n, root, 12345, leaf); err != nil {
			b.Fatal(err)
		}
	}
}
