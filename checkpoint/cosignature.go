package checkpoint

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// algCosignatureV1 is the signature algorithm byte of C2SP tlog-cosignature
// (cosignature/v1) witness keys.
const algCosignatureV1 = 4

// Witness cosignatures (C2SP tlog-cosignature) are signature lines on a
// checkpoint by a witness key whose verifier key is
// "<name>+<hash>+<base64(0x04 || Ed25519 public key)>", the key hash being
// the first four bytes of SHA-256(name || "\n" || 0x04 || public key). Each
// signature is an 8-byte big-endian timestamp T followed by the Ed25519
// signature of "cosignature/v1\ntime <T>\n" and the checkpoint text.

// CosignatureVerifierKey returns the verifier key of a witness's Ed25519
// public key under its name.
func CosignatureVerifierKey(name string, pub ed25519.PublicKey) (string, error) {
	if !ValidKeyName(name) || len(pub) != ed25519.PublicKeySize {
		return "", fmt.Errorf("checkpoint: %.80q and a %d-byte key cannot make a witness key", name, len(pub))
	}
	key := append([]byte{algCosignatureV1}, pub...)
	return fmt.Sprintf("%s+%08x+%s", name, cosignatureKeyHash(name, key), base64.StdEncoding.EncodeToString(key)), nil
}

func cosignatureKeyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// CosignatureVerifier verifies cosignature/v1 signatures of one witness key.
// It implements note.Verifier.
type CosignatureVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

var _ note.Verifier = (*CosignatureVerifier)(nil)

// NewCosignatureVerifier reads a witness verifier key (algorithm 0x04,
// cosignature/v1), checking its key hash.
func NewCosignatureVerifier(vkey string) (*CosignatureVerifier, error) {
	bad := func(why string) (*CosignatureVerifier, error) {
		return nil, fmt.Errorf("checkpoint: witness key %.100q: %s", vkey, why)
	}
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !ValidKeyName(name) || len(hash16) != 8 {
		return bad("not <name>+<hash>+<key>")
	}
	hash, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil {
		return bad("the key hash is not hex")
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) != 1+ed25519.PublicKeySize {
		return bad("the key is not base64 of 33 bytes")
	}
	if key[0] != algCosignatureV1 {
		return bad(fmt.Sprintf("algorithm %d is not cosignature/v1 (4)", key[0]))
	}
	if uint32(hash) != cosignatureKeyHash(name, key) {
		return bad("the key hash does not match the key")
	}
	return &CosignatureVerifier{name: name, hash: uint32(hash), pub: ed25519.PublicKey(key[1:])}, nil
}

// Name returns the witness's name.
func (v *CosignatureVerifier) Name() string { return v.name }

// KeyHash returns the witness key's hash.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.hash }

// Verify reports whether sig is a valid cosignature/v1 of the checkpoint
// text msg.
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	if _, err := Parse(msg); err != nil {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	m := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, msg)
	return ed25519.Verify(v.pub, m, sig[8:])
}

// Cosigned opens the signed note msg with the log's verifier (its own
// signature must be valid) and the witness keys, and returns the names of
// the witnesses whose valid cosignature it carries. A cosignature by a listed
// key that does not verify is an error.
func Cosigned(msg []byte, log note.Verifier, witnesses []*CosignatureVerifier) ([]string, error) {
	vs := []note.Verifier{log}
	for _, w := range witnesses {
		vs = append(vs, w)
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return nil, fmt.Errorf("%w of %s", ErrUnverified, log.Name())
		}
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var names []string
	logSigned := false
	for _, s := range n.Sigs {
		if s.Name == log.Name() && s.Hash == log.KeyHash() {
			logSigned = true
			continue
		}
		names = append(names, s.Name)
	}
	if !logSigned {
		return nil, fmt.Errorf("%w of %s", ErrUnverified, log.Name())
	}
	return names, nil
}

// String returns the witness's verifier key.
func (v *CosignatureVerifier) String() string {
	key := append([]byte{algCosignatureV1}, v.pub...)
	return fmt.Sprintf("%s+%08x+%s", v.name, v.hash, base64.StdEncoding.EncodeToString(key))
}
