package webhook_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
)

// nodeEnv names the npm prefix directory holding
// node_modules/standardwebhooks (1.1.1); .ci/run installs it there.
const nodeEnv = "HASHTRAIL_TEST_NODE_WEBHOOKS"

type nodeRecord struct {
	ID       string   `json:"id"`
	Verified []bool   `json:"verified"`
	Errors   []string `json:"errors"`
	Events   int      `json:"events"`
	Seqs     []int64  `json:"seqs"`
}

// startNodeReceiver runs testdata/receiver.js verifying with secrets and
// returns its base URL.
func startNodeReceiver(t *testing.T, secrets ...string) string {
	t.Helper()
	dir := os.Getenv(nodeEnv)
	if dir == "" {
		t.Skipf("%s is unset: set it to an npm prefix with standardwebhooks@1.1.1 installed (npm install --prefix DIR standardwebhooks@1.1.1) to verify signatures with the npm library", nodeEnv)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks", "package.json")); err != nil {
		t.Fatalf("%s=%s: no node_modules/standardwebhooks there: %v", nodeEnv, dir, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("%s is set but node is not on PATH: %v", nodeEnv, err)
	}
	script, _ := filepath.Abs("testdata/receiver.js")
	sj, _ := json.Marshal(secrets)
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "STANDARDWEBHOOKS_DIR="+dir, "SECRETS="+string(sj))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
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
			t.Fatalf("receiver said %q", line)
		}
		return "http://127.0.0.1:" + port
	case <-time.After(20 * time.Second):
		t.Fatal("the node receiver did not start in 20s")
	}
	return ""
}

func nodeLog(t *testing.T, base string) []nodeRecord {
	t.Helper()
	resp, err := http.Get(base + "/log")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var recs []nodeRecord
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestStandardWebhooksLibrary has every request verified by the npm
// standardwebhooks library: a batch, one event per request, batches split
// by size, and a secret rotation (old only, old and new, new only), the
// receiver checking each request against both secrets separately.
func TestStandardWebhooksLibrary(t *testing.T) {
	old, cur := secret('o'), secret('n')
	base := startNodeReceiver(t, old, cur)
	evs := events("acme", 0, 40)
	evs[3].Actor.Name = "Zoë Ærøskøbing 🎉"
	evs[4].Description = "line\nbreak \u2028 and \"quotes\""

	phases := []struct {
		name     string
		settings map[string]any
		batch    []*hashtrail.Event
		want     []bool // verdict per receiver secret (old, new)
	}{
		{"old secret only", map[string]any{"secrets": []string{old}}, evs[0:10], []bool{true, false}},
		{"rotation: old and new", map[string]any{"secrets": []string{old, cur}}, evs[10:20], []bool{true, true}},
		{"rotation: new and old", map[string]any{"secrets": []string{cur, old}, "per_event": true}, evs[20:23], []bool{true, true}},
		{"new secret only, split by size", map[string]any{"secrets": []string{cur}, "max_body_bytes": 4096}, evs[23:40], []bool{false, true}},
	}
	seen := 0
	next := int64(0)
	for _, ph := range phases {
		ph.settings["url"] = base + "/hook"
		s := newSink(t, ph.settings)
		if err := s.Deliver(t.Context(), ph.batch); err != nil {
			t.Fatalf("%s: %v", ph.name, err)
		}
		recs := nodeLog(t, base)
		if len(recs) == seen {
			t.Fatalf("%s: the receiver recorded nothing", ph.name)
		}
		for _, r := range recs[seen:] {
			if fmt.Sprint(r.Verified) != fmt.Sprint(ph.want) {
				t.Errorf("%s: request %s verified %v (errors %q), want %v", ph.name, r.ID, r.Verified, r.Errors, ph.want)
			}
			for _, q := range r.Seqs {
				if q != next {
					t.Errorf("%s: seq %d, want %d", ph.name, q, next)
				}
				next = q + 1
			}
		}
		seen = len(recs)
	}
	if next != 40 {
		t.Errorf("the receiver verified events up to seq %d, want 40", next)
	}
	t.Logf("%d requests verified by standardwebhooks@1.1.1", seen)
}
