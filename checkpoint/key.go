package checkpoint

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Signing keys are kept as PEM "PRIVATE KEY" blocks holding PKCS #8 (RFC
// 5958, RFC 8410) Ed25519 keys: what MarshalPrivateKey and WriteKeyFile write,
// what `openssl genpkey -algorithm ed25519` makes, and what KMS tooling
// imports and exports. ParsePrivateKey also reads the note signer key form
// "PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>" of
// golang.org/x/mod/sumdb/note (its name is ignored, as Hashtrail signs each
// log under its origin), which fits in one line of an environment variable.

// KeyEnv is the environment variable that may hold the signing key itself
// (in either form), for deployments that inject secrets as variables.
const KeyEnv = "HASHTRAIL_SIGNING_KEY"

const pemType = "PRIVATE KEY"

// GenerateKey returns a new Ed25519 signing key drawn from rand
// (crypto/rand.Reader if nil).
func GenerateKey(rand io.Reader) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: generating a key: %w", err)
	}
	return key, nil
}

// MarshalPrivateKey returns key as a PEM block of PKCS #8.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("checkpoint: not an Ed25519 private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}), nil
}

// ParsePrivateKey reads an Ed25519 signing key: one PEM "PRIVATE KEY" block
// of PKCS #8, or a note signer key "PRIVATE+KEY+...". Surrounding white space
// is ignored. Errors never quote the key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	data = bytes.TrimSpace(data)
	if bytes.HasPrefix(data, []byte("PRIVATE+KEY+")) {
		return parseNoteKey(string(data))
	}
	block, rest := pem.Decode(data)
	if block == nil || len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("checkpoint: the signing key is neither one PEM block nor a PRIVATE+KEY+ note key")
	}
	if block.Type != pemType {
		return nil, fmt.Errorf("checkpoint: the signing key is a PEM %q block, not %q (PKCS #8)", block.Type, pemType)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("checkpoint: the signing key is not valid PKCS #8")
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("checkpoint: the signing key is a %T, not an Ed25519 key", k)
	}
	return key, nil
}

func parseNoteKey(skey string) (ed25519.PrivateKey, error) {
	if _, err := note.NewSigner(skey); err != nil {
		return nil, errors.New("checkpoint: the PRIVATE+KEY+ signing key is malformed or its hash is wrong")
	}
	// NewSigner checked the layout, the algorithm, the size and the hash.
	i := strings.LastIndexByte(skey, '+')
	b, err := base64.StdEncoding.DecodeString(skey[i+1:])
	if err != nil || len(b) != 1+ed25519.SeedSize || b[0] != algEd25519 {
		return nil, errors.New("checkpoint: the PRIVATE+KEY+ signing key is not an Ed25519 key")
	}
	return ed25519.NewKeyFromSeed(b[1:]), nil
}

// ReadKeyFile reads a signing key from a file (see ParsePrivateKey). A
// missing file fails with an error that matches fs.ErrNotExist.
func ReadKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: reading the signing key: %w", err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return key, nil
}

// WriteKeyFile writes key to a new file at path as PEM, with mode 0600,
// creating its directory (mode 0700) if needed. It never replaces an existing
// file (then it fails with an error that matches fs.ErrExist), and the file
// appears whole or not at all: the key is written and synced to a temporary
// file first, then linked to path.
func WriteKeyFile(path string, key ed25519.PrivateKey) error {
	data, err := MarshalPrivateKey(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".hashtrail-key-*") // mode 0600
	if err != nil {
		return fmt.Errorf("checkpoint: writing the signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSynced(tmp, data); err != nil {
		return fmt.Errorf("checkpoint: writing the signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("checkpoint: writing the signing key: %w", err)
		}
		// No hard links here (some network and FUSE file systems): create
		// the file exclusively instead.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("checkpoint: writing the signing key: %w", err)
		}
		if err := writeSynced(f, data); err != nil {
			os.Remove(path)
			return fmt.Errorf("checkpoint: writing the signing key: %w", err)
		}
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable; best effort where unsupported
		d.Close()
	}
	return nil
}

// writeSynced writes data to f, syncs and closes it.
func writeSynced(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// LoadKey returns the installation signing key: from the variable KeyEnv
// when getenv (usually os.Getenv; nil ignores the environment) returns a
// non-empty value for it, else from the file at path. With neither, the
// error matches fs.ErrNotExist.
func LoadKey(getenv func(string) string, path string) (ed25519.PrivateKey, error) {
	if getenv != nil {
		if v := getenv(KeyEnv); v != "" {
			key, err := ParsePrivateKey([]byte(v))
			if err != nil {
				return nil, fmt.Errorf("%w (in $%s)", err, KeyEnv)
			}
			return key, nil
		}
	}
	if path == "" {
		return nil, fmt.Errorf("checkpoint: no signing key: $%s is unset and no key file is configured: %w", KeyEnv, fs.ErrNotExist)
	}
	return ReadKeyFile(path)
}

// LoadOrCreateKey is LoadKey that, when neither the variable nor the file
// exists, generates a key from rand, writes it to path with WriteKeyFile and
// reports created. If another process creates the file first, its key wins.
func LoadOrCreateKey(getenv func(string) string, path string, rand io.Reader) (key ed25519.PrivateKey, created bool, err error) {
	key, err = LoadKey(getenv, path)
	if !errors.Is(err, fs.ErrNotExist) || path == "" {
		return key, false, err
	}
	if key, err = GenerateKey(rand); err != nil {
		return nil, false, err
	}
	switch err = WriteKeyFile(path, key); {
	case err == nil:
		return key, true, nil
	case errors.Is(err, fs.ErrExist):
		key, err = ReadKeyFile(path)
		return key, false, err
	}
	return nil, false, err
}
