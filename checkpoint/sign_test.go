package checkpoint_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/merkle"
	"golang.org/x/mod/sumdb/note"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	server = "audit.example.com"
	origin = server + "/acme"
)

// Golden keys: Ed25519 seeds 00 01 ... 1f and 20 21 ... 3f.
func goldenKey(first byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = first + byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

var (
	key1 = goldenKey(0x00)
	key2 = goldenKey(0x20)
)

// root8 is the RFC 6962 root of the eight reference leaves of
// certificate-transparency and transparency-dev/merkle.
const root8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"

func hexRoot(t testing.TB, s string) merkle.Hash {
	t.Helper()
	b, _ := hex.DecodeString(s)
	h, err := merkle.HashFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

type signCase struct {
	file string
	c    checkpoint.Checkpoint
	keys []crypto.Signer
}

func signCases(t *testing.T) []signCase {
	return []signCase{
		{"empty.note", checkpoint.Checkpoint{Origin: origin, Size: 0, Root: merkle.EmptyRoot}, []crypto.Signer{key1}},
		{"size8.note", checkpoint.Checkpoint{Origin: origin, Size: 8, Root: hexRoot(t, root8)}, []crypto.Signer{key1}},
		{"rotation.note", checkpoint.Checkpoint{Origin: origin, Size: 8, Root: hexRoot(t, root8)}, []crypto.Signer{key1, key2}},
		{"extensions.note", checkpoint.Checkpoint{Origin: checkpoint.Origin(server, "hashtrail"), Size: 1 << 40,
			Root: merkle.LeafHash([]byte("x")), Extensions: []string{"rotated-from 01234567", "ünïcode"}}, []crypto.Signer{key1}},
	}
}

func TestGoldenKeys(t *testing.T) {
	var vkeys bytes.Buffer
	for _, k := range []struct {
		name string
		key  ed25519.PrivateKey
	}{{server, key1}, {origin, key1}, {origin, key2}} {
		vkey, err := checkpoint.VerifierKey(k.name, k.key.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&vkeys, vkey)
		name, pub, err := checkpoint.ParseVerifierKey(vkey)
		if err != nil || name != k.name || !pub.Equal(k.key.Public()) {
			t.Errorf("ParseVerifierKey(%q) = %q, %x, %v", vkey, name, pub, err)
		}
	}
	golden(t, "vkeys.txt", vkeys.Bytes())
	for name, key := range map[string]ed25519.PrivateKey{"key1.pem": key1, "key2.pem": key2} {
		pem, err := checkpoint.MarshalPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, name, pem)
	}
}

func TestGoldenNotes(t *testing.T) {
	for _, tc := range signCases(t) {
		t.Run(tc.file, func(t *testing.T) {
			msg, err := checkpoint.Sign(tc.c, tc.keys...)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, msg)

			// Ed25519 is deterministic: note's own signer, built from the
			// note form of the same keys, must write the same bytes.
			var signers []note.Signer
			for _, k := range tc.keys {
				s, err := note.NewSigner(noteSignerKey(t, tc.c.Origin, k.(ed25519.PrivateKey)))
				if err != nil {
					t.Fatal(err)
				}
				signers = append(signers, s)
			}
			ref, err := note.Sign(&note.Note{Text: tc.c.String()}, signers...)
			if err != nil || !bytes.Equal(ref, msg) {
				t.Errorf("note.Sign wrote\n%s\nSign wrote\n%s(%v)", ref, msg, err)
			}

			var pubs []ed25519.PublicKey
			for _, k := range tc.keys {
				pubs = append(pubs, k.Public().(ed25519.PublicKey))
			}
			for _, pub := range pubs {
				got, err := checkpoint.Open(msg, tc.c.Origin, pub)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if got.String() != tc.c.String() {
					t.Errorf("Open = %q, want %q", got.String(), tc.c.String())
				}
			}
			// note.Open with verifier key strings.
			var vs []note.Verifier
			for _, pub := range pubs {
				vkey, _ := checkpoint.VerifierKey(tc.c.Origin, pub)
				v, err := note.NewVerifier(vkey)
				if err != nil {
					t.Fatal(err)
				}
				vs = append(vs, v)
			}
			n, err := note.Open(msg, note.VerifierList(vs...))
			if err != nil || len(n.Sigs) != len(tc.keys) {
				t.Errorf("note.Open = %+v, %v", n, err)
			}
		})
	}
}

// noteSignerKey returns key in note's "PRIVATE+KEY+..." form under name.
func noteSignerKey(t testing.TB, name string, key ed25519.PrivateKey) string {
	t.Helper()
	pub := key.Public().(ed25519.PublicKey)
	return fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, checkpoint.KeyHash(name, pub),
		base64.StdEncoding.EncodeToString(append([]byte{1}, key.Seed()...)))
}

func TestKeyHash(t *testing.T) {
	pub := key1.Public().(ed25519.PublicKey)
	for _, name := range []string{server, origin, "x"} {
		vkey, err := note.NewEd25519VerifierKey(name, pub)
		if err != nil {
			t.Fatal(err)
		}
		v, err := note.NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		if got := checkpoint.KeyHash(name, pub); got != v.KeyHash() {
			t.Errorf("KeyHash(%q) = %08x, note says %08x", name, got, v.KeyHash())
		}
	}
	s, err := checkpoint.NewSigner(origin, key1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != origin || s.KeyHash() != checkpoint.KeyHash(origin, pub) || !s.PublicKey().Equal(pub) {
		t.Errorf("Signer = %q %08x %x", s.Name(), s.KeyHash(), s.PublicKey())
	}
	if want, _ := checkpoint.VerifierKey(origin, pub); s.VerifierKey() != want {
		t.Errorf("VerifierKey = %q, want %q", s.VerifierKey(), want)
	}
}

func TestOpenRejects(t *testing.T) {
	c := checkpoint.Checkpoint{Origin: origin, Size: 8, Root: hexRoot(t, root8)}
	msg, err := checkpoint.Sign(c, key1)
	if err != nil {
		t.Fatal(err)
	}
	pub1, pub2 := key1.Public().(ed25519.PublicKey), key2.Public().(ed25519.PublicKey)

	if _, err := checkpoint.Open(msg, origin, pub2); !errors.Is(err, checkpoint.ErrUnverified) {
		t.Errorf("Open with another key = %v, want ErrUnverified", err)
	}
	if _, err := checkpoint.Open(msg, server+"/other", pub1); !errors.Is(err, checkpoint.ErrUnverified) {
		t.Errorf("Open of another log = %v, want ErrUnverified", err)
	}
	if _, err := checkpoint.Open(msg, origin); !errors.Is(err, checkpoint.ErrUnverified) {
		t.Errorf("Open without keys = %v, want ErrUnverified", err)
	}
	forged := bytes.Replace(msg, []byte("\n8\n"), []byte("\n9\n"), 1)
	var bad *note.InvalidSignatureError
	if _, err := checkpoint.Open(forged, origin, pub1); !errors.As(err, &bad) {
		t.Errorf("Open of an altered checkpoint = %v, want an InvalidSignatureError", err)
	}
	if _, err := checkpoint.Open(msg[:len(msg)-1], origin, pub1); err == nil {
		t.Error("Open accepted a truncated note")
	}

	// Signed under origin, but the text names another log.
	other := checkpoint.Checkpoint{Origin: server + "/evil", Size: 8, Root: c.Root}
	s, _ := checkpoint.NewSigner(origin, key1)
	msg2, err := note.Sign(&note.Note{Text: other.String()}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Open(msg2, origin, pub1); err == nil || !strings.Contains(err.Error(), "origin") {
		t.Errorf("Open of a checkpoint naming another origin = %v", err)
	}
	// Signed, but not a checkpoint.
	msg3, _ := note.Sign(&note.Note{Text: "hello\n"}, s)
	if _, err := checkpoint.Open(msg3, origin, pub1); !errors.Is(err, checkpoint.ErrMalformed) {
		t.Errorf("Open of a non-checkpoint = %v, want ErrMalformed", err)
	}

	// A witness cosignature by an unknown key is ignored.
	w, _ := checkpoint.NewSigner("witness.example", key2)
	n, err := note.Open(msg, note.VerifierList(mustVerifier(t, origin, pub1)))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, w)
	if err != nil {
		t.Fatal(err)
	}
	got, n2, err := checkpoint.OpenWith(cosigned, origin, note.VerifierList(mustVerifier(t, origin, pub1)))
	if err != nil || got.Size != 8 || len(n2.Sigs) != 1 || len(n2.UnverifiedSigs) != 1 {
		t.Errorf("OpenWith of a cosigned checkpoint = %+v, %+v, %v", got, n2, err)
	}
}

func mustVerifier(t *testing.T, name string, pub ed25519.PublicKey) note.Verifier {
	t.Helper()
	v, err := checkpoint.Verifier(name, pub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// kmsKey stands for a key held elsewhere: only Public and Sign.
type kmsKey struct{ key ed25519.PrivateKey }

func (k kmsKey) Public() crypto.PublicKey { return k.key.Public() }
func (k kmsKey) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != 0 {
		return nil, errors.New("kms: only pure Ed25519")
	}
	return ed25519.Sign(k.key, msg), nil
}

// brokenKey signs with another key than it claims.
type brokenKey struct{ kmsKey }

func (k brokenKey) Public() crypto.PublicKey { return key2.Public() }

type failingKey struct{ kmsKey }

func (failingKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("kms unreachable")
}

func TestSignerSeam(t *testing.T) {
	c := checkpoint.Checkpoint{Origin: origin, Size: 8, Root: hexRoot(t, root8)}
	direct, err := checkpoint.Sign(c, key1)
	if err != nil {
		t.Fatal(err)
	}
	viaKMS, err := checkpoint.Sign(c, kmsKey{key1})
	if err != nil || !bytes.Equal(viaKMS, direct) {
		t.Errorf("Sign through a crypto.Signer = %q, %v; want %q", viaKMS, err, direct)
	}
	if _, err := checkpoint.Sign(c, brokenKey{kmsKey{key1}}); err == nil {
		t.Error("Sign published a signature that does not verify")
	}
	if _, err := checkpoint.Sign(c, failingKey{kmsKey{key1}}); err == nil || !strings.Contains(err.Error(), "kms unreachable") {
		t.Errorf("Sign with a failing key = %v", err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.NewSigner(origin, ec); err == nil {
		t.Error("NewSigner accepted an ECDSA key")
	}
	if _, err := checkpoint.NewSigner("bad name", key1); err == nil {
		t.Error("NewSigner accepted a name with a space")
	}
	if _, err := checkpoint.Sign(c); err == nil {
		t.Error("Sign without keys succeeded")
	}
	if _, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: "a+b"}, key1); err == nil {
		t.Error("Sign under an origin that cannot name a key succeeded")
	}
}
