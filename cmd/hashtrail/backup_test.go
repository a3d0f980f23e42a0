package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var backupTenants = []string{"bk-a", "bk-b", "bk-c"}

// loadAround runs the crash test's load against a server and takes a backup
// in the middle of it with backup. It returns the events acknowledged
// before the backup started, and the log sizes once the load stopped and
// every log is covered by a checkpoint.
func loadAround(t *testing.T, srv *serverProc, backup func()) (before map[string]ack) {
	t.Helper()
	a := &acks{m: map[string]ack{}}
	ctx, cancel := context.WithCancel(t.Context())
	wg := a.load(ctx, srv.url, 0, backupTenants)
	waitFor(t, "acknowledged events", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return len(a.m) > 200 })
	for _, tn := range backupTenants {
		waitFor(t, "a checkpoint of "+tn, func() bool { return hasCheckpoint(t, srv.url, tn) })
	}
	a.mu.Lock()
	before = maps.Clone(a.m)
	a.mu.Unlock()
	backup()
	a.mu.Lock()
	during := len(a.m) - len(before)
	a.mu.Unlock()
	time.Sleep(300 * time.Millisecond) // the logs grow past the backup
	cancel()
	wg.Wait()
	t.Logf("%d events acknowledged before the backup, %d while it ran, %d in all", len(before), during, len(a.m))
	for _, tn := range backupTenants {
		waitCovered(t, srv.url, tn, int64(len(listAll(t, srv.url, tn))))
	}
	return before
}

// checkRestored checks that a restored store holds every event in acked at
// its acknowledged seq.
func checkRestored(t *testing.T, store string, acked map[string]ack) {
	t.Helper()
	st := openTestStore(t, store)
	for _, k := range acked {
		e, err := st.Event(t.Context(), k.tenant, k.id)
		if err != nil {
			t.Fatalf("event %s/%s, acknowledged before the backup: %v", k.tenant, k.id, err)
		}
		if e.Seq != k.seq {
			t.Fatalf("event %s/%s acknowledged as seq %d, restored as %d", k.tenant, k.id, k.seq, e.Seq)
		}
	}
}

// hasCheckpoint reports whether tenant has a checkpoint on a server.
func hasCheckpoint(t *testing.T, base, tenant string) bool {
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/v1/tenants/"+tenant+"/log/checkpoint", nil)
	req.Header.Set("Authorization", "Bearer "+crashKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// httpGet returns the body of an unauthenticated GET.
func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

// getCheckpoint returns tenant's latest checkpoint note from a server.
func getCheckpoint(t *testing.T, base, tenant string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/v1/tenants/"+tenant+"/log/checkpoint", nil)
	req.Header.Set("Authorization", "Bearer "+crashKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET checkpoint of %s: %d %s", tenant, resp.StatusCode, b)
	}
	return string(b)
}

// TestBackupRestoreSQLite takes an online backup of a server's SQLite
// store during writes, restores it into a new directory (verify passes,
// every event acknowledged before the backup is there), and checks that
// restores that would roll a published log back are refused, naming the
// checkpoint: over the newer store itself, against a running node, and
// against a file of checkpoints; that a served database is not replaced;
// and that --force-rollback restores all the same, keeping the replaced
// database.
func TestBackupRestoreSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server process")
	}
	clearEnv(t)
	dataDir := t.TempDir()
	key := filepath.Join(dataDir, signingKeyFile)
	file := filepath.Join(t.TempDir(), "backup.db")
	srv := startServer(t, dataDir)
	defer srv.kill()
	before := loadAround(t, srv, func() {
		out := cli(t, "backup", "--data", dataDir, "--to", file)
		mustContain(t, out, "backup: wrote "+file)
		t.Log(strings.TrimSpace(out))
		privateFile(t, file)
	})
	if _, _, err := cliErr(t, "backup", "--data", dataDir, "--to", file); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a backup over an existing file: %v", err)
	}

	fresh := t.TempDir()
	out := cli(t, "restore", "--data", fresh, "--from", file)
	mustContain(t, out, "restore: restored "+file)
	vout, _, verr := cliErr(t, "verify", "--data", fresh, "--signing-key", key)
	if verr != nil {
		t.Fatalf("verify: %v\n%s", verr, vout)
	}
	checkRestored(t, fresh, before)

	// --check: the restored store is behind the served one, not the reverse.
	_, _, err := cliErr(t, "restore", "--check", "--data", fresh, "--published", dataDir)
	if err == nil || !strings.Contains(err.Error(), "is behind published checkpoints") || !strings.Contains(err.Error(), "serving it would roll the log back") {
		t.Errorf("restore --check of a store behind: %v", err)
	}
	mustContain(t, cli(t, "restore", "--check", "--data", dataDir, "--published", fresh), "holds every published checkpoint")

	// Published elsewhere: a running node, and a file of its checkpoints.
	_, _, err = cliErr(t, "restore", "--data", t.TempDir(), "--from", file, "--published", srv.url, "--api-key", crashKey)
	wantRollback(t, err, "at "+srv.url)
	notes := filepath.Join(t.TempDir(), "checkpoints.txt")
	os.WriteFile(notes, []byte(getCheckpoint(t, srv.url, "bk-a")+getCheckpoint(t, srv.url, "bk-b")+getCheckpoint(t, srv.url, "bk-c")), 0o600)
	_, _, err = cliErr(t, "restore", "--data", t.TempDir(), "--from", file, "--published", notes)
	wantRollback(t, err, "at "+notes)
	// A verifier's state file, as verify --url leaves it.
	state := filepath.Join(t.TempDir(), "verify-state.json")
	logKey := strings.TrimSpace(httpGet(t, srv.url+"/v1/log/key"))
	cli(t, "verify", "--url", srv.url, "--api-key", crashKey, "--tenant", "bk-b", "--log-key", logKey, "--sample", "5", "--state", state)
	_, _, err = cliErr(t, "restore", "--data", t.TempDir(), "--from", file, "--published", state)
	wantRollback(t, err, "at "+state)
	// A checkpoint the installation never signed is not taken for published.
	forged := strings.Replace(getCheckpoint(t, srv.url, "bk-c"), "\n\n", "\nextension\n\n", 1)
	os.WriteFile(notes, []byte(forged), 0o600)
	if _, _, err := cliErr(t, "restore", "--data", t.TempDir(), "--from", file, "--published", notes); err == nil || !strings.Contains(err.Error(), "does not verify with the installation's log keys") {
		t.Errorf("a forged published checkpoint: %v", err)
	}

	if _, _, err := cliErr(t, "restore", "--data", dataDir, "--from", file); err == nil || !strings.Contains(err.Error(), "is open in another process") {
		t.Errorf("restoring over a served database: %v", err)
	}
	srv.kill()

	_, _, err = cliErr(t, "restore", "--data", dataDir, "--from", file)
	wantRollback(t, err, "in the current store")
	_, errOut, err := cliErr(t, "restore", "--data", dataDir, "--from", file, "--force-rollback")
	if err != nil {
		t.Fatalf("restore --force-rollback: %v\n%s", err, errOut)
	}
	mustContain(t, errOut, "WARNING (--force-rollback): the backup's log bk-")
	mustContain(t, cli(t, "verify", "--data", dataDir), "OK: ")
	kept, _ := filepath.Glob(filepath.Join(dataDir, dbFile+".replaced-*"))
	if len(kept) == 0 {
		t.Error("the replaced database was not kept")
	}
}

// privateFile fails unless only its owner may read the file: a backup
// holds personal data.
func privateFile(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("%s has mode %v; a backup must be private", path, fi.Mode().Perm())
	}
}

// wantRollback checks a refusal that names a checkpoint and its source.
func wantRollback(t *testing.T, err error, source string) {
	t.Helper()
	if err == nil {
		t.Fatal("a restore behind published checkpoints went through")
	}
	msg := err.Error()
	t.Logf("refused: %s", msg)
	for _, want := range []string{"refusing to restore", "events but checkpoint ", "(root ", "was already published (" + source, "); restoring it would roll the log back"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, msg)
		}
	}
}

// TestBackupRestorePostgres is TestBackupRestoreSQLite on PostgreSQL:
// pg_dump while the server writes, a restore refused into a schema that is
// not empty and, against the schema it would replace (kept under another
// name), refused naming the checkpoint and undone; then restored into the
// empty schema, verified, with every event acknowledged before the backup.
func TestBackupRestorePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server process")
	}
	clearEnv(t)
	store := pgSchemaURL(t)
	dataDir := t.TempDir()
	key := filepath.Join(dataDir, signingKeyFile)
	file := filepath.Join(t.TempDir(), "backup.pgdump")
	srv := startServerWith(t, "--data", dataDir, "--store", store, "--signing-key", key)
	defer srv.kill()
	before := loadAround(t, srv, func() {
		_, errOut, err := cliErr(t, "backup", "--store", store, "--to", file)
		if err != nil {
			t.Fatalf("backup: %v\n%s", err, errOut)
		}
		privateFile(t, file)
	})
	srv.kill()

	if _, _, err := cliErr(t, "restore", "--store", store, "--from", file); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("restoring into the store's own schema: %v", err)
	}
	u, _ := url.Parse(store)
	schema := u.Query().Get("schema")
	old := schema + "_old"
	conn, err := pgx.Connect(t.Context(), os.Getenv(pgEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), fmt.Sprintf("ALTER SCHEMA %s RENAME TO %s", schema, old)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+old+" CASCADE") })
	q := u.Query()
	q.Set("schema", old)
	u.RawQuery = q.Encode()
	oldStore := u.String()

	_, _, err = cliErr(t, "restore", "--store", store, "--from", file, "--published", oldStore)
	wantRollback(t, err, "in the store ")
	mustContain(t, err.Error(), "schema "+old+")")
	var exists bool
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil || exists {
		t.Errorf("the refused restore left the schema %s behind (%v)", schema, err)
	}
	out, errOut, err := cliErr(t, "restore", "--store", store, "--from", file)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, errOut)
	}
	mustContain(t, out, "restore: restored "+file)
	mustContain(t, cli(t, "verify", "--store", store, "--signing-key", key), "OK: ")
	checkRestored(t, store, before)
}

// TestRestoreOtherInstallation refuses a backup of one installation over
// another's store.
func TestRestoreOtherInstallation(t *testing.T) {
	clearEnv(t)
	one, two := demoInstallationNamed(t, "one.test"), demoInstallationNamed(t, "two.test")
	file := filepath.Join(t.TempDir(), "one.db")
	cli(t, "backup", "--data", one, "--to", file)
	_, _, err := cliErr(t, "restore", "--data", two, "--from", file)
	if err == nil || !strings.Contains(err.Error(), "the backup is of the installation one.test") {
		t.Errorf("restoring another installation's backup: %v", err)
	}
}
