package ledger_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"golang.org/x/mod/sumdb/note"
)

// testKey returns a fixed Ed25519 signing key for a name.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("hashtrail test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

const testServerName = "audit.example.test"

// openStore opens a SQLite store at path, closed by the caller.
func openStore(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// MustOpenLog returns a signing ledger over a fresh store, closed with the
// test, and the store.
func MustOpenLog(tb testing.TB, cfg ledger.Config) (*ledger.Ledger, *sqlite.Store) {
	tb.Helper()
	st := openStore(tb, filepath.Join(tb.TempDir(), "hashtrail.db"))
	if cfg.Signer == nil {
		cfg.Signer = testKey("a")
	}
	if cfg.ServerName == "" {
		cfg.ServerName = testServerName
	}
	if _, err := ledger.SetupLog(context.Background(), st, ledger.LogSetup{ServerName: cfg.ServerName, Signer: cfg.Signer, RotateFrom: cfg.RotateFrom}); err != nil {
		tb.Fatal(err)
	}
	l := ledger.New(st, cfg)
	tb.Cleanup(func() {
		l.Close(context.Background())
		st.Close()
	})
	return l, st
}

// events ingests n login events into tenant and returns their receipts.
func events(tb testing.TB, ctx context.Context, l *ledger.Ledger, tenant string, from, n int) []hashtrail.Receipt {
	tb.Helper()
	raws := make([]string, n)
	for i := range n {
		raws[i] = fmt.Sprintf(`{"id":"e%d","action":"user.login","actor":{"type":"user","id":"%d","email":"u%d@example.com"},"context":{"ip":"203.0.113.%d"}}`, from+i, i, i, i%250)
	}
	rs, err := ingest(tb, ctx, l, tenant, raws...)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// waitCheckpoint waits until tenant's latest checkpoint has at least size leaves.
func waitCheckpoint(tb testing.TB, st hashtrail.LogStore, tenant string, size int64) *hashtrail.SignedCheckpoint {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := st.LatestCheckpoint(context.Background(), tenant)
		if err == nil && cp.Size >= size {
			return cp
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no checkpoint of %s with size %d: %v, %v", tenant, size, cp, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openNote verifies a signed checkpoint with golang.org/x/mod/sumdb/note
// alone and returns the names of the keys that signed it.
func openNote(tb testing.TB, msg []byte, tenant string, keys ...ed25519.PrivateKey) (*note.Note, []uint32) {
	tb.Helper()
	origin := testServerName + "/" + tenant
	var vs []note.Verifier
	for _, k := range keys {
		vkey, err := note.NewEd25519VerifierKey(origin, k.Public().(ed25519.PublicKey))
		if err != nil {
			tb.Fatal(err)
		}
		v, err := note.NewVerifier(vkey)
		if err != nil {
			tb.Fatal(err)
		}
		vs = append(vs, v)
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		tb.Fatalf("note.Open: %v\n%s", err, msg)
	}
	var hashes []uint32
	for _, s := range n.Sigs {
		hashes = append(hashes, s.Hash)
	}
	return n, hashes
}

func TestSetupLog(t *testing.T) {
	ctx := t.Context()
	st := openStore(t, filepath.Join(t.TempDir(), "hashtrail.db"))
	defer st.Close()
	a, b, c := testKey("a"), testKey("b"), testKey("c")

	id, err := ledger.SetupLog(ctx, st, ledger.LogSetup{Signer: a})
	if err != nil {
		t.Fatal(err)
	}
	if !ledger.ValidServerName(id.ServerName) || !strings.HasPrefix(id.ServerName, "hashtrail-") || !strings.HasSuffix(id.ServerName, ".local") {
		t.Errorf("default server name %q", id.ServerName)
	}
	if _, _, err := checkpoint.ParseVerifierKey(id.Current); err != nil || !id.Added || len(id.Keys) != 1 || id.Keys[0] != id.Current {
		t.Fatalf("identity %+v: %v", id, err)
	}
	name := id.ServerName

	// The same again: nothing changes.
	again, err := ledger.SetupLog(ctx, st, ledger.LogSetup{Signer: a, ServerName: name})
	if err != nil || again.Added || again.ServerName != name || len(again.Keys) != 1 {
		t.Fatalf("restart: %+v, %v", again, err)
	}
	// Another name: refused, naming both.
	_, err = ledger.SetupLog(ctx, st, ledger.LogSetup{Signer: a, ServerName: "other.example"})
	if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "other.example") {
		t.Errorf("changed server name: %v", err)
	}
	// An unknown key: refused.
	if _, err := ledger.SetupLog(ctx, st, ledger.LogSetup{Signer: b}); hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		t.Errorf("new key without rotation: %v", err)
	}
	// Rotating from a key the installation never used: refused.
	if _, err := ledger.SetupLog(ctx, st, ledger.LogSetup{Signer: b, RotateFrom: c}); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Errorf("rotation from an unknown key: %v", err)
	}
	// A rotation records the new key after the old one.
	rot, err := ledger.SetupLog(ctx, st, ledger.LogSetup{Signer: b, RotateFrom: a})
	if err != nil || !rot.Added || len(rot.Keys) != 2 || rot.Keys[0] != id.Current || rot.Keys[1] != rot.Current {
		t.Fatalf("rotation: %+v, %v", rot, err)
	}
	// A lost key: accepted only when said so.
	lost, err := ledger.SetupLog(ctx, st, ledger.LogSetup{Signer: c, AcceptNewKey: true})
	if err != nil || len(lost.Keys) != 3 {
		t.Fatalf("lost key: %+v, %v", lost, err)
	}
	keys, err := ledger.LogKeyList(ctx, st)
	if err != nil || strings.Join(keys, " ") != strings.Join(lost.Keys, " ") {
		t.Errorf("LogKeyList = %v, %v", keys, err)
	}
	for _, bad := range []string{"has space", "a+b", "/lead", "x/", strings.Repeat("a", 200)} {
		if ledger.ValidServerName(bad) {
			t.Errorf("ValidServerName(%q)", bad)
		}
	}
}

func TestSignerSignsGrowingLogs(t *testing.T) {
	l, st := MustOpenLog(t, ledger.Config{AutoCreateTenants: true, CheckpointInterval: 10 * time.Millisecond})
	ctx := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	var tree merkle.Tree
	for round := range 3 {
		for _, r := range events(t, ctx, l, "acme", round*10, 10) {
			h, err := merkle.ParseHash(hexToBase64(t, r.LeafHash))
			if err != nil {
				t.Fatal(err)
			}
			tree.Append(h)
		}
	}
	cp := waitCheckpoint(t, st, "acme", 30)
	if cp.Root != tree.Root() {
		t.Fatalf("checkpoint root %v, the receipts' leaf hashes make %v", cp.Root, tree.Root())
	}
	n, sigs := openNote(t, cp.Note, "acme", testKey("a"))
	if len(sigs) != 1 || n.Text != fmt.Sprintf("%s/acme\n30\n%s\n", testServerName, tree.Root()) {
		t.Errorf("note text %q, %d signatures", n.Text, len(sigs))
	}
	// An idle log gets no new checkpoints.
	all, err := st.Checkpoints(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	again, _ := st.Checkpoints(t.Context(), "acme")
	if len(again) != len(all) {
		t.Errorf("idle log: %d checkpoints, then %d", len(all), len(again))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Size <= all[i-1].Size {
			t.Errorf("checkpoints not growing: %d then %d", all[i-1].Size, all[i].Size)
		}
	}
	// A tenant created empty gets a checkpoint of size 0.
	if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: "empty"}); err != nil {
		t.Fatal(err)
	}
	if cp := waitCheckpoint(t, st, "empty", 0); cp.Size != 0 || cp.Root != merkle.EmptyRoot {
		t.Errorf("empty log checkpoint %+v", cp)
	}
}

func TestCloseSignsWhatWasCommitted(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "hashtrail.db"))
	defer st.Close()
	cfg := ledger.Config{AutoCreateTenants: true, Signer: testKey("a"), ServerName: testServerName, CheckpointInterval: time.Hour}
	l := ledger.New(st, cfg)
	ctx := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	events(t, ctx, l, "acme", 0, 5)
	waitCheckpoint(t, st, "acme", 5) // the first event after idle is signed at once
	events(t, ctx, l, "acme", 5, 7)  // these wait for the interval
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	cp, err := st.LatestCheckpoint(t.Context(), "acme")
	if err != nil || cp.Size != 12 {
		t.Fatalf("after Close: %+v, %v", cp, err)
	}
}

func TestKeyRotation(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "hashtrail.db"))
	defer st.Close()
	a, b := testKey("a"), testKey("b")
	ctx := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	// run runs a ledger with key (rotating from old) over the store, as one
	// start of the server.
	run := func(key, old ed25519.PrivateKey, fn func(l *ledger.Ledger, st *sqlite.Store)) {
		t.Helper()
		setup := ledger.LogSetup{ServerName: testServerName, Signer: key}
		cfg := ledger.Config{AutoCreateTenants: true, Signer: key, ServerName: testServerName, CheckpointInterval: 5 * time.Millisecond}
		if old != nil {
			setup.RotateFrom, cfg.RotateFrom = old, old
		}
		if _, err := ledger.SetupLog(t.Context(), st, setup); err != nil {
			t.Fatal(err)
		}
		l := ledger.New(st, cfg)
		defer l.Close(context.Background())
		fn(l, st)
	}
	run(a, nil, func(l *ledger.Ledger, st *sqlite.Store) {
		events(t, ctx, l, "acme", 0, 3)
		events(t, ctx, l, "idle", 0, 2)
		waitCheckpoint(t, st, "acme", 3)
		waitCheckpoint(t, st, "idle", 2)
	})
	run(b, a, func(l *ledger.Ledger, st *sqlite.Store) {
		keys, err := l.LogKeys(t.Context())
		if err != nil || len(keys.All) != 2 || keys.Current != keys.All[1] {
			t.Fatalf("keys %+v, %v", keys, err)
		}
		events(t, ctx, l, "acme", 3, 1)
		cp := waitCheckpoint(t, st, "acme", 4)
		if _, sigs := openNote(t, cp.Note, "acme", a, b); len(sigs) != 2 {
			t.Errorf("rotation checkpoint has %d signatures, want 2 (old and new key)", len(sigs))
		}
		events(t, ctx, l, "acme", 4, 1)
		cp = waitCheckpoint(t, st, "acme", 5)
		if _, sigs := openNote(t, cp.Note, "acme", a, b); len(sigs) != 1 {
			t.Errorf("after the rotation: %d signatures, want the new key's alone", len(sigs))
		}
		openNote(t, cp.Note, "acme", b)
		// The idle log keeps its old checkpoint, which the old key verifies.
		idle, _ := st.LatestCheckpoint(t.Context(), "idle")
		openNote(t, idle.Note, "idle", a)
	})
}

func hexToBase64(t testing.TB, hexHash string) string {
	t.Helper()
	b, err := hex.DecodeString(hexHash)
	h, herr := merkle.HashFromBytes(b)
	if err != nil || herr != nil {
		t.Fatalf("leaf hash %q: %v %v", hexHash, err, herr)
	}
	return h.String()
}
