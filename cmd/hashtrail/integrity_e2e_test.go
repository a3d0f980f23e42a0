package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// The integrity end-to-end tests run `hashtrail serve` on the real SQLite
// store and check what it serves over HTTP with implementations Hashtrail
// did not write: golang.org/x/mod/sumdb/note for checkpoint signatures,
// transparency-dev/merkle for proofs, filippo.io/torchwood for receipts and
// tiles.

const e2eServerName = "audit.example.test"

// get fetches url with key (none if empty) and returns the status and body.
func get(t *testing.T, url, key string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// logPub reads the installation's public key from GET /v1/log/key.
func logPub(t *testing.T, base string) (string, ed25519.PublicKey) {
	t.Helper()
	code, body := get(t, base+"/v1/log/key", "")
	if code != 200 || !bytes.HasSuffix(body, []byte("\n")) || bytes.Count(body, []byte("\n")) != 1 {
		t.Fatalf("GET /v1/log/key: %d %q", code, body)
	}
	vkey := strings.TrimSpace(string(body))
	name, pub, err := checkpoint.ParseVerifierKey(vkey)
	if err != nil || name != e2eServerName {
		t.Fatalf("verifier key %q: %s, %v", vkey, name, err)
	}
	return vkey, pub
}

// tenantVerifier is the note verifier of a tenant's checkpoints, derived
// from the installation's public key with x/mod's note package alone.
func tenantVerifier(t *testing.T, tenant string, pub ed25519.PublicKey) note.Verifier {
	t.Helper()
	vkey, err := note.NewEd25519VerifierKey(e2eServerName+"/"+tenant, pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fetchCheckpoint polls the tenant's checkpoint until it has at least size
// leaves, verifies it with note.Open, and returns the note and its tree.
func fetchCheckpoint(t *testing.T, base, key, tenant string, size int64, vs ...note.Verifier) ([]byte, *note.Note, tlog.Tree) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := get(t, base+"/v1/tenants/"+tenant+"/log/checkpoint", key)
		if code == 200 {
			n, err := note.Open(body, note.VerifierList(vs...))
			if err != nil {
				t.Fatalf("note.Open: %v\n%s", err, body)
			}
			lines := strings.Split(n.Text, "\n")
			var tree tlog.Tree
			if len(lines) != 4 || lines[0] != e2eServerName+"/"+tenant {
				t.Fatalf("checkpoint text %q", n.Text)
			}
			fmt.Sscan(lines[1], &tree.N)
			h, err := tlog.ParseHash(lines[2])
			if err != nil {
				t.Fatal(err)
			}
			tree.Hash = h
			if tree.N >= size {
				return body, n, tree
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d: %d %s", size, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// authTransport adds the API key to every request, for tile clients.
type authTransport struct{ key string }

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+a.key)
	return http.DefaultTransport.RoundTrip(r)
}

func TestIntegrityEndToEnd(t *testing.T) {
	isolateEnv(t)
	t.Setenv(checkpoint.KeyEnv, "")
	dir := filepath.Join(t.TempDir(), "data")
	s := runServeCmd(t, "--data", dir, "--server-name", e2eServerName)
	key := s.bootstrapKey()

	if fi, err := os.Stat(filepath.Join(dir, "signing-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v, %v", err, fi)
	}
	vkey, pub := logPub(t, s.url)
	if code, body := get(t, s.url+"/v1/log/keys", ""); code != 200 || string(body) != vkey+"\n" {
		t.Fatalf("GET /v1/log/keys: %d %q", code, body)
	}
	v := tenantVerifier(t, "acme", pub)

	// 300 events in three requests; remember the checkpoint after the first.
	var leafHashes [][]byte
	ingestN := func(from, n int) {
		var batch []any
		for i := range n {
			batch = append(batch, loginEvent(fmt.Sprintf("ev-%d", from+i)))
		}
		var rec struct{ Events []hashtrail.Receipt }
		if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants/acme/events", key, map[string]any{"events": batch}, &rec); code != 200 {
			t.Fatalf("ingest: %d", code)
		}
		for _, r := range rec.Events {
			h, _ := hex.DecodeString(r.LeafHash)
			leafHashes = append(leafHashes, h)
		}
	}
	ingestN(0, 100)
	_, _, first := fetchCheckpoint(t, s.url, key, "acme", 100, v)
	ingestN(100, 100)
	ingestN(200, 100)
	cpNote, _, tree := fetchCheckpoint(t, s.url, key, "acme", 300, v)

	// Inclusion and consistency proofs, checked with transparency-dev/merkle.
	h := rfc6962.DefaultHasher
	for _, seq := range []int64{0, 99, 150, 299} {
		var p hashtrail.InclusionProof
		if code := callJSON(t, http.DefaultClient, "GET", fmt.Sprintf("%s/v1/tenants/acme/log/proof/inclusion?seq=%d&size=%d", s.url, seq, tree.N), key, nil, &p); code != 200 {
			t.Fatalf("inclusion proof: %d", code)
		}
		if err := proof.VerifyInclusion(h, uint64(seq), uint64(tree.N), leafHashes[seq], p.Hashes, tree.Hash[:]); err != nil {
			t.Errorf("inclusion of %d: %v", seq, err)
		}
	}
	var cons hashtrail.ConsistencyProof
	if code := callJSON(t, http.DefaultClient, "GET", fmt.Sprintf("%s/v1/tenants/acme/log/proof/consistency?from=%d&to=%d", s.url, first.N, tree.N), key, nil, &cons); code != 200 {
		t.Fatalf("consistency proof: %d", code)
	}
	if err := proof.VerifyConsistency(h, uint64(first.N), uint64(tree.N), cons.Hashes, first.Hash[:], tree.Hash[:]); err != nil {
		t.Errorf("consistency %d -> %d: %v", first.N, tree.N, err)
	}

	// An event with its proof: the leaf rebuilt from the answer alone hashes
	// to leaf_hash, and the proof leads to the checkpoint's root.
	code, body := get(t, s.url+"/v1/tenants/acme/events/ev-150?proof=true&wait=2s", key)
	if code != 200 {
		t.Fatalf("event with proof: %d %s", code, body)
	}
	var ep struct {
		Seq        int64
		LeafHash   string `json:"leaf_hash"`
		Leaf       []byte
		Proof      hashtrail.InclusionProof
		Checkpoint string
	}
	if err := json.Unmarshal(body, &ep); err != nil {
		t.Fatal(err)
	}
	leaf, _, err := hashtrail.LeafFromAnswer(body, nil)
	if err != nil || !bytes.Equal(leaf, ep.Leaf) || hashtrail.LeafHash(leaf) != ep.LeafHash {
		t.Fatalf("the leaf rebuilt from the answer differs: %v", err)
	}
	n, err := note.Open([]byte(ep.Checkpoint), note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Parse([]byte(n.Text))
	if err != nil {
		t.Fatal(err)
	}
	lh := rfc6962.DefaultHasher.HashLeaf(ep.Leaf)
	if err := proof.VerifyInclusion(h, uint64(ep.Seq), uint64(c.Size), lh, ep.Proof.Hashes, c.Root[:]); err != nil {
		t.Errorf("event proof: %v", err)
	}

	// The receipt, checked with torchwood's C2SP tlog-proof verifier.
	code, receipt := get(t, s.url+"/v1/tenants/acme/events/ev-150/receipt", key)
	if code != 200 {
		t.Fatalf("receipt: %d %s", code, receipt)
	}
	policy := torchwood.ThresholdPolicy(2, torchwood.OriginPolicy(e2eServerName+"/acme"), torchwood.SingleVerifierPolicy(v))
	if err := torchwood.VerifyProof(policy, tlog.RecordHash(leaf), receipt); err != nil {
		t.Errorf("torchwood.VerifyProof: %v\n%s", err, receipt)
	}

	// Tiles, read by torchwood's tile client: the root and proofs they give
	// match the checkpoint.
	fetcher, err := torchwood.NewTileFetcher(s.url+"/v1/tenants/acme/log/",
		torchwood.WithHTTPClient(&http.Client{Transport: authTransport{key}, Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	cpAgain, err := fetcher.ReadEndpoint(t.Context(), "checkpoint")
	if err != nil || !bytes.Equal(cpAgain, cpNote) {
		t.Fatalf("checkpoint through the tile client: %v", err)
	}
	hr := torchwood.TileHashReaderWithContext(t.Context(), tree, fetcher)
	if root, err := tlog.TreeHash(tree.N, hr); err != nil || root != tree.Hash {
		t.Fatalf("root through tiles: %v, %v", root, err)
	}
	rp, err := tlog.ProveRecord(tree.N, 257%tree.N, hr)
	if err != nil {
		t.Fatal(err)
	}
	var rh tlog.Hash
	copy(rh[:], leafHashes[257%tree.N])
	if err := tlog.CheckRecord(rp, tree.N, tree.Hash, 257%tree.N, rh); err != nil {
		t.Errorf("inclusion through tiles: %v", err)
	}

	// Bad parameters and unknown tenants.
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/v1/tenants/acme/log/proof/inclusion?seq=300&size=300", 400},
		{"/v1/tenants/acme/log/proof/inclusion?seq=0&size=100000", 400},
		{"/v1/tenants/acme/log/proof/consistency?from=0&to=5", 400},
		{"/v1/tenants/acme/log/tile/0/1234", 400},
		{"/v1/tenants/acme/log/tile/0/009", 404},
		{"/v1/tenants/nope/log/checkpoint", 404},
		{"/v1/tenants/nope/log/proof/inclusion?seq=0", 404},
		{"/v1/tenants/acme/events/nope/receipt", 404},
	} {
		if code, body := get(t, s.url+tc.path, key); code != tc.code {
			t.Errorf("%s: %d, want %d: %s", tc.path, code, tc.code, body)
		}
	}
	if code, _ := get(t, s.url+"/v1/tenants/acme/log/checkpoint", ""); code != 401 {
		t.Errorf("checkpoint without a key: %d", code)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// The server name and the key are fixed: a different name or an unknown
	// key stops the server with an error that says why.
	err = serveErr(t, "--data", dir, "--server-name", "other.example")
	if err == nil || !strings.Contains(err.Error(), e2eServerName) || !strings.Contains(err.Error(), "other.example") {
		t.Errorf("another server name: %v", err)
	}
	newKey := filepath.Join(t.TempDir(), "new.pem")
	k, _ := checkpoint.GenerateKey(nil)
	if err := checkpoint.WriteKeyFile(newKey, k); err != nil {
		t.Fatal(err)
	}
	if err := serveErr(t, "--data", dir, "--signing-key", newKey); err == nil || !strings.Contains(err.Error(), "rotate") {
		t.Errorf("an unknown key: %v", err)
	}

	// Rotation: the next checkpoint is signed by both keys, later ones by the
	// new key alone; both keys stay listed.
	s = runServeCmd(t, "--data", dir, "--signing-key", newKey, "--rotate-from", filepath.Join(dir, "signing-key.pem"))
	code, body = get(t, s.url+"/v1/log/keys", "")
	if lines := strings.Split(strings.TrimSpace(string(body)), "\n"); code != 200 || len(lines) != 2 || lines[0] != vkey {
		t.Fatalf("keys after rotation: %d %q", code, body)
	}
	newV := tenantVerifier(t, "acme", k.Public().(ed25519.PublicKey))
	ingestN(300, 1)
	_, rot, _ := fetchCheckpoint(t, s.url, key, "acme", 301, v, newV)
	if len(rot.Sigs) != 2 {
		t.Errorf("rotation checkpoint has %d signatures, want 2", len(rot.Sigs))
	}
	ingestN(301, 1)
	_, after, _ := fetchCheckpoint(t, s.url, key, "acme", 302, v, newV)
	if len(after.Sigs) != 1 || after.Sigs[0].Hash != newV.KeyHash() {
		t.Errorf("after the rotation: %+v, want the new key's signature alone", after.Sigs)
	}
	// The old checkpoint still verifies with the old key.
	if _, err := note.Open(cpNote, note.VerifierList(v)); err != nil {
		t.Error(err)
	}
}

// serveErr runs `hashtrail serve args...`, expecting it to fail at start, and
// returns its error (nil if it started; it is stopped then).
func serveErr(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := newRootCmd()
	cmd.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...))
	out := newServeOutput()
	cmd.SetOut(out)
	cmd.SetErr(out)
	return cmd.ExecuteContext(ctx)
}
