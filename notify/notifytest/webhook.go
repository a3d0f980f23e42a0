package notifytest

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NodeEnv names the npm prefix directory holding
// node_modules/standardwebhooks (1.1.1); .ci/run installs it there.
const NodeEnv = "HASHTRAIL_TEST_NODE_WEBHOOKS"

//go:embed receiver.js
var receiverJS []byte

// HookRecord is what the receiver recorded of one request: its webhook-id,
// the verdict of the npm library for each secret, and the JSON payload.
type HookRecord struct {
	ID       string          `json:"id"`
	Verified []bool          `json:"verified"`
	Errors   []string        `json:"errors"`
	Payload  json.RawMessage `json:"payload"`
}

// Receiver is a running node webhook receiver.
type Receiver struct {
	// URL receives webhooks (any path).
	URL string
}

// StartReceiver runs the receiver verifying with secrets (whsec_...), or
// skips the test when NodeEnv is unset.
func StartReceiver(tb testing.TB, secrets ...string) *Receiver {
	tb.Helper()
	dir := os.Getenv(NodeEnv)
	if dir == "" {
		tb.Skipf("%s is unset: set it to an npm prefix with standardwebhooks@1.1.1 installed (npm install --prefix DIR standardwebhooks@1.1.1) to verify signatures with the npm library", NodeEnv)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks", "package.json")); err != nil {
		tb.Fatalf("%s=%s: no node_modules/standardwebhooks there: %v", NodeEnv, dir, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Fatalf("%s is set but node is not on PATH: %v", NodeEnv, err)
	}
	script := filepath.Join(tb.TempDir(), "receiver.js")
	if err := os.WriteFile(script, receiverJS, 0o600); err != nil {
		tb.Fatal(err)
	}
	sj, _ := json.Marshal(secrets)
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "STANDARDWEBHOOKS_DIR="+dir, "SECRETS="+string(sj))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ready:
		port, ok := strings.CutPrefix(line, "listening ")
		if !ok {
			tb.Fatalf("receiver said %q", line)
		}
		return &Receiver{URL: "http://127.0.0.1:" + port}
	case <-time.After(20 * time.Second):
		tb.Fatal("the node receiver did not start in 20s")
	}
	return nil
}

// Log returns what the receiver recorded, oldest first.
func (r *Receiver) Log(tb testing.TB) []HookRecord {
	tb.Helper()
	resp, err := http.Get(r.URL + "/log")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var recs []HookRecord
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		tb.Fatal(err)
	}
	return recs
}

// Wait returns the log once it holds at least n records.
func (r *Receiver) Wait(tb testing.TB, n int, timeout time.Duration) []HookRecord {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		recs := r.Log(tb)
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the receiver got %d requests after %s, want %d", len(recs), timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
