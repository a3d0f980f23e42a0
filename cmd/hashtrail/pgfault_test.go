package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPostgresOutage runs a server process on PostgreSQL under load and
// takes the database away from it: its connections are killed with
// pg_terminate_backend while its role may not log in again, so the outage
// lasts until the role is allowed back, as when the database is down or
// unreachable. During the outage /readyz fails and ingest answers 503 with
// Retry-After; afterwards the server serves again by itself, and every
// event acknowledged before, during and after is stored exactly once, in a
// gapless log, that verifies. Connection kills without an outage are
// mixed in, too.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server process")
	}
	base := os.Getenv(pgEnv)
	if base == "" {
		t.Skipf("%s is not set: no PostgreSQL to test against", pgEnv)
	}
	var b [5]byte
	_, _ = rand.Read(b[:])
	role := "ht_fault_" + hex.EncodeToString(b[:])
	admin, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatalf("connecting to %s: %v", pgEnv, err)
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE ROLE " + role + " LOGIN")
	exec("CREATE SCHEMA " + role + " AUTHORIZATION " + role)
	t.Cleanup(func() {
		admin.Exec(context.Background(), "ALTER ROLE "+role+" LOGIN")
		admin.Exec(context.Background(), "DROP SCHEMA "+role+" CASCADE")
		admin.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
		admin.Exec(context.Background(), "DROP ROLE "+role)
		admin.Close(context.Background())
	})
	kill := func() {
		t.Helper()
		if _, err := admin.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role); err != nil {
			t.Fatal(err)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	q := u.Query()
	q.Set("schema", role)
	u.RawQuery = q.Encode()
	store := u.String()

	dir := t.TempDir()
	srv := startServerWith(t, "--data", dir, "--store", store)
	defer srv.kill()
	tenants := []string{"fault-a", "fault-b"}
	a := &acks{m: map[string]ack{}}
	var unavailable, withoutRetryAfter atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	wg := a.load(ctx, srv.url, 0, tenants)
	var probe sync.WaitGroup
	probe.Go(func() { probe503(ctx, srv.url, &unavailable, &withoutRetryAfter) })

	// Connection kills alone: the pool reconnects.
	for range 5 {
		time.Sleep(200 * time.Millisecond)
		kill()
	}
	// An outage: no connection can be made until the role may log in again.
	exec("ALTER ROLE " + role + " NOLOGIN")
	kill()
	waitReady(t, srv.url, http.StatusServiceUnavailable)
	time.Sleep(time.Second)
	before := len(a.snapshot())
	exec("ALTER ROLE " + role + " LOGIN")
	waitReady(t, srv.url, http.StatusOK)
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	probe.Wait()

	if unavailable.Load() == 0 {
		t.Error("no ingest request was answered 503 during the outage")
	}
	if n := withoutRetryAfter.Load(); n > 0 {
		t.Errorf("%d answers 503 came without Retry-After", n)
	}
	if after := len(a.snapshot()); after <= before {
		t.Errorf("no event was acknowledged after the database came back (%d before, %d after)", before, after)
	}
	found, problems := a.check(t, srv.url, tenants)
	for _, p := range problems {
		t.Error(p)
	}
	if found != len(a.m) {
		t.Fatalf("%d acknowledged events, only %d found after the outage", len(a.m), found)
	}
	for _, tn := range tenants {
		waitCovered(t, srv.url, tn, int64(len(listAll(t, srv.url, tn))))
	}
	verifyStore(t, store, filepath.Join(dir, signingKeyFile))
	t.Logf("%d events acknowledged across connection kills and an outage; %d requests answered 503, all with Retry-After",
		len(a.m), unavailable.Load())
}

// snapshot returns a copy of the acknowledgements so far.
func (a *acks) snapshot() map[string]ack {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[string]ack, len(a.m))
	for k, v := range a.m {
		m[k] = v
	}
	return m
}

// probe503 posts an event every 50 ms until ctx ends, counting 503
// answers and those of them without Retry-After.
func probe503(ctx context.Context, base string, unavailable, withoutRetryAfter *atomic.Int64) {
	for i := 0; ctx.Err() == nil; i++ {
		body := fmt.Sprintf(`{"id":"probe-%d","action":"user.login","actor":{"type":"user","id":"1"}}`, i)
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/tenants/fault-probe/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+crashKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			if resp.StatusCode == http.StatusServiceUnavailable {
				unavailable.Add(1)
				if resp.Header.Get("Retry-After") == "" {
					withoutRetryAfter.Add(1)
				}
			}
			resp.Body.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitReady waits until GET /readyz answers status.
func waitReady(t *testing.T, base string, status int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := 0
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			last = resp.StatusCode
			resp.Body.Close()
			if last == status {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz answered %d, not %d, for 30s", last, status)
}
