package ledger_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
)

// TestViewerEventProof checks proofs read with viewer tokens: only inside
// the token's filter, without hidden fields; the leaf is given when it shows
// nothing hidden (personal values are commitments in it) and withheld
// otherwise, when the event's leaf_hash is what the proof proves.
func TestViewerEventProof(t *testing.T) {
	l, st := MustOpenLog(t, ledger.Config{AutoCreateTenants: true, CheckpointInterval: 5 * time.Millisecond})
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	rs, err := ingest(t, as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin), l, "acme",
		`{"id":"in","action":"project.update","actor":{"type":"user","id":"1","email":"a@example.com"},"targets":[{"type":"project","id":"7"}],"context":{"ip":"203.0.113.9","user_agent":"ua/1"},"metadata":{"plan":"pro","secret_note":"launch on friday"}}`,
		`{"id":"out","action":"project.update","actor":{"type":"user","id":"2"},"targets":[{"type":"project","id":"8"}]}`,
	)
	if err != nil {
		t.Fatal(err)
	}
	cp := waitCheckpoint(t, st, "acme", 2)
	viewer := func(req hashtrail.ViewerTokenRequest) *hashtrail.Principal {
		t.Helper()
		req.Tenant = "acme"
		tok, err := l.CreateViewerToken(admin, &req)
		if err != nil {
			t.Fatal(err)
		}
		p, err := l.Authenticate(t.Context(), tok.Token)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	check := func(ep *hashtrail.EventProof, leafHash string) {
		t.Helper()
		b, err := hex.DecodeString(leafHash)
		if err != nil {
			t.Fatal(err)
		}
		h, err := merkle.HashFromBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		// The answer's checkpoint is the latest: minting viewer tokens
		// (audited) grows the log past cp, so check against the root the
		// answer names, and that it is cp's origin and a signed note.
		lines := strings.Split(ep.Checkpoint, "\n")
		if len(lines) < 5 || lines[0] != strings.Split(string(cp.Note), "\n")[0] || lines[1] != fmt.Sprint(ep.Proof.TreeSize) || !strings.HasPrefix(lines[4], "\u2014 ") {
			t.Fatalf("checkpoint %q", ep.Checkpoint)
		}
		rb, err := base64.StdEncoding.DecodeString(lines[2])
		if err != nil {
			t.Fatal(err)
		}
		root, err := merkle.HashFromBytes(rb)
		if err != nil {
			t.Fatal(err)
		}
		if err := merkle.CheckRecord(proofHashes(t, ep.Proof.Hashes), ep.Proof.TreeSize, root, ep.Proof.LeafIndex, h); err != nil {
			t.Errorf("the proof does not prove leaf hash %s: %v", leafHash, err)
		}
	}

	// The default hidden fields are personal: the leaf only commits to them.
	p := viewer(hashtrail.ViewerTokenRequest{Filter: "target:project:7"})
	v := hashtrail.WithPrincipal(t.Context(), p)
	ep, err := l.EventProof(v, "acme", "in", 0)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Event.Context != nil && (ep.Event.Context.IP != "" || ep.Event.Context.UserAgent != "") {
		t.Errorf("hidden fields shown: %+v", ep.Event.Context)
	}
	for _, c := range ep.Event.PII {
		if c.Salt != nil {
			t.Error("a salt was shown to a viewer token")
		}
	}
	if ep.Leaf == nil || bytes.Contains(ep.Leaf, []byte("203.0.113.9")) || bytes.Contains(ep.Leaf, []byte("ua/1")) {
		t.Fatalf("leaf %q", ep.Leaf)
	}
	if got := hex.EncodeToString(leafHashOf(ep.Leaf)); got != rs[0].LeafHash {
		t.Errorf("leaf hashes to %s, want %s", got, rs[0].LeafHash)
	}
	check(ep, rs[0].LeafHash)
	if receipt, err := l.Receipt(v, "acme", "in", 0); err != nil || !bytes.HasPrefix(receipt, []byte(ledger.ReceiptHeader)) {
		t.Errorf("receipt: %v %q", err, receipt)
	}
	if _, err := l.EventProof(v, "acme", "out", 0); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("proof outside the filter: %v, want ENOTFOUND", err)
	}
	if _, err := l.Receipt(v, "acme", "out", 0); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("receipt outside the filter: %v, want ENOTFOUND", err)
	}
	if _, err := l.InclusionProof(v, "acme", 1, 0); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("raw inclusion proof with a viewer token: %v, want EFORBIDDEN", err)
	}

	// A hidden metadata member is in the leaf: the leaf is withheld, the
	// leaf hash still proves the event.
	p = viewer(hashtrail.ViewerTokenRequest{Filter: "target:project:7", HiddenFields: []string{"context.ip", "metadata.secret_note"}})
	v = hashtrail.WithPrincipal(t.Context(), p)
	ep, err = l.EventProof(v, "acme", "in", 0)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Leaf != nil {
		t.Errorf("the leaf holding a hidden field was shown: %q", ep.Leaf)
	}
	if strings.Contains(string(ep.Event.Metadata), "friday") || !strings.Contains(string(ep.Event.Metadata), "pro") {
		t.Errorf("metadata %s", ep.Event.Metadata)
	}
	if ep.Event.LeafHash != rs[0].LeafHash {
		t.Errorf("leaf_hash %q, want %q", ep.Event.LeafHash, rs[0].LeafHash)
	}
	check(ep, ep.Event.LeafHash)
	if _, err := l.Receipt(v, "acme", "in", 0); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("receipt with the leaf withheld: %v, want EFORBIDDEN", err)
	}
}

func proofHashes(t *testing.T, hs [][]byte) []merkle.Hash {
	t.Helper()
	out := make([]merkle.Hash, len(hs))
	for i, h := range hs {
		if len(h) != len(out[i]) {
			t.Fatalf("proof hash %d has %d bytes", i, len(h))
		}
		copy(out[i][:], h)
	}
	return out
}
