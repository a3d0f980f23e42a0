package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashKey = "crash-test-bootstrap-key-0123456789abcdef"

// buildBinary builds hashtrail once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hashtrail-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hashtrail")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

var listenRE = regexp.MustCompile(`listening.*?addr"?[=:]"?(127\.0\.0\.1:\d+)`)

// serverProc is a hashtrail serve subprocess.
type serverProc struct {
	cmd *exec.Cmd
	url string
}

func startServer(t *testing.T, dataDir string) *serverProc {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", dataDir)
	cmd.Env = append(os.Environ(), "HASHTRAIL_BOOTSTRAP_KEY="+crashKey)
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
	}()
	select {
	case a := <-addr:
		return &serverProc{cmd: cmd, url: "http://" + a}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("server did not report its listening address")
	}
	return nil
}

func (s *serverProc) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

type ack struct {
	tenant, id string
	seq        int64
}

// TestCrashDurability runs the server as a subprocess under concurrent load,
// kills it with SIGKILL at random moments several times, and checks after
// each restart that every acknowledged event is present exactly once with
// its acknowledged seq, and that seq is gapless in every tenant.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs real server processes")
	}
	dataDir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var mu sync.Mutex
	acked := map[string]ack{} // tenant/id -> ack
	tenants := []string{"crash-a", "crash-b", "crash-c"}
	const rounds = 5
	for round := range rounds {
		srv := startServer(t, dataDir)
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					tenant := tenants[(w+i)%len(tenants)]
					n := 1 + (i % 20)
					evs := make([]map[string]any, n)
					for j := range evs {
						evs[j] = map[string]any{"id": fmt.Sprintf("r%d-w%d-%d-%d", round, w, i, j), "action": "user.login",
							"actor": map[string]any{"type": "user", "id": fmt.Sprint(j)}}
					}
					body, _ := json.Marshal(map[string]any{"events": evs})
					req, _ := http.NewRequestWithContext(ctx, "POST", srv.url+"/v1/tenants/"+tenant+"/events", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+crashKey)
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						continue // killed mid-request: not acknowledged
					}
					var out struct {
						Events []struct {
							Tenant, ID string
							Seq        int64
						}
					}
					err = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					if resp.StatusCode != 200 || err != nil {
						continue
					}
					mu.Lock()
					for _, e := range out.Events {
						acked[e.Tenant+"/"+e.ID] = ack{e.Tenant, e.ID, e.Seq}
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		srv.kill()
		cancel()
		wg.Wait()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no event was acknowledged; the load did not reach the server")
	}
	srv := startServer(t, dataDir)
	defer srv.kill()
	found := 0
	for _, tenant := range tenants {
		seen := map[string]bool{}
		for i, ev := range listAll(t, srv.url, tenant) {
			if ev.Seq != int64(i) {
				t.Fatalf("%s: seq %d at position %d: the log has a gap or disorder", tenant, ev.Seq, i)
			}
			if seen[ev.ID] {
				t.Fatalf("%s: event %s stored twice", tenant, ev.ID)
			}
			seen[ev.ID] = true
			if a, ok := acked[tenant+"/"+ev.ID]; ok {
				found++
				if a.seq != ev.Seq {
					t.Errorf("%s/%s acknowledged as seq %d but stored as %d", tenant, ev.ID, a.seq, ev.Seq)
				}
			}
		}
	}
	if found != len(acked) {
		t.Fatalf("%d acknowledged events, only %d found after %d SIGKILLs", len(acked), found, rounds)
	}
	t.Logf("%d acknowledged events all present after %d SIGKILLs", len(acked), rounds)
}

type listedEvent struct {
	ID  string `json:"id"`
	Seq int64  `json:"seq"`
}

func listAll(t *testing.T, url, tenant string) []listedEvent {
	t.Helper()
	var all []listedEvent
	cursor := ""
	for {
		u := url + "/v1/tenants/" + tenant + "/events?order=asc&limit=1000"
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		req, _ := http.NewRequestWithContext(t.Context(), "GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+crashKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events     []listedEvent `json:"events"`
			NextCursor string        `json:"next_cursor"`
		}
		if resp.StatusCode == 404 {
			resp.Body.Close()
			return nil // the tenant never got an event
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
			t.Fatalf("listing %s: status %d, %v", tenant, resp.StatusCode, err)
		}
		resp.Body.Close()
		all = append(all, page.Events...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}
