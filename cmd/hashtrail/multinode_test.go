package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgEnv names the variable with the PostgreSQL URL the tests use; .ci/run
// sets it.
const pgEnv = "HASHTRAIL_TEST_POSTGRES"

// pgSchemaURL returns the test database's store URL with a fresh schema
// (the schema parameter), dropped when the test ends, or skips the test when pgEnv is
// unset.
func pgSchemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv(pgEnv)
	if base == "" {
		t.Skipf("%s is not set: no PostgreSQL to test against (e.g. %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", pgEnv, pgEnv)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "ht_cmd_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatalf("connecting to %s: %v", pgEnv, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("dropping schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestMultiNodePostgres runs two real server processes on one PostgreSQL
// database under concurrent load on both, kills one with SIGKILL in the
// middle and starts it again, and checks that every acknowledged event is
// stored once at its acknowledged seq, seq is gapless in every tenant, an
// id sent to both nodes at once is stored once, every log gets a checkpoint
// covering it, and `hashtrail verify --store` passes.
func TestMultiNodePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real server processes")
	}
	store := pgSchemaURL(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	key := filepath.Join(dirA, "signing-key.pem")
	flags := func(dir string) []string {
		return []string{"--data", dir, "--store", store, "--signing-key", key, "--server-name", "multinode.test"}
	}
	nodeA := startServerWith(t, flags(dirA)...) // creates the key file
	nodeB := startServerWith(t, flags(dirB)...)
	defer func() { nodeB.kill() }()

	tenants := []string{"mn-a", "mn-b", "mn-c"}
	a := &acks{m: map[string]ack{}}
	ctx, cancel := context.WithCancel(t.Context())
	wgA := a.load(ctx, nodeA.url, 0, tenants)
	wgB := a.load(ctx, nodeB.url, 1, tenants)
	dupErrs := make(chan error, 1)
	var dupWG sync.WaitGroup
	dupWG.Go(func() { dupErrs <- sameIDOnBothNodes(ctx, nodeA.url, nodeB.url, "mn-a") })

	time.Sleep(1500 * time.Millisecond)
	nodeA.kill() // in the middle of its commits
	time.Sleep(time.Second)
	nodeA = startServerWith(t, flags(dirA)...)
	defer func() { nodeA.kill() }()
	wgA2 := a.load(ctx, nodeA.url, 2, tenants)
	time.Sleep(1500 * time.Millisecond)
	cancel()
	wgA.Wait()
	wgB.Wait()
	wgA2.Wait()
	dupWG.Wait()
	if err := <-dupErrs; err != nil {
		t.Error(err)
	}

	if len(a.m) == 0 {
		t.Fatal("no event was acknowledged; the load did not reach the servers")
	}
	for _, n := range []*serverProc{nodeA, nodeB} {
		found, problems := a.check(t, n.url, tenants)
		for _, p := range problems {
			t.Error(p)
		}
		if found != len(a.m) {
			t.Fatalf("%d acknowledged events, only %d found through %s", len(a.m), found, n.url)
		}
	}
	for _, tn := range tenants {
		waitCovered(t, nodeB.url, tn, int64(len(listAll(t, nodeB.url, tn))))
	}
	t.Logf("%d acknowledged events on two nodes, one killed with SIGKILL: all present once, gapless, signed", len(a.m))

	out := verifyStore(t, store, key)
	if !strings.Contains(out, "mn-a") {
		t.Errorf("verify did not report tenant mn-a:\n%s", out)
	}
}

// verifyStore runs `hashtrail verify --store store` with the signing key
// file key and returns its output, failing the test if it does not pass.
func verifyStore(t *testing.T, store, key string) string {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), bin, "verify", "--store", store, "--signing-key", key).CombinedOutput()
	if err != nil {
		t.Fatalf("hashtrail verify --store: %v\n%s", err, out)
	}
	return string(out)
}

// sameIDOnBothNodes posts each of a series of events to both nodes at the
// same moment, with the same id, until ctx ends, and reports an answer
// that is neither the same seq from both nor a retryable failure.
func sameIDOnBothNodes(ctx context.Context, urlA, urlB, tenant string) error {
	for i := 0; ctx.Err() == nil; i++ {
		body := fmt.Sprintf(`{"id":"both-%d","action":"user.login","actor":{"type":"user","id":"7"}}`, i)
		var wg sync.WaitGroup
		seqs := [2]int64{-1, -1}
		for j, u := range []string{urlA, urlB} {
			wg.Go(func() { seqs[j] = postSeq(ctx, u, tenant, body) })
		}
		wg.Wait()
		if seqs[0] >= 0 && seqs[1] >= 0 && seqs[0] != seqs[1] {
			return fmt.Errorf("event both-%d stored twice: seq %d on one node and %d on the other", i, seqs[0], seqs[1])
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// postSeq posts one event and returns its seq, or -1 if it was not
// acknowledged.
func postSeq(ctx context.Context, base, tenant, body string) int64 {
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/tenants/"+tenant+"/events", bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+crashKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var out struct{ Events []struct{ Seq int64 } }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Events) != 1 {
		return -1
	}
	return out.Events[0].Seq
}

// waitCovered waits until tenant's latest checkpoint at base covers size
// events (requests cut short when the load stopped may still have
// committed, so the log may have grown past what was listed).
func waitCovered(t *testing.T, base, tenant string, size int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/v1/tenants/"+tenant+"/log/checkpoint", nil)
		req.Header.Set("Authorization", "Bearer "+crashKey)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			last = b.String()
			lines := strings.SplitN(last, "\n", 3)
			if n, err := strconv.ParseInt(strings.TrimSpace(lineAt(lines, 1)), 10, 64); resp.StatusCode == 200 && err == nil && n >= size {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no checkpoint of %s covering %d events; the latest:\n%s", tenant, size, last)
}

func lineAt(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}
