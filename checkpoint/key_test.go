package checkpoint_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/hashtrail/hashtrail/checkpoint"
)

func TestParsePrivateKey(t *testing.T) {
	pemKey, err := os.ReadFile(filepath.Join("testdata", "key1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"PEM":                string(pemKey),
		"PEM with spaces":    "\n  " + string(pemKey) + "\n\n",
		"note form":          noteSignerKey(t, server, key1),
		"note form, newline": noteSignerKey(t, "any-name", key1) + "\n",
	} {
		key, err := checkpoint.ParsePrivateKey([]byte(data))
		if err != nil || !key.Equal(key1) {
			t.Errorf("%s: ParsePrivateKey = %v", name, err)
		}
	}

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	seed64 := base64.StdEncoding.EncodeToString(key1.Seed())
	badHash := strings.Replace(noteSignerKey(t, server, key1), "+4ffeabe4+", "+00000000+", 1)
	for name, data := range map[string]string{
		"empty":           "",
		"garbage":         "hello",
		"raw seed":        seed64,
		"ECDSA":           string(ecPEM),
		"EC block":        strings.ReplaceAll(string(pemKey), "PRIVATE KEY", "EC PRIVATE KEY"),
		"two blocks":      string(pemKey) + string(pemKey),
		"trailing":        string(pemKey) + "x",
		"bad DER":         string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("nope")})),
		"note, bad hash":  badHash,
		"note, truncated": noteSignerKey(t, server, key1)[:40],
	} {
		_, err := checkpoint.ParsePrivateKey([]byte(data))
		if err == nil {
			t.Errorf("%s: ParsePrivateKey succeeded", name)
			continue
		}
		if strings.Contains(err.Error(), seed64[:12]) || strings.Contains(err.Error(), "MC4CAQAw") {
			t.Errorf("%s: the error quotes the key: %v", name, err)
		}
	}
	if _, err := checkpoint.MarshalPrivateKey(ed25519.PrivateKey("short")); err == nil {
		t.Error("MarshalPrivateKey accepted a short key")
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := checkpoint.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := checkpoint.GenerateKey(rand.Reader)
	if a.Equal(b) || len(a) != ed25519.PrivateKeySize {
		t.Fatal("GenerateKey made equal or malformed keys")
	}
	data, err := checkpoint.MarshalPrivateKey(a)
	if err != nil {
		t.Fatal(err)
	}
	back, err := checkpoint.ParsePrivateKey(data)
	if err != nil || !back.Equal(a) {
		t.Fatalf("ParsePrivateKey(MarshalPrivateKey(k)) = %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "signing.pem")
	if _, err := checkpoint.ReadKeyFile(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadKeyFile of a missing file = %v, want fs.ErrNotExist", err)
	}
	if err := checkpoint.WriteKeyFile(path, key1); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
		}
		di, _ := os.Stat(filepath.Dir(path))
		if di.Mode().Perm() != 0o700 {
			t.Errorf("key directory mode %v, want 0700", di.Mode().Perm())
		}
	}
	if err := checkpoint.WriteKeyFile(path, key2); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteKeyFile over an existing key = %v, want fs.ErrExist", err)
	}
	key, err := checkpoint.ReadKeyFile(path)
	if err != nil || !key.Equal(key1) {
		t.Fatalf("ReadKeyFile = %v; or the key was replaced", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("the key directory holds %d files, want only the key", len(entries))
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("nope"), 0o600)
	if _, err := checkpoint.ReadKeyFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("ReadKeyFile of a bad file = %v; want an error naming it", err)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signing.pem")
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	if _, err := checkpoint.LoadKey(getenv, path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadKey with nothing = %v, want fs.ErrNotExist", err)
	}
	if _, err := checkpoint.LoadKey(nil, ""); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadKey without a path = %v, want fs.ErrNotExist", err)
	}
	key, created, err := checkpoint.LoadOrCreateKey(getenv, path, nil)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateKey = %v, %v", created, err)
	}
	again, created, err := checkpoint.LoadOrCreateKey(getenv, path, nil)
	if err != nil || created || !again.Equal(key) {
		t.Fatalf("second LoadOrCreateKey = %v, %v, same key %v", created, err, again.Equal(key))
	}
	// The variable wins over the file.
	env[checkpoint.KeyEnv] = noteSignerKey(t, server, key1)
	got, err := checkpoint.LoadKey(getenv, path)
	if err != nil || !got.Equal(key1) {
		t.Fatalf("LoadKey with %s set = %v", checkpoint.KeyEnv, err)
	}
	got, created, err = checkpoint.LoadOrCreateKey(getenv, filepath.Join(dir, "unused.pem"), nil)
	if err != nil || created || !got.Equal(key1) {
		t.Fatalf("LoadOrCreateKey with %s set = %v, %v", checkpoint.KeyEnv, created, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "unused.pem")); err == nil {
		t.Error("LoadOrCreateKey wrote a file although the variable holds the key")
	}
	env[checkpoint.KeyEnv] = "nope"
	if _, err := checkpoint.LoadKey(getenv, path); err == nil || !strings.Contains(err.Error(), checkpoint.KeyEnv) {
		t.Errorf("LoadKey with a bad variable = %v; want an error naming it", err)
	}
}

// TestLoadOrCreateKeyRace: concurrent first starts agree on one key.
func TestLoadOrCreateKeyRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.pem")
	keys := make([]ed25519.PrivateKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, _, err := checkpoint.LoadOrCreateKey(nil, path, nil)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !k.Equal(keys[0]) {
			t.Fatal("concurrent LoadOrCreateKey calls returned different keys")
		}
	}
}
