package client_test

import (
	"context"
	"crypto/sha256"
	"runtime"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// The verification benchmarks compare verifying a log with the machine's
// SHA-256 rate over the same leaf bytes, measured in the same run (issue 3
// asks for at least 0.3×). They report:
//
//	events/s     entries verified per second
//	MB/s         leaf bytes verified per second
//	x-sha256     that rate divided by SHA-256's over the same leaves (one core)
//
// BenchmarkVerifyTree is the Merkle part alone: hash every leaf, recompute
// the tree, compare every checkpoint root. BenchmarkVerifyEvents is the
// whole offline verification of events already in memory: rebuild each
// leaf from its event (personal values checked against their commitments,
// RFC 8785), then the tree. cmd/hashtrail's BenchmarkVerifyData adds
// reading a real SQLite data directory.

// benchLog returns a log of n realistic events with checkpoints every 1000.
func benchLog(b *testing.B, n int) *memLog {
	l := newLog(b)
	for i := range n {
		l.add(nil)
		if (i+1)%1000 == 0 || i == n-1 {
			l.sign()
		}
	}
	return l
}

// leaves returns the leaves of l.
func leaves(b *testing.B, l *memLog) [][]byte {
	out := make([][]byte, len(l.events))
	for i, e := range l.events {
		leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, nil)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = leaf
	}
	return out
}

// shaRate returns SHA-256's throughput in bytes per second over leaves, on
// one core, measured for at least 200ms.
func shaRate(leaves [][]byte) float64 {
	var total int64
	start := time.Now()
	for time.Since(start) < 200*time.Millisecond {
		for _, leaf := range leaves {
			sha256.Sum256(leaf)
			total += int64(len(leaf))
		}
	}
	return float64(total) / time.Since(start).Seconds()
}

func report(b *testing.B, events int, leafBytes int64, elapsed time.Duration, sha float64) {
	rate := float64(leafBytes) * float64(b.N) / elapsed.Seconds()
	b.ReportMetric(float64(events)*float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(rate/1e6, "MB/s")
	b.ReportMetric(sha/1e6, "sha256-MB/s")
	b.ReportMetric(rate/sha, "x-sha256")
	b.ReportMetric(float64(leafBytes)/float64(events), "leaf-bytes")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cpus")
}

func BenchmarkVerifyTree(b *testing.B) {
	const n = 100000
	l := benchLog(b, n)
	ls := leaves(b, l)
	var size int64
	for _, leaf := range ls {
		size += int64(len(leaf))
	}
	roots := map[int64]merkle.Hash{}
	for s := int64(1000); s <= n; s += 1000 {
		roots[s], _ = merkle.TreeHash(s, &l.tree)
	}
	sha := shaRate(ls)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		var t merkle.Tree
		for i, leaf := range ls {
			t.AppendLeaf(leaf)
			if want, ok := roots[int64(i+1)]; ok && t.Root() != want {
				b.Fatal("root differs")
			}
		}
	}
	report(b, n, size, time.Since(start), sha)
}

func BenchmarkVerifyEvents(b *testing.B) {
	const n = 20000
	l := benchLog(b, n)
	ls := leaves(b, l)
	var size int64
	for _, leaf := range ls {
		size += int64(len(leaf))
	}
	sha := shaRate(ls)
	src := dataDir(l)
	v := verifier()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		rep, err := v.Verify(context.Background(), src)
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Summary())
		}
	}
	report(b, n, size, time.Since(start), sha)
}

func BenchmarkRebuildLeaf(b *testing.B) {
	l := benchLog(b, 100)
	e := l.events[50]
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := hashtrail.RebuildLeaf(e, e.PII, nil); err != nil {
			b.Fatal(err)
		}
	}
}
