package checkpoint_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"filippo.io/torchwood"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/merkle"
	"golang.org/x/mod/sumdb/note"
)

// TestCosignatureTorchwood checks cosignature/v1 keys and signatures against
// torchwood, an implementation we did not write.
func TestCosignatureTorchwood(t *testing.T) {
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	pub, wKey, _ := ed25519.GenerateKey(rand.Reader)
	ws, err := torchwood.NewCosignatureSigner("witness.example/w1", wKey)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := checkpoint.CosignatureVerifierKey("witness.example/w1", pub)
	if err != nil {
		t.Fatal(err)
	}
	if got := ws.Verifier().String(); got != vkey {
		t.Fatalf("witness key %s, torchwood says %s", vkey, got)
	}
	wv, err := checkpoint.NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp := checkpoint.Checkpoint{Origin: "audit.example", Size: 3, Root: merkle.LeafHash([]byte("x"))}
	signed, err := checkpoint.Sign(cp, logKey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(logVerifier(t, "audit.example", logKey)))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, ws)
	if err != nil {
		t.Fatal(err)
	}
	names, err := checkpoint.Cosigned(cosigned, logVerifier(t, "audit.example", logKey), []*checkpoint.CosignatureVerifier{wv})
	if err != nil || len(names) != 1 || names[0] != "witness.example/w1" {
		t.Fatalf("Cosigned = %v, %v", names, err)
	}
	// Without the witness's signature, nobody cosigned.
	names, err = checkpoint.Cosigned(signed, logVerifier(t, "audit.example", logKey), []*checkpoint.CosignatureVerifier{wv})
	if err != nil || len(names) != 0 {
		t.Fatalf("Cosigned(uncosigned) = %v, %v", names, err)
	}
	// Another witness key with the same name does not count.
	pub2, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := checkpoint.CosignatureVerifierKey("witness.example/w1", pub2)
	ov, err := checkpoint.NewCosignatureVerifier(other)
	if err != nil {
		t.Fatal(err)
	}
	names, err = checkpoint.Cosigned(cosigned, logVerifier(t, "audit.example", logKey), []*checkpoint.CosignatureVerifier{ov})
	if err != nil || len(names) != 0 {
		t.Fatalf("Cosigned(wrong key) = %v, %v", names, err)
	}
	// A log key is not a witness key.
	lk, _ := checkpoint.VerifierKey("audit.example", logKey.Public().(ed25519.PublicKey))
	if _, err := checkpoint.NewCosignatureVerifier(lk); err == nil {
		t.Fatal("an Ed25519 note key read as a witness key")
	}
}

func logVerifier(t *testing.T, name string, key ed25519.PrivateKey) note.Verifier {
	t.Helper()
	v, err := checkpoint.Verifier(name, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
