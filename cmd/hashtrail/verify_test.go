package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// The tamper tests run `hashtrail serve` as a real process, fill two tenant
// logs, stop it, and then edit copies of its data directory behind its back
// with database/sql, the way a database administrator could. `hashtrail
// verify` (the real binary) must report each edit, offline on the data
// directory and, where a server can run on the edited copy, over HTTP.

const (
	tamperTenant = "acme"
	tamperEvents = 40
)

// tamperFixture is a clean data directory with a stopped server's data.
type tamperFixture struct {
	bin    string
	dir    string // the clean data directory; never edited
	logKey string // GET /v1/log/key
	state  string // verifier state after a clean --url run (acme at size 40)
}

// newTamperFixture serves a new installation, fills acme with 40 events
// (personal data in every one) and another tenant with 10, waits for
// checkpoints covering them, checks the clean log in all three modes, and
// stops the server.
func newTamperFixture(t *testing.T) *tamperFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("tamper tests run real server processes")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	fx := &tamperFixture{bin: bin, dir: filepath.Join(t.TempDir(), "data"), state: filepath.Join(t.TempDir(), "state.json")}
	srv := startServer(t, fx.dir)
	for i := range tamperEvents {
		postEvents(t, srv.url, tamperTenant, tamperEvent(i))
	}
	for i := range 10 {
		postEvents(t, srv.url, "globex", tamperEvent(100+i))
	}
	waitCheckpoint(t, srv.url, tamperTenant, tamperEvents)
	waitCheckpoint(t, srv.url, "globex", 10)
	code, body := get(t, srv.url+"/v1/log/key", "")
	if code != 200 {
		t.Fatalf("GET /v1/log/key: %d", code)
	}
	fx.logKey = strings.TrimSpace(string(body))

	// A clean log verifies in all three modes.
	fx.wantOK(t, "--url", srv.url, "--api-key", crashKey, "--tenant", tamperTenant, "--log-key", fx.logKey, "--state", fx.state, "--expect-personal-data")
	fx.wantOK(t, "--url", srv.url, "--api-key", crashKey, "--tenant", tamperTenant, "--log-key", fx.logKey, "--state", fx.state, "--sample", "10", "--expect-personal-data")
	bundle := filepath.Join(t.TempDir(), "bundle.json")
	fx.run(t, "export", "--url", srv.url, "--api-key", crashKey, "--tenant", tamperTenant, "--format", "bundle", "--actor", "user:3", "-o", bundle)
	fx.wantOK(t, "--bundle", bundle, "--log-key", fx.logKey)
	stopServer(t, srv)
	fx.wantOK(t, "--data", fx.dir, "--log-key", fx.logKey)
	fx.wantOK(t, "--data", fx.dir) // the key from the signing key file
	fx.run(t, "export", "--data", fx.dir, "--tenant", tamperTenant, "--format", "bundle", "-o", bundle)
	fx.wantOK(t, "--bundle", bundle, "--log-key", fx.logKey)
	return fx
}

// tamperEvent is a login with personal data in the actor and target roles.
func tamperEvent(i int) map[string]any {
	return map[string]any{
		"id": fmt.Sprintf("ev-%03d", i), "action": "user.login",
		"actor":   map[string]any{"type": "user", "id": fmt.Sprint(i % 5), "email": fmt.Sprintf("u%d@example.com", i%5), "name": "Person " + fmt.Sprint(i%5)},
		"targets": []map[string]any{{"type": "user", "id": "99", "name": "Target Person"}, {"type": "project", "id": "7"}},
		"context": map[string]any{"ip": "203.0.113.7", "request_id": fmt.Sprint("req-", i)},
		"reason":  "ticket 123",
	}
}

func postEvents(t *testing.T, base, tenant string, events ...map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"events": events})
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/v1/tenants/"+tenant+"/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+crashKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("ingest: %d %s", resp.StatusCode, b)
	}
}

// waitCheckpoint waits until the latest checkpoint of tenant has size.
func waitCheckpoint(t *testing.T, base, tenant string, size int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get(t, base+"/v1/tenants/"+tenant+"/log/checkpoint", crashKey)
		if code == 200 {
			if lines := strings.SplitN(string(body), "\n", 3); len(lines) == 3 && lines[1] == fmt.Sprint(size) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d for %s: %d %s", size, tenant, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopServer stops a server process gracefully.
func stopServer(t *testing.T, s *serverProc) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		s.kill()
		t.Fatal("the server did not stop")
	}
}

// run runs the hashtrail binary and returns its output; it fails the test
// if the command fails.
func (fx *tamperFixture) run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := fx.exec(t, args...)
	if err != nil {
		t.Fatalf("hashtrail %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (fx *tamperFixture) exec(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), fx.bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// wantOK runs verify and expects an OK verdict.
func (fx *tamperFixture) wantOK(t *testing.T, args ...string) string {
	t.Helper()
	out := fx.run(t, append([]string{"verify"}, args...)...)
	if !strings.Contains(out, "\nOK: ") && !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("verify %s: no OK line:\n%s", strings.Join(args, " "), out)
	}
	return out
}

// wantFailed runs verify and expects a non-zero exit and a FAILED line
// holding every one of want.
func (fx *tamperFixture) wantFailed(t *testing.T, args []string, want ...string) {
	t.Helper()
	out, err := fx.exec(t, append([]string{"verify"}, args...)...)
	if err == nil {
		t.Fatalf("verify %s succeeded on a tampered log:\n%s", strings.Join(args, " "), out)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "FAILED: ") {
			line = l
		}
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Fatalf("verify %s: the FAILED line lacks %q:\n%s", strings.Join(args, " "), w, out)
		}
	}
	t.Logf("verify %s\n  %s", strings.Join(args[:2], " "), line)
}

// copyData copies the clean data directory and the state file.
func (fx *tamperFixture) copyData(t *testing.T) (dir, state string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	if err := os.CopyFS(dir, os.DirFS(fx.dir)); err != nil {
		t.Fatal(err)
	}
	state = filepath.Join(t.TempDir(), "state.json")
	b, err := os.ReadFile(fx.state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, b, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, signingKeyFile), 0o600)
	return dir, state
}

// openDB opens the SQLite file of a data directory with database/sql.
func openDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// tenantNum returns the internal number of a tenant, and pos the position
// of its event seq (store/sqlite: num << 40 | seq).
func tenantNum(t *testing.T, db *sql.DB, tenant string) int64 {
	t.Helper()
	var num int64
	if err := db.QueryRow(`SELECT num FROM tenants WHERE id = ?`, tenant).Scan(&num); err != nil {
		t.Fatal(err)
	}
	return num
}

func pos(num, seq int64) int64 { return num<<40 | seq }

// moveEvent moves an event and its rows from seq a to seq b.
func moveEvent(t *testing.T, db *sql.DB, num, a, b int64) {
	t.Helper()
	mustExec(t, db, `UPDATE events SET pos = ? WHERE pos = ?`, pos(num, b), pos(num, a))
	mustExec(t, db, `UPDATE event_targets SET pos = ? WHERE pos = ?`, pos(num, b), pos(num, a))
	mustExec(t, db, `UPDATE event_pii SET seq = ? WHERE tenant = ? AND seq = ?`, b, num, a)
}

func TestVerifyDetectsTampering(t *testing.T) {
	fx := newTamperFixture(t)
	type tamperCase struct {
		name string
		edit func(t *testing.T, db *sql.DB, num int64, dir string)
		// want is what the FAILED line of `verify --data` says.
		want []string
		// served: also serve the edited copy and verify it over HTTP.
		served     bool
		wantServed []string
	}
	cases := []tamperCase{{
		name: "change one field of one event body",
		edit: func(t *testing.T, db *sql.DB, num int64, _ string) {
			mustExec(t, db, `UPDATE events SET body = CAST(json_set(CAST(body AS TEXT), '$.reason', 'ticket 456') AS BLOB) WHERE pos = ?`, pos(num, 17))
		},
		want:   []string{"tenant acme, seq 17 (event ev-017)", "leaf hash differs: event body changed"},
		served: true,
	}, {
		name: "change one column of one event",
		edit: func(t *testing.T, db *sql.DB, num int64, _ string) {
			mustExec(t, db, `UPDATE events SET outcome = 'failure' WHERE pos = ?`, pos(num, 3))
		},
		want:   []string{"tenant acme, seq 3 (event ev-003)", "leaf hash differs"},
		served: true,
	}, {
		name: "delete an event",
		edit: func(t *testing.T, db *sql.DB, num int64, _ string) {
			mustExec(t, db, `DELETE FROM events WHERE pos = ?`, pos(num, 20))
			mustExec(t, db, `DELETE FROM event_targets WHERE pos = ?`, pos(num, 20))
			mustExec(t, db, `DELETE FROM event_pii WHERE tenant = ? AND seq = ?`, num, 20)
		},
		want:   []string{"tenant acme, seq 20", "seq 20 missing"},
		served: true,
	}, {
		name: "insert an event",
		edit: func(t *testing.T, db *sql.DB, num int64, _ string) {
			// Make room at seq 25 and copy seq 24 there under a new id.
			for s := int64(tamperEvents - 1); s >= 25; s-- {
				moveEvent(t, db, num, s, s+1)
			}
			mustExec(t, db, `INSERT INTO events (pos, tenant, id, time, received_at, action, category, severity, outcome, actor, actor_email, ip, key_id, content_hash, leaf_hash, body)
				SELECT ?, tenant, 'ev-inserted', time, received_at, action, category, severity, outcome, actor, actor_email, ip, key_id, content_hash, leaf_hash, body FROM events WHERE pos = ?`, pos(num, 25), pos(num, 24))
			mustExec(t, db, `INSERT INTO event_pii (tenant, seq, role, subject, values_jcs, salt, commitment, erased_at)
				SELECT tenant, 25, role, subject, values_jcs, salt, commitment, erased_at FROM event_pii WHERE tenant = ? AND seq = 24`, num)
			mustExec(t, db, `UPDATE tenants SET next_seq = next_seq + 1 WHERE num = ?`, num)
		},
		want: []string{"tenant acme, seq 25 (event ev-inserted)", "leaf hash differs"},
	}, {
		name: "swap two events",
		edit: func(t *testing.T, db *sql.DB, num int64, _ string) {
			moveEvent(t, db, num, 10, 1000)
			moveEvent(t, db, num, 11, 10)
			moveEvent(t, db, num, 1000, 11)
		},
		want:   []string{"tenant acme, seq 10 (event ev-011)", "leaf hash differs"},
		served: true,
	}, {
		name: "truncate the tail",
		edit: func(t *testing.T, db *sql.DB, num int64, _ string) {
			mustExec(t, db, `DELETE FROM events WHERE pos >= ? AND pos < ?`, pos(num, 35), pos(num+1, 0))
			mustExec(t, db, `DELETE FROM event_targets WHERE pos >= ? AND pos < ?`, pos(num, 35), pos(num+1, 0))
			mustExec(t, db, `DELETE FROM event_pii WHERE tenant = ? AND seq >= 35`, num)
			mustExec(t, db, `DELETE FROM tree_hashes WHERE tenant = ? AND idx >= ?`, num, merkle.StoredHashCount(35))
			mustExec(t, db, `UPDATE tenants SET next_seq = 35 WHERE num = ?`, num)
		},
		want: []string{"tenant acme, seq 35", "seq 35 missing", "though checkpoint 40 covers it"},
	}, {
		name: "erase personal values without an erasure event",
		edit: func(t *testing.T, db *sql.DB, num int64, _ string) {
			mustExec(t, db, `UPDATE event_pii SET values_jcs = NULL, salt = NULL, subject = NULL, erased_at = 1 WHERE tenant = ? AND seq = 30 AND role = '/actor'`, num)
		},
		want:       []string{"tenant acme, seq 30 (event ev-030)", "personal values of role /actor are gone (erased)", "system.subject_erased"},
		served:     true,
		wantServed: []string{"tenant acme, seq 30 (event ev-030)", "personal values of role /actor are gone"},
	}, {
		name: "delete one personal value",
		edit: func(t *testing.T, db *sql.DB, num int64, _ string) {
			mustExec(t, db, `UPDATE event_pii SET values_jcs = CAST(json_remove(CAST(values_jcs AS TEXT), '$."/context/ip"') AS BLOB) WHERE tenant = ? AND seq = 31 AND role = '/actor'`, num)
		},
		want:   []string{"tenant acme, seq 31 (event ev-031)", "personal values changed"},
		served: true,
	}, {
		name: "delete a personal value's row",
		edit: func(t *testing.T, db *sql.DB, num int64, _ string) {
			mustExec(t, db, `DELETE FROM event_pii WHERE tenant = ? AND seq = 32 AND role = '/targets/0'`, num)
		},
		want: []string{"tenant acme, seq 32 (event ev-032)"},
	}, {
		name: "change a stored tree hash",
		edit: func(t *testing.T, db *sql.DB, num int64, _ string) {
			mustExec(t, db, `UPDATE tree_hashes SET hash = zeroblob(32) WHERE tenant = ? AND idx = ?`, num, merkle.StoredHashIndex(2, 1))
		},
		want: []string{"tenant acme, seq 7", "stored tree hash differs"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, state := fx.copyData(t)
			db := openDB(t, dir)
			tc.edit(t, db, tenantNum(t, db, tamperTenant), dir)
			db.Close()
			fx.wantFailed(t, []string{"--data", dir, "--log-key", fx.logKey}, tc.want...)
			fx.wantFailed(t, []string{"--data", dir}, tc.want...)
			if tc.served {
				srv := startServer(t, dir)
				defer stopServer(t, srv)
				want := tc.wantServed
				if want == nil {
					want = tc.want
				}
				fx.wantFailed(t, []string{"--url", srv.url, "--api-key", crashKey, "--tenant", tamperTenant, "--log-key", fx.logKey, "--state", state, "--expect-personal-data"}, want...)
			}
		})
	}

	t.Run("truncate the tail and its checkpoints", func(t *testing.T) {
		dir, state := fx.copyData(t)
		db := openDB(t, dir)
		num := tenantNum(t, db, tamperTenant)
		mustExec(t, db, `DELETE FROM events WHERE pos >= ? AND pos < ?`, pos(num, 35), pos(num+1, 0))
		mustExec(t, db, `DELETE FROM event_targets WHERE pos >= ? AND pos < ?`, pos(num, 35), pos(num+1, 0))
		mustExec(t, db, `DELETE FROM event_pii WHERE tenant = ? AND seq >= 35`, num)
		mustExec(t, db, `DELETE FROM tree_hashes WHERE tenant = ? AND idx >= ?`, num, merkle.StoredHashCount(35))
		mustExec(t, db, `DELETE FROM checkpoints WHERE tenant = ? AND size > 35`, num)
		mustExec(t, db, `UPDATE tenants SET next_seq = 35 WHERE num = ?`, num)
		db.Close()
		// A server on the truncated log signs it anew; a verifier that saw
		// the longer log before reports the rollback.
		srv := startServer(t, dir)
		defer stopServer(t, srv)
		waitCheckpoint(t, srv.url, tamperTenant, 35)
		fx.wantFailed(t, []string{"--url", srv.url, "--api-key", crashKey, "--tenant", tamperTenant, "--log-key", fx.logKey, "--state", state},
			"tenant acme", "rolled back", "size 35", "size 40 was seen before")
		fx.wantFailed(t, []string{"--data", dir, "--log-key", fx.logKey, "--state", state}, "rolled back")
	})

	t.Run("rebuild the whole tree and re-sign with a new key", func(t *testing.T) {
		dir, state := fx.copyData(t)
		newKey := rewriteHistory(t, dir)
		newVKey, err := checkpoint.VerifierKey(strings.SplitN(fx.logKey, "+", 2)[0], newKey.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		// Offline: the pinned key does not sign the new checkpoints.
		fx.wantFailed(t, []string{"--data", dir, "--log-key", fx.logKey}, "signature by unknown key")
		// Offline with the replaced key file: consistent, but not with what
		// a verifier saw before.
		fx.wantFailed(t, []string{"--data", dir, "--state", state}, "tenant acme, checkpoint 40", "not consistent with the previously seen checkpoint")
		// A server on the rewritten data: unknown key, or inconsistent
		// with the checkpoint seen before if the new key was accepted.
		srv := startServer(t, dir)
		defer stopServer(t, srv)
		fx.wantFailed(t, []string{"--url", srv.url, "--api-key", crashKey, "--tenant", tamperTenant, "--log-key", fx.logKey, "--state", state}, "signature by unknown key")
		fx.wantFailed(t, []string{"--url", srv.url, "--api-key", crashKey, "--tenant", tamperTenant, "--log-key", newVKey, "--state", state}, "not consistent with the previously seen checkpoint")
		// Without the memory of the old checkpoint and with the new key
		// trusted, the forgery is consistent: that is what pinning the key
		// and keeping state (or witnesses) are for.
		fx.wantOK(t, "--url", srv.url, "--api-key", crashKey, "--tenant", tamperTenant, "--log-key", newVKey, "--no-state")
	})
}

// TestVerifyAcceptsAnnouncedErasureAndPurge shows the data layout of
// erasure and retention on the real store: values erased and bodies purged
// after a signed announcement verify, with their counts. Until the erase and
// retention features exist, the announcements are appended through the
// engine as Hashtrail itself will append them (clients are refused), and the
// deletions done in SQL, exactly as store/sqlite's migration 0002 describes
// them.
func TestVerifyAcceptsAnnouncedErasureAndPurge(t *testing.T) {
	fx := newTamperFixture(t)
	dir, state := fx.copyData(t)
	// Clients may not record announcements; Hashtrail itself does.
	rejectAnnouncement(t, dir)
	announce(t, dir, tamperTenant, &hashtrail.Event{
		ID: "erasure-1", Action: "system.subject_erased", Category: hashtrail.CategorySystem,
		Actor:    &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail"},
		Metadata: json.RawMessage(`{"roles":[{"role":"/actor","seq":12},{"role":"/targets/0","seq":13}]}`),
	}, &hashtrail.Event{
		ID: "purge-1", Action: "system.retention_purge", Category: hashtrail.CategorySystem,
		Actor:    &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail"},
		Metadata: json.RawMessage(`{"policy":"default:365d","ranges":[[0,4]]}`),
	})
	srv := startServer(t, dir)
	waitCheckpoint(t, srv.url, tamperTenant, tamperEvents+2)
	stopServer(t, srv)

	db := openDB(t, dir)
	num := tenantNum(t, db, tamperTenant)
	erase := `UPDATE event_pii SET values_jcs = NULL, salt = NULL, subject = NULL, erased_at = 1 WHERE tenant = ? AND seq = ? AND role = ?`
	mustExec(t, db, erase, num, 12, "/actor")
	mustExec(t, db, erase, num, 13, "/targets/0")
	mustExec(t, db, `DELETE FROM events WHERE pos BETWEEN ? AND ?`, pos(num, 0), pos(num, 4))
	mustExec(t, db, `DELETE FROM event_targets WHERE pos BETWEEN ? AND ?`, pos(num, 0), pos(num, 4))
	mustExec(t, db, `DELETE FROM event_pii WHERE tenant = ? AND seq BETWEEN 0 AND 4`, num)
	db.Close()

	for _, out := range []string{
		fx.wantOK(t, "--data", dir, "--log-key", fx.logKey, "--tenant", tamperTenant),
		func() string {
			srv := startServer(t, dir)
			defer stopServer(t, srv)
			return fx.wantOK(t, "--url", srv.url, "--api-key", crashKey, "--tenant", tamperTenant, "--log-key", fx.logKey, "--state", state, "--expect-personal-data")
		}(),
	} {
		if !strings.Contains(out, "2 redacted, 5 purged") {
			t.Errorf("the counts are wrong:\n%s", out)
		}
	}
	// A bundle of one person's events carries the announcement of the
	// erasure among them.
	bundle := filepath.Join(t.TempDir(), "user2.json")
	fx.run(t, "export", "--data", dir, "--tenant", tamperTenant, "--format", "bundle", "--actor", "user:2", "-o", bundle)
	if out := fx.wantOK(t, "--bundle", bundle, "--log-key", fx.logKey); !strings.Contains(out, "1 redacted") {
		t.Errorf("the bundle does not show the erasure:\n%s", out)
	}
	// One more value gone, not announced: tampering.
	db = openDB(t, dir)
	mustExec(t, db, erase, num, 14, "/actor")
	db.Close()
	fx.wantFailed(t, []string{"--data", dir, "--log-key", fx.logKey}, "tenant acme, seq 14 (event ev-014)", "no signed system.subject_erased")
}

// rewriteHistory changes event 17 of acme and makes everything consistent
// again, as an attacker with the data directory but without the signing
// key could: new leaf hashes and tree hashes, every checkpoint re-signed
// with a new key that replaces the signing key file and the key list.
func rewriteHistory(t *testing.T, dir string) ed25519.PrivateKey {
	t.Helper()
	db := openDB(t, dir)
	num := tenantNum(t, db, tamperTenant)
	mustExec(t, db, `UPDATE events SET body = CAST(json_set(CAST(body AS TEXT), '$.reason', 'rewritten') AS BLOB) WHERE pos = ?`, pos(num, 17))
	db.Close()

	// Read every event with its personal data through the real store.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFile), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	after := int64(-1)
	events, err := st.Events(ctx, &hashtrail.Query{Tenant: tamperTenant, Order: hashtrail.OrderAsc, Limit: hashtrail.MaxLimit, AfterSeq: &after})
	st.Close()
	if err != nil || len(events) != tamperEvents {
		t.Fatalf("%d events, %v", len(events), err)
	}
	var tree merkle.Tree
	db = openDB(t, dir)
	for _, e := range events {
		leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, nil)
		if err != nil {
			t.Fatal(err)
		}
		tree.AppendLeaf(leaf)
		lh := merkle.LeafHash(leaf)
		mustExec(t, db, `UPDATE events SET leaf_hash = ? WHERE pos = ?`, lh[:], pos(num, e.Seq))
	}
	mustExec(t, db, `DELETE FROM tree_hashes WHERE tenant = ?`, num)
	for i, h := range tree.StoredHashes() {
		mustExec(t, db, `INSERT INTO tree_hashes (tenant, idx, hash) VALUES (?, ?, ?)`, num, i, h[:])
	}
	key, err := checkpoint.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var serverName string
	if err := db.QueryRow(`SELECT value FROM settings WHERE name = 'server_name'`).Scan(&serverName); err != nil {
		t.Fatal(err)
	}
	// Re-sign every checkpoint of every tenant with the new key; acme's at
	// the new roots.
	rows, err := db.Query(`SELECT c.tenant, t.id, c.size, c.root FROM checkpoints c JOIN tenants t ON t.num = c.tenant`)
	if err != nil {
		t.Fatal(err)
	}
	type cp struct {
		num, size int64
		id        string
		root      []byte
	}
	var cps []cp
	for rows.Next() {
		var c cp
		if err := rows.Scan(&c.num, &c.id, &c.size, &c.root); err != nil {
			t.Fatal(err)
		}
		cps = append(cps, c)
	}
	rows.Close()
	for _, c := range cps {
		root, _ := merkle.HashFromBytes(c.root)
		if c.num == num {
			root, err = merkle.TreeHash(c.size, &tree)
			if err != nil {
				t.Fatal(err)
			}
		}
		note, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: checkpoint.Origin(serverName, c.id), Size: c.size, Root: root}, key)
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, `UPDATE checkpoints SET root = ?, note = ? WHERE tenant = ? AND size = ?`, root[:], note, c.num, c.size)
	}
	vkey, err := checkpoint.VerifierKey(serverName, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `DELETE FROM settings WHERE name LIKE 'log_key_%'`)
	mustExec(t, db, `INSERT INTO settings (name, value) VALUES ('log_key_0', ?)`, vkey)
	db.Close()
	keyFile := filepath.Join(dir, signingKeyFile)
	if err := os.Remove(keyFile); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := checkpoint.WriteKeyFile(keyFile, key); err != nil {
		t.Fatal(err)
	}
	return key
}

var _ fs.FS // os.CopyFS takes an fs.FS

// rejectAnnouncement checks that a client cannot record an erasure
// announcement: verification trusts them.
func rejectAnnouncement(t *testing.T, dir string) {
	t.Helper()
	srv := startServer(t, dir)
	defer stopServer(t, srv)
	body := `{"action":"system.subject_erased","metadata":{"roles":[{"role":"/actor","seq":1}]}}`
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.url+"/v1/tenants/"+tamperTenant+"/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+crashKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "reserved") {
		t.Fatalf("a client-written announcement got %d: %s", resp.StatusCode, msg)
	}
}

// announce appends events to a tenant's log through the engine as the
// local operator, the way Hashtrail's own erase and retention jobs do.
func announce(t *testing.T, dir, tenant string, events ...*hashtrail.Event) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.New(st, ledger.Config{})
	req := &hashtrail.IngestRequest{Tenant: tenant}
	for i, ev := range events {
		raw, _ := json.Marshal(ev)
		req.Submissions = append(req.Submissions, &hashtrail.Submission{Index: i, Event: ev, ContentHash: hashtrail.HashKey(string(raw))})
	}
	_, err = led.Ingest(t.Context(), req)
	led.Close(context.Background())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
}
