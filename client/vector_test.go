package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

var updateBundle = flag.Bool("update-bundle", false, "rewrite testdata/bundle from its fixed inputs")

const bundleDir = "../testdata/bundle"

// The golden evidence bundle: six entries of tenant acme of the server
// audit.example.com, with personal data shown (seq 0), erased after an
// announcement (seq 1, announced by seq 3), none (seq 2), and a body purged
// after an announcement (seq 4, announced by seq 5), all proved against a
// checkpoint of size 6 signed with a key derived from a fixed seed.
const (
	vectorServer = "audit.example.com"
	vectorTenant = "acme"
)

// vectorKey is the fixed signing key of the vectors; never use it elsewhere.
func vectorKey() ed25519.PrivateKey {
	seed := bytes.Repeat([]byte{0x42}, ed25519.SeedSize)
	return ed25519.NewKeyFromSeed(seed)
}

// makeVectorBundle builds the golden bundle from its fixed inputs.
func makeVectorBundle(t *testing.T) *client.Bundle {
	at := func(s string) hashtrail.Time {
		v, err := hashtrail.ParseTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	salt := func(b byte) []byte { return bytes.Repeat([]byte{b}, hashtrail.SaltSize) }
	system := &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail"}
	events := []*hashtrail.Event{
		{ID: "01JNQX3Z5Y8W7V6T5S4R3Q2P10", Time: at("2026-03-01T09:00:00.000001Z"), Action: "user.login", Category: hashtrail.CategoryAuthentication,
			Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Email: "alice@example.com", Name: "Alice Example", Auth: &hashtrail.Auth{Method: "webauthn"}},
			Context: &hashtrail.Context{IP: "203.0.113.7", UserAgent: "Mozilla/5.0", RequestID: "req-1", Source: "web"}},
		{ID: "01JNQX3Z5Y8W7V6T5S4R3Q2P11", Time: at("2026-03-01T09:05:00.000002Z"), Action: "user.login", Category: hashtrail.CategoryAuthentication,
			Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "43", Email: "bob@example.com"},
			Context: &hashtrail.Context{IP: "198.51.100.9", RequestID: "req-2"}},
		{ID: "01JNQX3Z5Y8W7V6T5S4R3Q2P12", Time: at("2026-03-01T09:10:00Z"), Action: "project.update", Category: hashtrail.CategoryConfiguration,
			Actor:   &hashtrail.Actor{Type: hashtrail.ActorService, ID: "deployer"},
			Targets: []hashtrail.Target{{Type: "project", ID: "7", Name: "Website"}},
			Changes: []hashtrail.Change{{Field: "visibility", Old: json.RawMessage(`"private"`), New: json.RawMessage(`"public"`)}}},
		{ID: "01JNQX3Z5Y8W7V6T5S4R3Q2P13", Time: at("2026-04-01T00:00:00Z"), Action: client.ActionSubjectErased, Category: hashtrail.CategorySystem,
			Actor: system, Metadata: json.RawMessage(`{"roles":[{"seq":1,"role":"/actor"}]}`)},
		{ID: "01JNQX3Z5Y8W7V6T5S4R3Q2P14", Time: at("2026-04-02T00:00:00Z"), Action: "app.env_var_add", Category: hashtrail.CategoryConfiguration,
			Actor: &hashtrail.Actor{Type: hashtrail.ActorAPIKey, ID: "ci"}, Targets: []hashtrail.Target{{Type: "app", ID: "shop"}}},
		{ID: "01JNQX3Z5Y8W7V6T5S4R3Q2P15", Time: at("2027-04-02T00:00:00Z"), Action: client.ActionRetentionPurge, Category: hashtrail.CategorySystem,
			Actor: system, Metadata: json.RawMessage(`{"ranges":[[4,4]],"policy":"configuration:365d"}`)},
	}
	var tree merkle.Tree
	for i, e := range events {
		e.Tenant, e.Seq = vectorTenant, int64(i)
		e.Severity, e.Outcome = hashtrail.SeverityInfo, hashtrail.OutcomeSuccess
		e.ReceivedAt = hashtrail.NewTime(e.Time.Add(250_000))
		leaf, roles, err := hashtrail.EncodeLeaf(e, map[string][]byte{"/actor": salt(byte(0x10 + i))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tree.AppendLeaf(leaf)
		e.LeafHash = hashtrail.LeafHash(leaf)
		for _, r := range roles {
			if e.PII == nil {
				e.PII = map[string]hashtrail.PIICommitment{}
			}
			e.PII[r.Role] = hashtrail.PIICommitment{Commitment: r.Commitment, Salt: r.Salt}
		}
	}
	// Seq 1's actor is erased: values and salt gone, commitment kept.
	e1 := events[1]
	public, _, err := hashtrail.SplitPII(e1, nil)
	if err != nil {
		t.Fatal(err)
	}
	public.LeafHash = e1.LeafHash
	public.PII = map[string]hashtrail.PIICommitment{"/actor": {Commitment: e1.PII["/actor"].Commitment, Erased: true}}
	events[1] = public

	key := vectorKey()
	note, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: checkpoint.Origin(vectorServer, vectorTenant), Size: tree.Size(), Root: tree.Root()}, key)
	if err != nil {
		t.Fatal(err)
	}
	vkey, _ := checkpoint.VerifierKey(vectorServer, key.Public().(ed25519.PublicKey))
	b := &client.Bundle{Format: client.BundleFormat, CreatedAt: hashtrail.NewTime(events[5].Time.Add(3600e9)), Tenant: vectorTenant,
		Origin: checkpoint.Origin(vectorServer, vectorTenant), LogKeys: []string{vkey}, Checkpoint: string(note)}
	for i, e := range events {
		seq := int64(i)
		p, err := merkle.ProveRecord(tree.Size(), seq, &tree)
		if err != nil {
			t.Fatal(err)
		}
		lh, _ := tree.LeafHash(seq)
		be := client.BundleEntry{Seq: seq, Event: e, LeafHash: hexHash(lh), Proof: hashtrail.InclusionProof{LeafIndex: seq, TreeSize: tree.Size()}}
		for _, h := range p {
			be.Proof.Hashes = append(be.Proof.Hashes, h[:])
		}
		if seq == 4 {
			be.Event = nil // purged: only the leaf hash and its proof remain
		} else {
			be.Leaf, _, err = hashtrail.RebuildLeaf(e, e.PII, nil)
			if err != nil {
				t.Fatal(err)
			}
		}
		b.Entries = append(b.Entries, be)
	}
	return b
}

func writeBundle(t *testing.T, path string, b *client.Bundle) {
	var buf bytes.Buffer
	w, err := client.NewBundleWriter(&buf, b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.Entries {
		if err := w.Add(&b.Entries[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBundleVectors(t *testing.T) {
	if *updateBundle {
		b := makeVectorBundle(t)
		writeBundle(t, filepath.Join(bundleDir, "example.json"), b)
		// The same bundle with one member of one event changed.
		b.Entries[2].Event.Targets[0].Name = "Web shop"
		writeBundle(t, filepath.Join(bundleDir, "tampered-event.json"), b)
		vkey, _ := checkpoint.VerifierKey(vectorServer, vectorKey().Public().(ed25519.PublicKey))
		if err := os.WriteFile(filepath.Join(bundleDir, "log-key.txt"), []byte(vkey+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(bundleDir, "log-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	name, keys, err := client.ParseLogKeys([]string{strings.TrimSpace(string(raw))})
	if err != nil {
		t.Fatal(err)
	}
	v := &client.Verifier{ServerName: name, Keys: keys}
	open := func(file string) client.Source {
		f, err := os.Open(filepath.Join(bundleDir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, err := client.ReadBundle(f)
		if err != nil {
			t.Fatal(err)
		}
		return client.BundleSource{B: b}
	}
	rep, err := v.Verify(context.Background(), open("example.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Entries != 5 || rep.Redacted != 1 || rep.Purged != 1 || rep.Size != 6 {
		t.Fatalf("example.json: %s", rep.Summary())
	}
	rep, err = v.Verify(context.Background(), open("tampered-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Failure.Seq != 2 || !strings.Contains(rep.Failure.What, "/targets/0/name") {
		t.Fatalf("tampered-event.json: %s", rep.Summary())
	}
	// The bundle is reproducible from its inputs.
	if !*updateBundle {
		dir := t.TempDir()
		writeBundle(t, filepath.Join(dir, "example.json"), makeVectorBundle(t))
		want, _ := os.ReadFile(filepath.Join(bundleDir, "example.json"))
		got, _ := os.ReadFile(filepath.Join(dir, "example.json"))
		if !bytes.Equal(want, got) {
			t.Error("testdata/bundle/example.json differs from what its inputs give; run go test ./client -run TestBundleVectors -update-bundle if the change is intended")
		}
	}
}

// TestBundleWithStockTools checks the golden bundle the way
// docs/integrity.md tells an auditor to without Hashtrail's code:
// golang.org/x/mod/sumdb/note for the checkpoint, crypto/sha256 for the
// leaf hash, transparency-dev/merkle for the inclusion proofs.
func TestBundleWithStockTools(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(bundleDir, "example.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Tenant, Checkpoint string
		Entries            []struct {
			Seq      int64
			Leaf     []byte
			LeafHash string `json:"leaf_hash"`
			Proof    struct {
				LeafIndex uint64   `json:"leaf_index"`
				TreeSize  uint64   `json:"tree_size"`
				Hashes    [][]byte `json:"hashes"`
			}
		}
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(filepath.Join(bundleDir, "log-key.txt"))
	// The log key's name is the server name; a tenant's checkpoints are
	// signed under the key name "<server name>/<tenant>".
	parts := strings.SplitN(strings.TrimSpace(string(key)), "+", 3)
	pub, _ := base64.StdEncoding.DecodeString(parts[2])
	vkey, err := note.NewEd25519VerifierKey(parts[0]+"/"+b.Tenant, ed25519.PublicKey(pub[1:]))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open([]byte(b.Checkpoint), note.VerifierList(verifier))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(n.Text, "\n")
	size, _ := strconv.ParseUint(lines[1], 10, 64)
	root, _ := base64.StdEncoding.DecodeString(lines[2])
	if lines[0] != parts[0]+"/"+b.Tenant || size != 6 {
		t.Fatalf("checkpoint %q", n.Text)
	}
	for _, e := range b.Entries {
		var lh []byte
		if e.Leaf != nil {
			sum := sha256.Sum256(append([]byte{0}, e.Leaf...))
			lh = sum[:]
			if hex.EncodeToString(lh) != e.LeafHash {
				t.Fatalf("seq %d: leaf_hash is not SHA-256(0x00 || leaf)", e.Seq)
			}
		} else {
			lh, _ = hex.DecodeString(e.LeafHash)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, e.Proof.LeafIndex, e.Proof.TreeSize, lh, e.Proof.Hashes, root); err != nil {
			t.Fatalf("seq %d: %v", e.Seq, err)
		}
	}
}
