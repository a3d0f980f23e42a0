package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// demoInstallation makes a data directory as `serve --demo` leaves it once
// its signer has caught up: the demo tenants with their sample events, the
// installation's own audit log, every log covered by a checkpoint, the
// installation log with a checkpoint, keys (one revoked), a tenant catalog
// and a witness cosignature. It returns the data directory, whose
// signing-key.pem verifies it.
func demoInstallation(t *testing.T) string {
	t.Helper()
	return demoInstallationNamed(t, "migrate.test")
}

// demoInstallationNamed is demoInstallation with the given server name.
func demoInstallationNamed(t *testing.T, serverName string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.Data, cfg.ServerName = dir, serverName
	log := slog.New(slog.DiscardHandler)
	ctx := t.Context()
	st, led, err := openEngine(ctx, &cfg, log, &sinkHooks{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := led.Bootstrap(ctx, adminSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := loadDemo(ctx, led, time.Now(), log); err != nil {
		t.Fatal(err)
	}
	k, err := led.CreateKey(ctx, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleRead, Name: "to revoke"})
	if err != nil {
		t.Fatal(err)
	}
	if err := led.RevokeKey(ctx, "acme", k.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: "acme", Kind: hashtrail.ConfigCatalog, Value: json.RawMessage(`{"actions":{}}`)}); err != nil {
		t.Fatal(err)
	}
	waitSigned(t, st)
	cp, err := st.LatestInstallationCheckpoint(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddCosignature(ctx, cp.Size, "— witness.test/w1 AAAAAAAAAAAAAAAA\n"); err != nil {
		t.Fatal(err)
	}
	if err := closeEngine(&cfg, log, st, led, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitSigned waits until every tenant's log has a checkpoint of its size
// and the installation log holds each and is checkpointed whole.
func waitSigned(t *testing.T, st hashtrail.Store) {
	t.Helper()
	ctx := t.Context()
	waitFor(t, "checkpoints covering every log", func() bool {
		ts, err := st.Tenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tn := range ts {
			if tn.Size == 0 {
				continue
			}
			cp, err := st.LatestCheckpoint(ctx, tn.ID)
			if err != nil || cp.Size != tn.Size {
				return false
			}
			if ok, err := st.HasInstallationEntry(ctx, tn.ID, tn.Size); err != nil || !ok {
				return false
			}
		}
		n, err := st.InstallationSize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := st.LatestInstallationCheckpoint(ctx, false)
		return err == nil && cp.Size == n
	})
}

// openTestStore opens a store for reading in a test.
func openTestStore(t *testing.T, s string) hashtrail.Store {
	t.Helper()
	target, err := storeArg(s)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(t.Context(), target, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// compareStores fails the test where b does not hold what a holds.
func compareStores(t *testing.T, a, b hashtrail.Store) {
	t.Helper()
	ctx := t.Context()
	same := func(what string, x, y any) {
		t.Helper()
		jx, _ := json.Marshal(x)
		jy, _ := json.Marshal(y)
		if !bytes.Equal(jx, jy) {
			t.Errorf("%s differ:\n%s\n%s", what, jx, jy)
		}
	}
	ta, err := a.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same("tenants", ta, tb)
	for _, tn := range ta {
		same(tn.ID+" events", allEvents(t, a, tn.ID), allEvents(t, b, tn.ID))
		ca, err := a.Checkpoints(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := b.Checkpoints(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(tn.ID+" checkpoints", ca, cb)
	}
	ka, _ := a.Keys(ctx, "")
	kb, _ := b.Keys(ctx, "")
	if len(ka) != len(kb) {
		t.Errorf("%d keys, %d copied", len(ka), len(kb))
	}
	for i := range min(len(ka), len(kb)) {
		same("key", ka[i], kb[i])
		if !bytes.Equal(ka[i].Hash, kb[i].Hash) {
			t.Errorf("key %s: hash differs", ka[i].ID)
		}
	}
	ia, _ := a.LatestInstallationCheckpoint(ctx, true)
	ib, _ := b.LatestInstallationCheckpoint(ctx, true)
	same("latest cosigned installation checkpoints", ia, ib)
	if ia != nil {
		la, _ := a.Cosignatures(ctx, ia.Size)
		lb, _ := b.Cosignatures(ctx, ia.Size)
		same("cosignatures", la, lb)
	}
	da, okA := a.(hashtrail.Dumper)
	db, okB := b.(hashtrail.Dumper)
	if !okA {
		return
	}
	if !okB {
		compareThroughStore(t, da, a, b)
		return
	}
	sa, _ := da.Settings(ctx)
	sb, _ := db.Settings(ctx)
	same("settings", sa, sb)
	ea, _ := da.InstallationEntries(ctx, 0, 1<<40)
	eb, _ := db.InstallationEntries(ctx, 0, 1<<40)
	same("installation entries", ea, eb)
	xa, _ := da.InstallationCheckpoints(ctx)
	xb, _ := db.InstallationCheckpoints(ctx)
	same("installation checkpoints", xa, xb)
	for _, tn := range ta {
		ca, _ := da.TenantConfigs(ctx, tn.ID)
		cb, _ := db.TenantConfigs(ctx, tn.ID)
		same(tn.ID+" configuration", ca, cb)
		ha, _ := da.ContentHashes(ctx, tn.ID, 0, tn.Size)
		hb, _ := db.ContentHashes(ctx, tn.ID, 0, tn.Size)
		same(tn.ID+" content hashes", ha, hb)
	}
}

// compareThroughStore compares, for a destination that cannot be listed
// whole, what Store's methods show: each setting, the installation log's
// size and root, each tenant's configuration documents, and whether an
// event replays (the same id and content) rather than conflicts.
func compareThroughStore(t *testing.T, da hashtrail.Dumper, a, b hashtrail.Store) {
	t.Helper()
	ctx := t.Context()
	sa, err := da.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range sa {
		if got, err := b.Setting(ctx, name); err != nil || got != v {
			t.Errorf("setting %s = %q, %v; want %q", name, got, err, v)
		}
	}
	na, _ := a.InstallationSize(ctx)
	nb, _ := b.InstallationSize(ctx)
	if na != nb {
		t.Fatalf("installation log: %d entries, %d copied", na, nb)
	}
	if na > 0 {
		ra, _ := merkle.TreeHash(na, merkle.HashReaderFunc(func(i []int64) ([]merkle.Hash, error) { return a.ReadInstallationHashes(ctx, i) }))
		rb, err := merkle.TreeHash(nb, merkle.HashReaderFunc(func(i []int64) ([]merkle.Hash, error) { return b.ReadInstallationHashes(ctx, i) }))
		if err != nil || ra != rb {
			t.Errorf("installation log roots differ (%v)", err)
		}
	}
	ts, _ := a.Tenants(ctx)
	for _, tn := range ts {
		cs, _ := da.TenantConfigs(ctx, tn.ID)
		for _, c := range cs {
			got, err := b.TenantConfig(ctx, tn.ID, c.Kind)
			if err != nil || got.Version != c.Version || !bytes.Equal(got.Value, c.Value) {
				t.Errorf("%s %s configuration: %+v, %v; want %+v", tn.ID, c.Kind, got, err, c)
			}
		}
		if tn.Size == 0 {
			continue
		}
		// The content hash came along: replaying the first event with it
		// is a replay, not a conflict.
		e, err := a.Events(ctx, &hashtrail.Query{Tenant: tn.ID, Order: hashtrail.OrderAsc, Limit: 1})
		if err != nil || len(e) != 1 {
			t.Fatalf("%s: %v", tn.ID, err)
		}
		hs, _ := da.ContentHashes(ctx, tn.ID, 0, 1)
		ev := *e[0]
		ev.PII, ev.LeafHash = nil, ""
		entry := &hashtrail.Entry{Event: &ev, ContentHash: hs[0]}
		g := &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{entry}}
		if err := b.Append(ctx, []*hashtrail.AppendGroup{g}); err != nil || g.Err != nil || !entry.Replayed || ev.Seq != 0 {
			t.Errorf("%s: replaying the first event: %v, %v, replayed %v, seq %d", tn.ID, err, g.Err, entry.Replayed, ev.Seq)
		}
	}
}

// allEvents lists every event of tenant, oldest first.
func allEvents(t *testing.T, st hashtrail.Store, tenant string) []*hashtrail.Event {
	t.Helper()
	var all []*hashtrail.Event
	for {
		after := int64(len(all)) - 1
		page, err := st.Events(t.Context(), &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, Limit: hashtrail.MaxLimit, AfterSeq: &after})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < hashtrail.MaxLimit {
			return all
		}
	}
}

// TestMigrateStoreSQLite copies a demo installation into a new SQLite
// store: verify passes on the copy with the source's key, everything is
// equal, and a second copy into it is refused.
func TestMigrateStoreSQLite(t *testing.T) {
	clearEnv(t)
	src := demoInstallation(t)
	dst := filepath.Join(t.TempDir(), "copy")
	_, errOut, err := cliErr(t, "migrate-store", "--from", src, "--to", dst)
	if err != nil {
		t.Fatalf("migrate-store: %v\n%s", err, errOut)
	}
	mustContain(t, errOut, "acme: ", "installation log: ", "migrate-store: copied 4 tenants, ")
	out := cli(t, "verify", "--data", dst, "--signing-key", filepath.Join(src, signingKeyFile))
	mustContain(t, out, "OK: 4 tenant logs")
	compareStores(t, openTestStore(t, src), openTestStore(t, dst))

	_, _, err = cliErr(t, "migrate-store", "--from", src, "--to", dst)
	if err == nil || !strings.Contains(err.Error(), "is not empty: it holds 4 tenants (acme, globex, hashtrail, initech)") {
		t.Errorf("migrating into a store that holds a copy: %v", err)
	}
}

// TestMigrateStorePostgres copies a demo installation into a new
// PostgreSQL schema; verify --store passes and everything is equal.
func TestMigrateStorePostgres(t *testing.T) {
	clearEnv(t)
	dst := pgSchemaURL(t)
	src := demoInstallation(t)
	_, errOut, err := cliErr(t, "migrate-store", "--from", src, "--to", dst)
	if err != nil && strings.Contains(err.Error(), "not in this build") {
		t.Skip("the PostgreSQL store is not wired in yet")
	}
	if err != nil {
		t.Fatalf("migrate-store: %v\n%s", err, errOut)
	}
	out := cli(t, "verify", "--store", dst, "--signing-key", filepath.Join(src, signingKeyFile))
	mustContain(t, out, "OK: 4 tenant logs")
	compareStores(t, openTestStore(t, src), openTestStore(t, dst))
	if _, _, err := cliErr(t, "migrate-store", "--from", src, "--to", dst); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("migrating into a store that holds a copy: %v", err)
	}
}

// TestMigrateStoreRefuses checks the sources that cannot be copied: one
// with erased personal values, one with a missing event, one a server
// holds open; and the same store as source and destination.
func TestMigrateStoreRefuses(t *testing.T) {
	clearEnv(t)
	src := demoInstallation(t)
	damaged := func(name, stmt string) string {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		copyFile(t, filepath.Join(src, dbFile), filepath.Join(dir, dbFile))
		db, err := sql.Open("sqlite", filepath.Join(dir, dbFile))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, c := range []struct{ name, stmt, want string }{
		{"erased", `UPDATE event_pii SET values_jcs = NULL, salt = NULL, subject = NULL, erased_at = 1
			WHERE (tenant, seq, role) IN (SELECT tenant, seq, role FROM event_pii LIMIT 1 OFFSET 10)`, "were erased; logs with erasures cannot be copied yet"},
		{"purged", `DELETE FROM events WHERE pos = (SELECT pos FROM events LIMIT 1 OFFSET 20)`, "is missing from the source (a purged body?)"},
	} {
		dir := damaged(c.name, c.stmt)
		_, _, err := cliErr(t, "migrate-store", "--from", dir, "--to", filepath.Join(t.TempDir(), "copy"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: migrate-store: %v; want %q", c.name, err, c.want)
		}
	}
	if _, _, err := cliErr(t, "migrate-store", "--from", src, "--to", "sqlite://"+filepath.Join(src, dbFile)); err == nil || !strings.Contains(err.Error(), "same store") {
		t.Errorf("migrating a store into itself: %v", err)
	}
	srv := startServerWith(t, "--data", src)
	defer srv.kill()
	if _, _, err := cliErr(t, "migrate-store", "--from", src, "--to", filepath.Join(t.TempDir(), "copy")); err == nil || !strings.Contains(err.Error(), "is open in another process") {
		t.Errorf("migrating a served store: %v", err)
	}
}

// copyFile copies a closed SQLite database file.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateStoreResume interrupts a copy in the middle of a tenant's log
// and continues it with --resume: the result is whole and verifies.
func TestMigrateStoreResume(t *testing.T) {
	clearEnv(t)
	src := demoInstallation(t)
	dst := filepath.Join(t.TempDir(), "copy")
	migratePage = 40
	migrateAfterPage = func(tenant string, next int64) error {
		if tenant == "globex" && next >= 80 {
			return errors.New("interrupted")
		}
		return nil
	}
	defer func() { migratePage, migrateAfterPage = hashtrail.MaxLimit, nil }()
	_, _, err := cliErr(t, "migrate-store", "--from", src, "--to", dst)
	if err == nil || !strings.Contains(err.Error(), "interrupted") || !strings.Contains(err.Error(), "continue it with --resume") {
		t.Fatalf("the interrupted copy: %v", err)
	}
	migrateAfterPage = nil
	if _, _, err := cliErr(t, "migrate-store", "--from", src, "--to", dst); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("a second copy without --resume: %v", err)
	}
	_, errOut, err := cliErr(t, "migrate-store", "--from", src, "--to", dst, "--resume")
	if err != nil {
		t.Fatalf("migrate-store --resume: %v\n%s", err, errOut)
	}
	mustContain(t, errOut, "globex: resuming after 80 events copied before")
	mustContain(t, cli(t, "verify", "--data", dst, "--signing-key", filepath.Join(src, signingKeyFile)), "OK: 4 tenant logs")
	compareStores(t, openTestStore(t, src), openTestStore(t, dst))
	// Resuming a finished copy changes nothing.
	if _, errOut, err := cliErr(t, "migrate-store", "--from", src, "--to", dst, "--resume"); err != nil {
		t.Fatalf("resuming a finished copy: %v\n%s", err, errOut)
	}
	// Another installation's store is not resumed into.
	other := demoInstallation(t)
	if _, _, err := cliErr(t, "migrate-store", "--from", other, "--to", dst, "--resume"); err == nil || !strings.Contains(err.Error(), "cannot resume") {
		t.Errorf("resuming into another installation's copy: %v", err)
	}
}

// TestMigrateStorePostgresOldEvents copies a log whose events were received
// over the past two years, so the copy needs partitions for months long
// gone, and checks the events come out equal.
func TestMigrateStorePostgresOldEvents(t *testing.T) {
	clearEnv(t)
	dst := pgSchemaURL(t)
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, dbFile), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var entries []*hashtrail.Entry
	start := time.Now().AddDate(-2, 0, 0)
	for i := range 48 {
		at := hashtrail.NewTime(start.Add(time.Duration(i) * 15 * 24 * time.Hour))
		entries = append(entries, &hashtrail.Entry{
			Event: &hashtrail.Event{ID: fmt.Sprintf("old-%d", i), Tenant: "old", Time: at, ReceivedAt: at, Action: "user.login",
				Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
				Actor: &hashtrail.Actor{Type: "user", ID: "1", Email: "old@example.com"}},
			ContentHash: []byte{byte(i)},
		})
	}
	if err := st.Append(t.Context(), []*hashtrail.AppendGroup{{Entries: entries, CreateTenants: true}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, errOut, err := cliErr(t, "migrate-store", "--from", dir, "--to", dst); err != nil {
		t.Fatalf("migrate-store: %v\n%s", err, errOut)
	}
	compareStores(t, openTestStore(t, dir), openTestStore(t, dst))
}
