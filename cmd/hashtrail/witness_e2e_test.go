package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/checkpoint"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/mod/sumdb/note"
)

// The witness end-to-end test runs litewitness (filippo.io/torchwood), a
// C2SP tlog-witness we did not write, next to `hashtrail serve --witness`,
// and checks that installation checkpoints come back cosigned and that
// `hashtrail verify --witness` requires the cosignature.
//
// $HASHTRAIL_LITEWITNESS names a litewitness binary to use; otherwise the
// test builds it with `go install filippo.io/torchwood/cmd/litewitness@v0.9.0`
// and skips if that fails, unless $HASHTRAIL_REQUIRE_LITEWITNESS is set (CI
// sets both, see .ci/run), when it fails instead.

const litewitnessVersion = "v0.9.0"

// litewitnessBinary returns the path of a litewitness binary, or skips.
func litewitnessBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HASHTRAIL_LITEWITNESS"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		t.Fatalf("$HASHTRAIL_LITEWITNESS=%s: no such file", p)
	}
	bin := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "go", "install", "filippo.io/torchwood/cmd/litewitness@"+litewitnessVersion)
	cmd.Dir = bin // outside this module: litewitness builds with torchwood's own go.mod
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("cannot build litewitness %s (set $HASHTRAIL_LITEWITNESS to a built one): %v\n%s", litewitnessVersion, err, out)
		if os.Getenv("HASHTRAIL_REQUIRE_LITEWITNESS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return filepath.Join(bin, "litewitness")
}

// serveAgent serves an ssh-agent holding key on a new Unix socket (litewitness
// signs through one) and returns the socket's path.
func serveAgent(t *testing.T, key ed25519.PrivateKey) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lw") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	kr := agent.NewKeyring()
	if err := kr.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); agent.ServeAgent(kr, c) }()
		}
	}()
	return sock
}

// addWitnessLog registers a log and its key in a litewitness database, as
// `witnessctl add-log` and `witnessctl add-key` do (same schema).
func addWitnessLog(t *testing.T, db, origin, vkey string) {
	t.Helper()
	d, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	empty := sha256.Sum256(nil)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS log (origin TEXT PRIMARY KEY, tree_size INTEGER NOT NULL, tree_hash TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS key (origin TEXT NOT NULL, key TEXT NOT NULL, FOREIGN KEY(origin) REFERENCES log(origin))`,
		`CREATE TABLE IF NOT EXISTS bastion (origin TEXT NOT NULL, bastion TEXT NOT NULL, FOREIGN KEY(origin) REFERENCES log(origin))`,
	} {
		if _, err := d.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Exec(`INSERT INTO log (origin, tree_size, tree_hash) VALUES (?, 0, ?)`, origin, base64.StdEncoding.EncodeToString(empty[:])); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO key (origin, key) VALUES (?, ?)`, origin, vkey); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestWitnessEndToEnd(t *testing.T) {
	lw := litewitnessBinary(t)
	isolateEnv(t)
	t.Setenv(checkpoint.KeyEnv, "")
	tmp := t.TempDir()

	// Hashtrail's signing key, made first so the witness can know the log.
	logKey, err := checkpoint.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := checkpoint.MarshalPrivateKey(logKey)
	keyFile := filepath.Join(tmp, "signing-key.pem")
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	logVKey, _ := checkpoint.VerifierKey(e2eServerName, logKey.Public().(ed25519.PublicKey))

	// The witness: its key in an ssh-agent, the installation log in its
	// database (origin: the server name; key: GET /v1/log/key).
	const witnessName = "witness.example.test/w1"
	wPub, wKey, _ := ed25519.GenerateKey(rand.Reader)
	wVKey, _ := checkpoint.CosignatureVerifierKey(witnessName, wPub)
	sshPub, _ := ssh.NewPublicKey(wPub)
	db := filepath.Join(tmp, "litewitness.db")
	addWitnessLog(t, db, e2eServerName, logVKey)
	addr := freeAddr(t)
	var lwOut bytes.Buffer
	cmd := exec.Command(lw, "-db", db, "-name", witnessName, "-ssh-agent", serveAgent(t, wKey),
		"-key", ssh.FingerprintSHA256(sshPub), "-listen", addr)
	cmd.Stdout, cmd.Stderr = &lwOut, &lwOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("litewitness does not listen on %s:\n%s", addr, lwOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	s := runServeCmd(t, "--data", filepath.Join(tmp, "data"), "--server-name", e2eServerName,
		"--signing-key", keyFile, "--witness", "http://"+addr+"="+wVKey)
	key := s.bootstrapKey()
	for round := range 3 {
		var batch []any
		for i := range 50 {
			batch = append(batch, loginEvent(fmt.Sprintf("ev-%d-%d", round, i)))
		}
		if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants/acme/events", key, map[string]any{"events": batch}, nil); code != 200 {
			t.Fatalf("ingest: %d", code)
		}
		time.Sleep(300 * time.Millisecond)
	}

	// Wait until the whole log is in an installation checkpoint the witness
	// cosigned.
	var w api.Witnessed
	deadline := time.Now().Add(30 * time.Second)
	for {
		code := callJSON(t, http.DefaultClient, "GET", s.url+"/v1/tenants/acme/log/witnessed", key, nil, &w)
		if code == 200 && strings.Contains(w.Installation, "— "+witnessName+" ") && strings.Contains(w.Checkpoint, "\n150\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cosigned installation checkpoint covering acme at 150: %d %+v\nserve:\n%s\nlitewitness:\n%s", code, w, s.out.String(), lwOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The cosignature verifies with torchwood's own verifier, and the
	// installation checkpoint with x/mod's note and the log key.
	code, inst := get(t, s.url+"/v1/log/installation/checkpoint", "")
	if code != 200 {
		t.Fatalf("GET installation checkpoint: %d %s", code, inst)
	}
	tv, err := torchwood.NewCosignatureVerifier(wVKey)
	if err != nil {
		t.Fatal(err)
	}
	lv, _ := note.NewVerifier(logVKey)
	n, err := note.Open(inst, note.VerifierList(lv, tv))
	if err != nil || len(n.Sigs) != 2 || !strings.HasPrefix(n.Text, e2eServerName+"\n") {
		t.Fatalf("installation checkpoint: %v, %d signatures\n%s", err, len(n.Sigs), inst)
	}

	verify := func(witnessKeys ...string) (string, error) {
		args := []string{"verify", "--url", s.url, "--api-key", key, "--tenant", "acme", "--log-key", logVKey, "--no-state"}
		for _, k := range witnessKeys {
			if strings.HasPrefix(k, "--") {
				args = append(args, k)
				continue
			}
			args = append(args, "--witness", k)
		}
		var out, errOut syncBuffer
		err := run(t.Context(), &out, &errOut, args...)
		return out.String() + errOut.String(), err
	}
	out, err := verify(wVKey)
	if err != nil || !strings.Contains(out, "OK:") || !strings.Contains(out, "cosigned by "+witnessName) {
		t.Fatalf("verify --witness: %v\n%s", err, out)
	}
	// A witness key that did not cosign: verify fails.
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := checkpoint.CosignatureVerifierKey(witnessName, otherPub)
	out, err = verify(other)
	if err == nil || !strings.Contains(out, "FAILED") || !strings.Contains(out, "cosigned by 0 of the required witnesses") {
		t.Fatalf("verify --witness <wrong key>: %v\n%s", err, out)
	}
	// Both keys: the default quorum (all) fails, a quorum of 1 passes.
	if out, err := verify(wVKey, other); err == nil {
		t.Fatalf("verify with two witnesses, default quorum (all), passed:\n%s", out)
	}
	if out, err := verify(wVKey, other, "--witness-quorum=1"); err != nil || !strings.Contains(out, "OK:") {
		t.Fatalf("verify with two witnesses, quorum 1: %v\n%s", err, out)
	}
}
