package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"strconv"
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
	runOutage(t, store, dir, kill, func() {
		exec("ALTER ROLE " + role + " NOLOGIN")
		kill()
	}, func() { exec("ALTER ROLE " + role + " LOGIN") })
}

// runOutage runs a server on store (data directory dir) under load, kills
// its connections a few times (kill), takes the database away (down) until
// /readyz fails, gives it back (up), and checks that ingest answered 503
// with Retry-After meanwhile, resumed afterwards, and lost nothing
// acknowledged, and that the log verifies.
func runOutage(t *testing.T, store, dir string, kill, down, up func()) {
	t.Helper()
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
	down()
	waitReady(t, srv.url, http.StatusServiceUnavailable)
	time.Sleep(time.Second)
	before := len(a.snapshot())
	up()
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

// TestPostgresRestart stops the database itself under load, as a crash
// does (pg_ctl stop -m immediate: no shutdown checkpoint, recovery from the
// WAL on start), and starts it again: the same checks as
// TestPostgresOutage. It runs a private PostgreSQL cluster (initdb as the
// postgres user, on a free port) so the machine's shared server, which
// other tests use at the same time, is never stopped.
func TestPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server process and a PostgreSQL cluster")
	}
	if os.Getenv(pgEnv) == "" {
		t.Skipf("%s is not set: no PostgreSQL to test against", pgEnv)
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	runuser, err := osexec.LookPath("runuser")
	if len(bins) == 0 || err != nil {
		t.Skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin) or runuser to run a private cluster")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	root, err := os.MkdirTemp("", "hashtrail-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("no postgres user to run a private cluster as")
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(root, uid, gid); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "data")
	asPostgres := func(name string, args ...string) {
		t.Helper()
		out, err := osexec.Command(runuser, append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	asPostgres("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	opts := "-p " + port + " -k " + root + " -c listen_addresses=127.0.0.1"
	start := func() { asPostgres("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(root, "log"), "-w", "start") }
	stop := func() { asPostgres("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop") }
	start()
	t.Cleanup(func() {
		osexec.Command(runuser, "-u", "postgres", "--", filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop").Run()
	})
	store := "postgres://postgres@127.0.0.1:" + port + "/postgres?sslmode=disable"
	admin, err := pgx.Connect(t.Context(), store)
	if err != nil {
		t.Fatal(err)
	}
	kill := func() {
		admin.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
	}
	defer func() { admin.Close(context.Background()) }()
	runOutage(t, store, t.TempDir(), kill, stop, start)
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
