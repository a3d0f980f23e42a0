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
	return startServerWith(t, "--data", dataDir)
}

// startServerWith starts `hashtrail serve` on a free port with the
// bootstrap key crashKey and the given flags.
func startServerWith(t *testing.T, flags ...string) *serverProc {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, flags...)...)
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

// acks collects the events a server acknowledged, across rounds.
type acks struct {
	mu sync.Mutex
	m  map[string]ack // tenant/id -> ack
}

// load runs six writers that post batches of 1 to 20 events with unique ids
// to url, spread over tenants, until ctx ends, recording every
// acknowledgement in a. A request cut short by a crash is not acknowledged.
// Wait on the returned group after cancelling ctx.
func (a *acks) load(ctx context.Context, url string, round int, tenants []string) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				tenant := tenants[(w+i)%len(tenants)]
				evs := make([]map[string]any, 1+i%20)
				for j := range evs {
					evs[j] = map[string]any{"id": fmt.Sprintf("r%d-w%d-%d-%d", round, w, i, j), "action": "user.login",
						"actor": map[string]any{"type": "user", "id": fmt.Sprint(j)}}
				}
				body, _ := json.Marshal(map[string]any{"events": evs})
				req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/tenants/"+tenant+"/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+crashKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
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
				a.mu.Lock()
				for _, e := range out.Events {
					a.m[e.Tenant+"/"+e.ID] = ack{e.Tenant, e.ID, e.Seq}
				}
				a.mu.Unlock()
			}
		})
	}
	return &wg
}

// check lists every tenant's log from the server at url and returns how
// many acknowledged events it holds and what is wrong: a gap or disorder in
// seq, an event stored twice, an event stored at another seq than
// acknowledged.
func (a *acks) check(t *testing.T, url string, tenants []string) (found int, problems []string) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, tenant := range tenants {
		seen := map[string]bool{}
		for i, ev := range listAll(t, url, tenant) {
			if ev.Seq != int64(i) {
				problems = append(problems, fmt.Sprintf("%s: seq %d at position %d: the log has a gap or disorder", tenant, ev.Seq, i))
				break
			}
			if seen[ev.ID] {
				problems = append(problems, fmt.Sprintf("%s: event %s stored twice", tenant, ev.ID))
			}
			seen[ev.ID] = true
			if k, ok := a.m[tenant+"/"+ev.ID]; ok {
				found++
				if k.seq != ev.Seq {
					problems = append(problems, fmt.Sprintf("%s/%s acknowledged as seq %d but stored as %d", tenant, ev.ID, k.seq, ev.Seq))
				}
			}
		}
	}
	return found, problems
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
	a := &acks{m: map[string]ack{}}
	tenants := []string{"crash-a", "crash-b", "crash-c"}
	const rounds = 5
	for round := range rounds {
		srv := startServer(t, dataDir)
		ctx, cancel := context.WithCancel(t.Context())
		wg := a.load(ctx, srv.url, round, tenants)
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		srv.kill()
		cancel()
		wg.Wait()
	}
	if len(a.m) == 0 {
		t.Fatal("no event was acknowledged; the load did not reach the server")
	}
	srv := startServer(t, dataDir)
	defer srv.kill()
	found, problems := a.check(t, srv.url, tenants)
	for _, p := range problems {
		t.Error(p)
	}
	if found != len(a.m) {
		t.Fatalf("%d acknowledged events, only %d found after %d SIGKILLs", len(a.m), found, rounds)
	}
	t.Logf("%d acknowledged events all present after %d SIGKILLs", len(a.m), rounds)
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
