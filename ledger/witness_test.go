package ledger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"testing"
	"time"

	"filippo.io/torchwood"
	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
	"golang.org/x/mod/sumdb/note"
)

// fakeWitness follows C2SP tlog-witness as litewitness does: it verifies the
// log's signature, requires the old size it knows and a consistency proof,
// and cosigns with torchwood's cosignature/v1 signer.
type fakeWitness struct {
	mu        sync.Mutex
	log       note.Verifier
	signer    *torchwood.CosignatureSigner
	size      int64
	root      merkle.Hash
	conflicts int
	fail      int // fail this many calls first
}

func (w *fakeWitness) Name() string { return w.signer.Name() }

func (w *fakeWitness) AddCheckpoint(ctx context.Context, old int64, proof []merkle.Hash, msg []byte) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail > 0 {
		w.fail--
		return nil, errors.New("witness down")
	}
	n, err := note.Open(msg, note.VerifierList(w.log))
	if err != nil {
		return nil, err
	}
	c, err := checkpoint.Parse([]byte(n.Text))
	if err != nil {
		return nil, err
	}
	if old != w.size {
		w.conflicts++
		return nil, &hashtrail.WitnessConflictError{Witness: w.Name(), Known: w.size}
	}
	if old > 0 && merkle.CheckTree(proof, c.Size, c.Root, old, w.root) != nil {
		return nil, errors.New("bad consistency proof")
	}
	w.size, w.root = c.Size, c.Root
	signed, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, err
	}
	_, sigs, _ := bytes.Cut(signed, []byte("\n\n"))
	return sigs, nil
}

func TestWitnessesCosignTheInstallationLog(t *testing.T) {
	key := testKey("a")
	lv, err := checkpoint.Verifier(testServerName, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := torchwood.NewCosignatureSigner("witness.example.test/w1", testKey("w"))
	if err != nil {
		t.Fatal(err)
	}
	w := &fakeWitness{log: lv, signer: ws, fail: 1}
	l, st := MustOpenLog(t, ledger.Config{AutoCreateTenants: true, Signer: key, Witnesses: []ledger.WitnessConfig{{Client: w, Key: ws.Verifier().String()}}})
	ctx := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)

	events(t, ctx, l, "acme", 0, 10)
	events(t, ctx, l, "globex", 0, 3)
	waitCheckpoint(t, st, "acme", 10)
	waitCheckpoint(t, st, "globex", 3)
	time.Sleep(1100 * time.Millisecond) // a second round
	events(t, ctx, l, "acme", 10, 5)
	waitCheckpoint(t, st, "acme", 15)

	// Every tenant checkpoint gets into the installation log, and the
	// witness cosigns it (after one failure, retried with backoff).
	var wc *hashtrail.WitnessedCheckpoint
	deadline := time.Now().Add(15 * time.Second)
	for {
		wc, err = l.Witnessed(ctx, "acme")
		if err == nil && bytes.Contains(wc.Installation, []byte("— witness.example.test/w1 ")) && bytes.Contains(wc.Checkpoint, []byte("\n15\n")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("acme at 15 not witnessed: %+v, %v", wc, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	n, err := note.Open(wc.Installation, note.VerifierList(lv, ws.Verifier()))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("installation checkpoint: %v, %d signatures\n%s", err, len(n.Sigs), wc.Installation)
	}
	ic, err := checkpoint.Parse([]byte(n.Text))
	if err != nil || ic.Origin != testServerName {
		t.Fatalf("installation checkpoint text %q: %v", n.Text, err)
	}
	lh := merkle.LeafHash(wc.Checkpoint)
	if err := merkle.VerifyInclusion(wc.Index, ic.Size, lh[:], wc.Proof.Hashes, ic.Root[:]); err != nil {
		t.Fatalf("inclusion of the acme checkpoint in the installation log: %v", err)
	}
	if latest, _ := st.LatestCheckpoint(t.Context(), "acme"); string(latest.Note) != string(wc.Checkpoint) {
		t.Fatalf("the witnessed checkpoint is not acme's latest")
	}
	if size, _ := st.InstallationSize(t.Context()); size < 3 {
		t.Fatalf("installation log size %d, want at least 3 (acme twice, globex)", size)
	}

	// A restarted ledger does not know what the witness saw: the witness's
	// 409 tells it, and it resends with a consistency proof from there.
	l.Close(context.Background())
	l2 := ledger.New(st, ledger.Config{AutoCreateTenants: true, Signer: key, ServerName: testServerName, Witnesses: []ledger.WitnessConfig{{Client: w, Key: ws.Verifier().String()}}})
	defer l2.Close(context.Background())
	events(t, ctx, l2, "acme", 15, 2)
	waitCheckpoint(t, st, "acme", 17)
	deadline = time.Now().Add(15 * time.Second)
	for {
		wc, err = l2.Witnessed(ctx, "acme")
		if err == nil && bytes.Contains(wc.Checkpoint, []byte("\n17\n")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("acme at 17 not witnessed after a restart: %+v, %v", wc, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conflicts == 0 {
		t.Fatal("the restarted ledger never met a conflict (the test did not test it)")
	}
}
