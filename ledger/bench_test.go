package ledger_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
)

// BenchmarkIngest measures the engine and the SQLite store together, without
// HTTP: parallel requests of 100 realistic events each, decoded as the API
// would, sharing group commits.
func BenchmarkIngest(b *testing.B) {
	l, _ := MustOpen(b, ledger.Config{AutoCreateTenants: true})
	ctx := as(b.Context(), hashtrail.AllTenants, hashtrail.RoleIngest)
	raw := `{"id":"%s","action":"user.login","actor":{"type":"user","id":"4711","name":"Alice Example","email":"alice@example.com","auth":{"method":"password+totp","mfa":true}},` +
		`"targets":[{"type":"project","id":"7","name":"Payments API"}],"context":{"ip":"203.0.113.7","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",` +
		`"request_id":"req-0123456789abcdef","session_id":"sess-01234567","method":"POST","path":"/api/v1/projects/settings","source":"web","location":{"country":"DE","city":"Berlin"}},` +
		`"service":{"name":"console","version":"4.2.1","environment":"production","host":"web-3"},"metadata":{"plan":"enterprise","attempt":1},"tags":["web","eu-central-1"]}`
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	var n int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := &hashtrail.IngestRequest{Tenant: "bench"}
			for i := range 100 {
				sub, errs := hashtrail.DecodeEvent(json.RawMessage(fmt.Sprintf(raw, hashtrail.NewEventID())), "", hashtrail.DecodeOptions{PathTenant: "bench"}, hashtrail.NewTime(time.Now()))
				if errs != nil {
					b.Fatal(errs)
				}
				sub.Index = i
				req.Submissions = append(req.Submissions, sub)
			}
			if _, err := l.Ingest(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	n = int64(b.N) * 100
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkInclusionProofInMemory10M measures making an inclusion proof in
// a tree of 10 million leaves held in memory (merkle.Tree as the hash
// reader): the proof's own cost, without a store. It reports the p50 and
// p99 of single proofs at random leaves.
func BenchmarkInclusionProofInMemory10M(b *testing.B) {
	const n = 10_000_000
	var tree merkle.Tree
	var leaf [8]byte
	for i := range int64(n) {
		binary.BigEndian.PutUint64(leaf[:], uint64(i))
		tree.AppendLeaf(leaf[:])
	}
	r := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		seq := r.Int64N(n)
		start := time.Now()
		if _, err := merkle.ProveRecord(n, seq, &tree); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

// BenchmarkInclusionProofSQLite measures Ledger.InclusionProof end to end
// below HTTP (authorization, the latest checkpoint, and about log₂(n) stored
// hashes read from SQLite) in a log of 100,000 events, or as many as
// $HASHTRAIL_BENCH_PROOF_EVENTS says (they are ingested first, at the
// engine's ingest rate).
func BenchmarkInclusionProofSQLite(b *testing.B) {
	n := int64(100_000)
	if v, err := strconv.ParseInt(os.Getenv("HASHTRAIL_BENCH_PROOF_EVENTS"), 10, 64); err == nil && v >= 1000 {
		n = v / 1000 * 1000
	}
	l, st := MustOpenLog(b, ledger.Config{AutoCreateTenants: true, CheckpointInterval: 10 * time.Millisecond})
	ctx := as(b.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	for i := 0; i < int(n); i += 1000 {
		events(b, ctx, l, "acme", i, 1000)
	}
	waitCheckpoint(b, st, "acme", n)
	time.Sleep(3 * time.Second) // let the store's background WAL checkpoint settle
	r := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		seq := r.Int64N(n)
		start := time.Now()
		if _, err := l.InclusionProof(ctx, "acme", seq, 0); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

// BenchmarkCheckpointSign measures the parts of one checkpoint: signing the
// note (Ed25519, verified before use), the root hash of a log of 100,000
// events from its stored hashes in SQLite, and keeping the checkpoint (one
// durable SQLite transaction).
func BenchmarkCheckpointSign(b *testing.B) {
	const n = 100_000
	key := testKey("bench")
	root := merkle.EmptyRoot
	l, st := MustOpenLog(b, ledger.Config{AutoCreateTenants: true, CheckpointInterval: time.Hour})
	ctx := as(b.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	for i := 0; i < n; i += 1000 {
		events(b, ctx, l, "acme", i, 1000)
	}
	time.Sleep(3 * time.Second) // let the store's background WAL checkpoint settle
	b.Run("sign", func(b *testing.B) {
		for b.Loop() {
			if _, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: testServerName + "/acme", Size: 12345678, Root: root}, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("root-100k-sqlite", func(b *testing.B) {
		for b.Loop() {
			if _, err := merkle.TreeHash(n, merkle.HashReaderFunc(func(ix []int64) ([]merkle.Hash, error) {
				return st.ReadHashes(b.Context(), "acme", ix)
			})); err != nil {
				b.Fatal(err)
			}
		}
	})
	note, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: testServerName + "/acme", Size: 1, Root: root}, key)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("keep-sqlite", func(b *testing.B) {
		size := int64(0)
		for b.Loop() {
			size = size%(n-1) + 1
			if err := st.AddCheckpoint(b.Context(), &hashtrail.SignedCheckpoint{Tenant: "acme", Size: size, Root: root, Note: note}); err != nil && hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
				b.Fatal(err)
			}
		}
	})
}

// reportPercentiles reports the p50 and p99 of lat in microseconds.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
