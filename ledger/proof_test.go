package ledger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// provedLog is a ledger whose tenant acme holds n events, all covered by a
// checkpoint, with the events' leaf hashes from their ingest receipts.
func provedLog(t *testing.T, n int) (*ledger.Ledger, *sqlite.Store, []hashtrail.Receipt, *hashtrail.SignedCheckpoint) {
	t.Helper()
	l, st := MustOpenLog(t, ledger.Config{AutoCreateTenants: true, CheckpointInterval: 5 * time.Millisecond})
	ctx := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	var rs []hashtrail.Receipt
	for i := 0; i < n; i += 100 {
		rs = append(rs, events(t, ctx, l, "acme", i, min(100, n-i))...)
	}
	return l, st, rs, waitCheckpoint(t, st, "acme", int64(n))
}

func leafHash(t testing.TB, r hashtrail.Receipt) []byte {
	b, err := hex.DecodeString(r.LeafHash)
	if err != nil || len(b) != 32 {
		t.Fatalf("leaf hash %q", r.LeafHash)
	}
	return b
}

// TestProofsVerifyIndependently checks inclusion and consistency proofs with
// transparency-dev/merkle, an RFC 6962 implementation Hashtrail does not use
// to make them.
func TestProofsVerifyIndependently(t *testing.T) {
	const n = 300
	l, st, rs, _ := provedLog(t, n)
	ctx := as(t.Context(), "acme", hashtrail.RoleRead)
	all, err := st.Checkpoints(t.Context(), "acme")
	if err != nil || len(all) == 0 {
		t.Fatal(all, err)
	}
	roots := map[int64][]byte{}
	for _, cp := range all {
		roots[cp.Size] = append([]byte(nil), cp.Root[:]...)
	}
	h := rfc6962.DefaultHasher
	for size, root := range roots {
		if size == 0 {
			continue
		}
		for _, seq := range []int64{0, size / 3, size / 2, size - 1} {
			p, err := l.InclusionProof(ctx, "acme", seq, size)
			if err != nil {
				t.Fatal(err)
			}
			if p.LeafIndex != seq || p.TreeSize != size {
				t.Fatalf("proof of %d in %d says %d in %d", seq, size, p.LeafIndex, p.TreeSize)
			}
			if err := proof.VerifyInclusion(h, uint64(seq), uint64(size), leafHash(t, rs[seq]), p.Hashes, root); err != nil {
				t.Errorf("inclusion of %d in %d: %v", seq, size, err)
			}
		}
		for from, root1 := range roots {
			if from == 0 || from > size {
				continue
			}
			p, err := l.ConsistencyProof(ctx, "acme", from, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(h, uint64(from), uint64(size), p.Hashes, root1, root); err != nil {
				t.Errorf("consistency %d -> %d: %v", from, size, err)
			}
		}
	}
	// Defaults: the latest checkpoint's size.
	p, err := l.InclusionProof(ctx, "acme", 7, 0)
	if err != nil || p.TreeSize != n {
		t.Errorf("default size: %+v, %v", p, err)
	}
	c, err := l.ConsistencyProof(ctx, "acme", 1, 0)
	if err != nil || c.To != n {
		t.Errorf("default to: %+v, %v", c, err)
	}
}

func TestProofErrors(t *testing.T) {
	l, _, _, _ := provedLog(t, 10)
	read := as(t.Context(), "acme", hashtrail.RoleRead)
	for _, tc := range []struct {
		name      string
		err       error
		code      string
		field     string
		errorText string
	}{
		{"seq past size", second(l.InclusionProof(read, "acme", 5, 5)), hashtrail.EINVALID, "seq", ""},
		{"negative seq", second(l.InclusionProof(read, "acme", -1, 5)), hashtrail.EINVALID, "seq", ""},
		{"size past checkpoint", second(l.InclusionProof(read, "acme", 0, 11)), hashtrail.EINVALID, "size", "10"},
		{"from 0", second(l.ConsistencyProof(read, "acme", 0, 5)), hashtrail.EINVALID, "from", ""},
		{"from past to", second(l.ConsistencyProof(read, "acme", 6, 5)), hashtrail.EINVALID, "from", ""},
		{"to past checkpoint", second(l.ConsistencyProof(read, "acme", 1, 11)), hashtrail.EINVALID, "to", ""},
		{"unknown tenant", second(l.InclusionProof(as(t.Context(), hashtrail.AllTenants, hashtrail.RoleRead), "nope", 0, 1)), hashtrail.ENOTFOUND, "", ""},
		{"other tenant", second(l.Checkpoint(as(t.Context(), "globex", hashtrail.RoleAdmin), "acme")), hashtrail.ENOTFOUND, "", ""},
		{"ingest key", second(l.InclusionProof(as(t.Context(), "acme", hashtrail.RoleIngest), "acme", 0, 1)), hashtrail.EFORBIDDEN, "", ""},
		{"bad tile path", second(l.Tile(read, "acme", "0/1234")), hashtrail.EINVALID, "path", ""},
		{"entry bundle", second(l.Tile(read, "acme", "entries/000")), hashtrail.ENOTFOUND, "", ""},
		{"tile past checkpoint", second(l.Tile(read, "acme", "0/000.p/11")), hashtrail.ENOTFOUND, "", ""},
		{"full tile past checkpoint", second(l.Tile(read, "acme", "0/000")), hashtrail.ENOTFOUND, "", ""},
		{"level past checkpoint", second(l.Tile(read, "acme", "1/000.p/1")), hashtrail.ENOTFOUND, "", ""},
		{"huge level", second(l.Tile(read, "acme", "9/000.p/1")), hashtrail.ENOTFOUND, "", ""},
		{"unknown event", second(l.EventProof(read, "acme", "nope", 0)), hashtrail.ENOTFOUND, "", ""},
	} {
		if got := hashtrail.ErrorCode(tc.err); got != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.code)
			continue
		}
		var herr *hashtrail.Error
		if tc.field != "" {
			if !asError(tc.err, &herr) || len(herr.Fields) == 0 || herr.Fields[0].Field != tc.field || !strings.Contains(herr.Fields[0].Message, tc.errorText) {
				t.Errorf("%s: %v, want field %s", tc.name, tc.err, tc.field)
			}
		}
	}
	// Log keys need no credentials.
	if keys, err := l.LogKeys(t.Context()); err != nil || len(keys.All) != 1 {
		t.Errorf("LogKeys: %+v, %v", keys, err)
	}
}

func second[T any](_ T, err error) error { return err }

func asError(err error, target **hashtrail.Error) bool {
	e, ok := err.(*hashtrail.Error)
	*target = e
	return ok
}

// TestEventProofAndReceipt checks ?proof=true's parts and the receipt with
// filippo.io/torchwood's C2SP tlog-proof verifier.
func TestEventProofAndReceipt(t *testing.T) {
	l, _, rs, cp := provedLog(t, 37)
	ctx := as(t.Context(), "acme", hashtrail.RoleRead)
	policy := tenantPolicy(t, "acme", testKey("a"))
	for _, r := range []hashtrail.Receipt{rs[0], rs[17], rs[36]} {
		ep, err := l.EventProof(ctx, "acme", r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ep.Event.Seq != r.Seq || ep.Proof.LeafIndex != r.Seq || ep.Proof.TreeSize != cp.Size || ep.Checkpoint != string(cp.Note) {
			t.Fatalf("proof of %d: %+v", r.Seq, ep.Proof)
		}
		if got := hex.EncodeToString(leafHashOf(ep.Leaf)); got != r.LeafHash {
			t.Fatalf("the leaf hashes to %s, the ingest receipt said %s", got, r.LeafHash)
		}
		// The leaf is what a verifier rebuilds from the event answer.
		leaf, _, err := hashtrail.RebuildLeaf(ep.Event, ep.Event.PII, nil)
		if err != nil || !bytes.Equal(leaf, ep.Leaf) {
			t.Fatalf("rebuilt leaf differs: %v", err)
		}
		receipt, err := l.Receipt(ctx, "acme", r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var rh tlog.Hash
		copy(rh[:], leafHash(t, r))
		if err := torchwood.VerifyProof(policy, rh, receipt); err != nil {
			t.Fatalf("torchwood rejects the receipt of %d: %v\n%s", r.Seq, err, receipt)
		}
		extra, err := torchwood.ProofExtraData(receipt)
		if err != nil || !bytes.Equal(extra, ep.Leaf) {
			t.Errorf("the receipt's extra data is not the leaf: %v", err)
		}
		// Another record hash, or another key, fails.
		rh[0] ^= 1
		if err := torchwood.VerifyProof(policy, rh, receipt); err == nil {
			t.Error("torchwood accepts the receipt for another leaf")
		}
		rh[0] ^= 1
		if err := torchwood.VerifyProof(tenantPolicy(t, "acme", testKey("b")), rh, receipt); err == nil {
			t.Error("torchwood accepts the receipt with another key")
		}
	}
}

// tenantPolicy is torchwood's policy for a tenant's checkpoints signed by key.
func tenantPolicy(t testing.TB, tenant string, key ed25519.PrivateKey) torchwood.Policy {
	t.Helper()
	origin := testServerName + "/" + tenant
	vkey, err := note.NewEd25519VerifierKey(origin, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return torchwood.ThresholdPolicy(2, torchwood.OriginPolicy(origin), torchwood.SingleVerifierPolicy(v))
}

func leafHashOf(leaf []byte) []byte {
	h := merkle.LeafHash(leaf)
	return h[:]
}

func TestEventProofWaits(t *testing.T) {
	l, st := MustOpenLog(t, ledger.Config{AutoCreateTenants: true, CheckpointInterval: 300 * time.Millisecond})
	ctx := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	events(t, ctx, l, "acme", 0, 1)
	waitCheckpoint(t, st, "acme", 1)
	// The signer now sleeps for its interval: the next event waits for it.
	events(t, ctx, l, "acme", 1, 1)
	if _, err := l.EventProof(ctx, "acme", "e1", 0); hashtrail.ErrorCode(err) != hashtrail.EUNAVAILABLE {
		t.Fatalf("without wait: %v, want unavailable", err)
	}
	start := time.Now()
	ep, err := l.EventProof(ctx, "acme", "e1", 5*time.Second)
	if err != nil || ep.Proof.TreeSize < 2 {
		t.Fatalf("with wait: %+v, %v", ep, err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("waited %v", d)
	}
}

// TestTilesServeTheTree reads the log through its C2SP tlog-tiles hash
// tiles, as tile clients do with golang.org/x/mod/sumdb/tlog, and checks
// the checkpoint's root, inclusion and consistency against them.
func TestTilesServeTheTree(t *testing.T) {
	const n = 256*3 + 17
	l, _, rs, cp := provedLog(t, n)
	ctx := as(t.Context(), "acme", hashtrail.RoleRead)
	reader := &tileReader{ctx: ctx, l: l, tenant: "acme"}
	tree := tlog.Tree{N: cp.Size, Hash: cp.Root}
	hr := tlog.TileHashReader(tree, reader)
	root, err := tlog.TreeHash(cp.Size, hr)
	if err != nil || root != cp.Root {
		t.Fatalf("root through tiles %v, %v; checkpoint %v", root, err, cp.Root)
	}
	for _, seq := range []int64{0, 255, 256, 600, n - 1} {
		p, err := tlog.ProveRecord(cp.Size, seq, hr)
		if err != nil {
			t.Fatal(err)
		}
		var h tlog.Hash
		copy(h[:], leafHash(t, rs[seq]))
		if err := tlog.CheckRecord(p, cp.Size, cp.Root, seq, h); err != nil {
			t.Errorf("inclusion of %d through tiles: %v", seq, err)
		}
	}
	if reader.partial == 0 || reader.full == 0 {
		t.Errorf("read %d full and %d partial tiles", reader.full, reader.partial)
	}
	// A full tile is 256 hashes; level-1 tiles hold subtree hashes.
	full, err := l.Tile(ctx, "acme", "0/001")
	if err != nil || len(full) != 256*32 || !bytes.Equal(full[:32], leafHash(t, rs[256])) {
		t.Fatalf("tile 0/001: %d bytes, %v", len(full), err)
	}
	if _, err := l.Tile(ctx, "acme", "1/000.p/3"); err != nil {
		t.Errorf("level 1 partial tile: %v", err)
	}
}

// tileReader is a tlog.TileReader over Ledger.Tile.
type tileReader struct {
	ctx           context.Context
	l             *ledger.Ledger
	tenant        string
	full, partial int
}

func (r *tileReader) Height() int { return ledger.TileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		path := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", ledger.TileHeight))
		data, err := r.l.Tile(r.ctx, r.tenant, path)
		if err != nil {
			return nil, fmt.Errorf("tile %s: %w", path, err)
		}
		if t.W == 1<<ledger.TileHeight {
			r.full++
		} else {
			r.partial++
		}
		out[i] = data
	}
	return out, nil
}

func (r *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}
