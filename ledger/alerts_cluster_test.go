package ledger_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/postgres"
	"github.com/jackc/pgx/v5"
)

// TestAlertsClusterEvaluateEachEventOnce runs two engines on one store, as
// two nodes on one PostgreSQL database do, both taking writes: every
// firing is recorded once and notified once, by whichever node holds the
// tenant's alert lease; when that node stops the other takes over from
// the stored cursor without firing again.
func TestAlertsClusterEvaluateEachEventOnce(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "hashtrail.db"))
	t.Cleanup(func() { st.Close() })
	alertsCluster(t, [2]hashtrail.Store{st, st})
}

// TestAlertsClusterPostgres is the same with two stores (two connection
// pools, as two servers have) on one PostgreSQL schema: the alert state's
// compare-and-set and the leases are PostgreSQL's.
func TestAlertsClusterPostgres(t *testing.T) {
	base := os.Getenv("HASHTRAIL_TEST_POSTGRES")
	if base == "" {
		t.Skip("HASHTRAIL_TEST_POSTGRES is not set: no PostgreSQL to test against (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "ht_alerts_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			defer c.Close(ctx)
			if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
				t.Logf("dropping schema %s: %v", schema, err)
			}
		}
	})
	var stores [2]hashtrail.Store
	for i := range stores {
		st, err := postgres.Open(t.Context(), base, postgres.Config{Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[i] = st
	}
	alertsCluster(t, stores)
}

func alertsCluster(t *testing.T, stores [2]hashtrail.Store) {
	fns := []*fakeNotifier{{}, {}}
	var ls []*ledger.Ledger
	for i, fn := range fns {
		l := ledger.New(stores[i], ledger.Config{Cluster: true, NodeName: fmt.Sprint("node-", i), Notifier: fn,
			AlertInterval: 20 * time.Millisecond, LeaseTTL: 2 * time.Second})
		t.Cleanup(func() { l.Close(context.Background()) })
		ls = append(ls, l)
	}
	root := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := ls[0].CreateTenant(root, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	rule, err := ls[1].CreateAlert(admin, &hashtrail.AlertRule{Tenant: "acme", Filter: "action:user.login outcome:failure",
		Threshold: &hashtrail.AlertThreshold{Count: 2, Window: "1h", GroupBy: "actor"}, Cooldown: "0s", Email: []string{"sec@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	// Five actors fail twice each, one failure through each node.
	for a := range 5 {
		for i := range 2 {
			if _, err := ingest(t, admin, ls[i], "acme", failedLogin(fmt.Sprint("u", a))); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFirings(t, ls[0], "acme", rule.ID, 5)
	time.Sleep(300 * time.Millisecond) // time for a second firing or mail, if any
	mails := func() int {
		m0, _ := fns[0].counts()
		m1, _ := fns[1].counts()
		return m0 + m1
	}
	if fs, _ := ls[0].AlertFirings(admin, "acme", rule.ID, 100); len(fs) != 5 || mails() != 5 {
		t.Fatalf("%d firings and %d mails, want 5 and 5", len(fs), mails())
	}
	// The holder stops; the other node carries on from the cursor.
	holder := 0
	if m, _ := fns[1].counts(); m > 0 {
		holder = 1
	}
	if m, _ := fns[1-holder].counts(); m != 0 {
		t.Errorf("both nodes sent mail: the lease did not hold")
	}
	if err := ls[holder].Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	other := ls[1-holder]
	for range 2 {
		if _, err := ingest(t, admin, other, "acme", failedLogin("u9")); err != nil {
			t.Fatal(err)
		}
	}
	waitFirings(t, other, "acme", rule.ID, 6)
	time.Sleep(300 * time.Millisecond)
	if fs, _ := other.AlertFirings(admin, "acme", rule.ID, 100); len(fs) != 6 || mails() != 6 {
		t.Fatalf("after the handover: %d firings and %d mails, want 6 and 6", len(fs), mails())
	}
}

// TestDigestClusterSendsEachPeriodOnce: two nodes, one store, a daily
// digest falls due: exactly one mail, from whichever node, however many
// rounds both run.
func TestDigestClusterSendsEachPeriodOnce(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "hashtrail.db"))
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	fns := []*fakeNotifier{{}, {}}
	var ls []*ledger.Ledger
	for i, fn := range fns {
		l := ledger.New(st, ledger.Config{Cluster: true, NodeName: fmt.Sprint("node-", i), Notifier: fn, Now: clk.now,
			AlertInterval: 10 * time.Millisecond, LeaseTTL: 2 * time.Second})
		t.Cleanup(func() { l.Close(context.Background()) })
		ls = append(ls, l)
	}
	if _, err := ls[0].CreateTenant(as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin), &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	if _, err := ingest(t, admin, ls[1], "acme", failedLogin("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := ls[1].SetDigest(admin, "acme", &hashtrail.DigestSettings{Schedule: "daily", Hour: 1, To: []string{"sec@example.com"}}); err != nil {
		t.Fatal(err)
	}
	clk.add(14 * time.Hour) // 2026-11-24 02:00: the 23rd is due
	mails := func() int {
		m0, _ := fns[0].counts()
		m1, _ := fns[1].counts()
		return m0 + m1
	}
	deadline := time.Now().Add(15 * time.Second)
	for mails() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no digest after 15s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // many more rounds on both nodes
	if n := mails(); n != 1 {
		t.Fatalf("%d digests sent for one period, want 1", n)
	}
}
