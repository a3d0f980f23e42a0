package checkpoint

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// algEd25519 is the note signature algorithm byte of Ed25519 keys.
const algEd25519 = 1

// Signer signs note texts under one key name with a crypto.Signer holding an
// Ed25519 key. It implements note.Signer and is safe for concurrent use if
// its crypto.Signer is.
type Signer struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
	key  crypto.Signer
}

var _ note.Signer = (*Signer)(nil)

// NewSigner returns a Signer that signs as name with key, whose Public method
// must return an ed25519.PublicKey and whose Sign method must make pure
// Ed25519 signatures (crypto.Hash(0) options), as ed25519.PrivateKey and
// Ed25519 KMS or HSM keys do. name must satisfy ValidKeyName.
func NewSigner(name string, key crypto.Signer) (*Signer, error) {
	if !ValidKeyName(name) {
		return nil, fmt.Errorf("checkpoint: %.80q cannot name a signing key (it must be non-empty, without spaces or '+')", name)
	}
	pub, err := PublicKey(key)
	if err != nil {
		return nil, err
	}
	return &Signer{name: name, hash: KeyHash(name, pub), pub: pub, key: key}, nil
}

// Name returns the key name.
func (s *Signer) Name() string { return s.name }

// KeyHash returns the note key hash of the key under its name.
func (s *Signer) KeyHash() uint32 { return s.hash }

// PublicKey returns the Ed25519 public key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.pub }

// VerifierKey returns the note verifier key of the key under its name.
func (s *Signer) VerifierKey() string {
	vkey, _ := VerifierKey(s.name, s.pub) // cannot fail: the name and key were checked
	return vkey
}

// Sign returns the Ed25519 signature of msg. It verifies the signature before
// returning it, so that a faulty or mismatched key never yields a checkpoint
// that no verifier accepts.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	sig, err := s.key.Sign(rand.Reader, msg, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: signing as %s: %w", s.name, err)
	}
	if !ed25519.Verify(s.pub, msg, sig) {
		return nil, fmt.Errorf("checkpoint: the key of %s made a signature that does not verify", s.name)
	}
	return sig, nil
}

// PublicKey returns the Ed25519 public key of key, or an error if key is not
// an Ed25519 key.
func PublicKey(key crypto.Signer) (ed25519.PublicKey, error) {
	if key == nil {
		return nil, errors.New("checkpoint: no signing key")
	}
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("checkpoint: the signing key is a %T, not an Ed25519 key", key.Public())
	}
	return pub, nil
}

// KeyHash returns the note key hash of an Ed25519 public key under a key name:
// the first four bytes, big-endian, of SHA-256(name || "\n" || 0x01 || pub).
func KeyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', algEd25519})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// VerifierKey returns the note verifier key "<name>+<hash>+<base64(0x01 ||
// pub)>" of an Ed25519 public key under a key name.
func VerifierKey(name string, pub ed25519.PublicKey) (string, error) {
	if !ValidKeyName(name) {
		return "", fmt.Errorf("checkpoint: %.80q cannot name a key", name)
	}
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	return vkey, nil
}

// Verifier returns the note verifier of an Ed25519 public key under a key
// name, such as a log's origin, for OpenWith or note.Open.
func Verifier(name string, pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := VerifierKey(name, pub)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return v, nil
}

// ParseVerifierKey reads a note verifier key of an Ed25519 key, checking its
// key hash, and returns its name and public key.
func ParseVerifierKey(vkey string) (name string, pub ed25519.PublicKey, err error) {
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", nil, fmt.Errorf("checkpoint: verifier key %.100q: %w", vkey, err)
	}
	// NewVerifier checked the layout, the hash and the algorithm.
	name, rest, _ := strings.Cut(vkey, "+")
	_, key64, _ := strings.Cut(rest, "+")
	key, _ := base64.StdEncoding.DecodeString(key64)
	if len(key) != 1+ed25519.PublicKeySize || key[0] != algEd25519 {
		return "", nil, fmt.Errorf("checkpoint: verifier key %.100q is not an Ed25519 key", vkey)
	}
	return name, ed25519.PublicKey(key[1:]), nil
}

// Sign formats c and signs it with every key under the key name c.Origin,
// one signature line per key in the order given (two during a key rotation).
// It returns the signed note.
func Sign(c Checkpoint, keys ...crypto.Signer) ([]byte, error) {
	if len(keys) == 0 {
		return nil, errors.New("checkpoint: no signing key")
	}
	text, err := c.Format()
	if err != nil {
		return nil, err
	}
	signers := make([]note.Signer, len(keys))
	for i, k := range keys {
		s, err := NewSigner(c.Origin, k)
		if err != nil {
			return nil, err
		}
		signers[i] = s
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signers...)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return msg, nil
}

// Open verifies a signed checkpoint of the log named origin and returns it.
// At least one signature must be by one of keys under the key name origin,
// and every signature by one of them must be valid; signatures by other keys
// or names (such as witness cosignatures) are ignored. The text must be a
// well-formed checkpoint whose origin is origin.
func Open(msg []byte, origin string, keys ...ed25519.PublicKey) (Checkpoint, error) {
	vs := make([]note.Verifier, 0, len(keys))
	for _, k := range keys {
		v, err := Verifier(origin, k)
		if err != nil {
			return Checkpoint{}, err
		}
		vs = append(vs, v)
	}
	c, _, err := OpenWith(msg, origin, note.VerifierList(vs...))
	return c, err
}

// ErrUnverified reports a signed note that no known key signed.
var ErrUnverified = errors.New("checkpoint: no signature by a known key")

// OpenWith is Open with any set of note verifiers (known decides whose
// signatures count), and it also returns the note, whose Sigs are the
// verified signatures and UnverifiedSigs the others. A signature by a known
// key that does not verify fails with a *note.InvalidSignatureError in the
// error chain, a note with no known signature with ErrUnverified.
func OpenWith(msg []byte, origin string, known note.Verifiers) (Checkpoint, *note.Note, error) {
	n, err := note.Open(msg, known)
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return Checkpoint{}, nil, fmt.Errorf("%w of %.80q", ErrUnverified, origin)
		}
		return Checkpoint{}, nil, fmt.Errorf("checkpoint: %w", err)
	}
	c, err := Parse([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if c.Origin != origin {
		return Checkpoint{}, nil, fmt.Errorf("checkpoint: the origin is %.80q, not %.80q", c.Origin, origin)
	}
	return c, n, nil
}
