package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// BenchmarkVerifyData measures `hashtrail verify --data` on a real SQLite
// data directory of 50,000 realistic events (about 600 bytes of JSON each,
// with personal data in two roles) and a checkpoint every 5,000, against
// the machine's SHA-256 rate over the same leaf bytes measured in the same
// run (issue 3's goal: at least 0.3×). It reports events/s, leaf MB/s,
// sha256-MB/s (one core) and x-sha256; "read-events/s" is the rate of
// reading the events alone, the floor under any verification of stored
// events.
func BenchmarkVerifyData(b *testing.B) {
	const n, every = 50000, 5000
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "hashtrail.db")
	st, err := sqlite.Open(ctx, path, sqlite.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	const server, tenant = "bench.example", "acme"
	for i := 0; i < n; i += 1000 {
		g := &hashtrail.AppendGroup{CreateTenants: true}
		for j := i; j < i+1000; j++ {
			e := benchVerifyEvent(tenant, j)
			g.Entries = append(g.Entries, &hashtrail.Entry{Event: e, ContentHash: []byte(e.ID)})
		}
		if err := st.Append(ctx, []*hashtrail.AppendGroup{g}); err != nil || g.Err != nil {
			b.Fatal(err, g.Err)
		}
		if size := int64(i + 1000); size%every == 0 {
			root, err := merkle.TreeHash(size, merkle.HashReaderFunc(func(idx []int64) ([]merkle.Hash, error) {
				return st.ReadHashes(ctx, tenant, idx)
			}))
			if err != nil {
				b.Fatal(err)
			}
			note, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: checkpoint.Origin(server, tenant), Size: size, Root: root}, key)
			if err != nil {
				b.Fatal(err)
			}
			if err := st.AddCheckpoint(ctx, &hashtrail.SignedCheckpoint{Tenant: tenant, Size: size, Root: root, Note: note, CreatedAt: hashtrail.NewTime(time.Now())}); err != nil {
				b.Fatal(err)
			}
		}
	}
	src := &storeSource{st: st, ls: st, tenant: tenant}

	// The leaves, for SHA-256's rate over the same bytes, and the rate of
	// reading the events alone.
	var leaves [][]byte
	var size int64
	readStart := time.Now()
	err = src.Entries(ctx, n, func(e *client.Entry) error {
		leaf, _, err := hashtrail.RebuildLeaf(e.Event, e.Event.PII, nil)
		leaves = append(leaves, leaf)
		size += int64(len(leaf))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	readRebuild := time.Since(readStart)
	readStart = time.Now()
	if err := src.Entries(ctx, n, func(*client.Entry) error { return nil }); err != nil {
		b.Fatal(err)
	}
	readOnly := time.Since(readStart)
	var hashed int64
	shaStart := time.Now()
	for time.Since(shaStart) < 300*time.Millisecond {
		for _, l := range leaves {
			sha256.Sum256(l)
			hashed += int64(len(l))
		}
	}
	sha := float64(hashed) / time.Since(shaStart).Seconds()

	tuneGC()
	defer debug.SetGCPercent(100)
	v := &client.Verifier{ServerName: server, Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		rep, err := v.Verify(ctx, src)
		if err != nil || !rep.OK() || rep.Entries != n {
			b.Fatal(err, rep.Summary())
		}
	}
	elapsed := time.Since(start)
	rate := float64(size) * float64(b.N) / elapsed.Seconds()
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(rate/1e6, "MB/s")
	b.ReportMetric(sha/1e6, "sha256-MB/s")
	b.ReportMetric(rate/sha, "x-sha256")
	b.ReportMetric(float64(n)/readOnly.Seconds(), "read-events/s")
	b.ReportMetric(float64(n)/readRebuild.Seconds(), "read+rebuild-1cpu-events/s")
	b.ReportMetric(float64(size)/n, "leaf-bytes")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cpus")
}

// benchVerifyEvent is a realistic event: a user adds a member to a project,
// with personal data in the actor's and a user target's roles.
func benchVerifyEvent(tenant string, n int) *hashtrail.Event {
	mfa := true
	now := hashtrail.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond))
	return &hashtrail.Event{
		ID: fmt.Sprintf("01J%013d%010X", n, n*7919), Time: now, Action: "project.member_add",
		Category: hashtrail.CategoryAccess, Severity: hashtrail.SeverityLow, Outcome: hashtrail.OutcomeSuccess,
		Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(n % 5000), Name: "Alice Example",
			Email: fmt.Sprintf("user%d@example.com", n%5000), Auth: &hashtrail.Auth{Method: "password+totp", MFA: &mfa}},
		Targets: []hashtrail.Target{{Type: "project", ID: fmt.Sprint(n % 300), Name: "Website"},
			{Type: "user", ID: fmt.Sprint(n * 31 % 100000), Name: "Bob Example"}},
		Context: &hashtrail.Context{IP: fmt.Sprintf("203.0.%d.%d", n%256, (n/256)%256),
			UserAgent: "Mozilla/5.0 (Macintosh) Safari/605.1.15", RequestID: fmt.Sprintf("req_%012d", n), Source: "web"},
		Metadata: json.RawMessage(`{"plan":"enterprise","seats":41}`),
		Tenant:   tenant, ReceivedAt: now, KeyID: "key_ingest01",
	}
}
