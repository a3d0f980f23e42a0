package client_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

// outboxDB is one database an outbox test runs against.
type outboxDB struct {
	name    string
	dialect client.Dialect
	open    func(t *testing.T) (*sql.DB, string) // the database and a table name of its own
}

func outboxDBs() []outboxDB {
	return []outboxDB{
		{"sqlite", client.SQLite, func(t *testing.T) (*sql.DB, string) {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "app.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db, "hashtrail_outbox"
		}},
		{"postgres", client.Postgres, func(t *testing.T) (*sql.DB, string) {
			url := os.Getenv("HASHTRAIL_TEST_POSTGRES")
			if url == "" {
				t.Skip("HASHTRAIL_TEST_POSTGRES is not set (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable); skipping the PostgreSQL outbox test")
			}
			db, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			schema := fmt.Sprintf("outbox_%d_%d", os.Getpid(), time.Now().UnixNano())
			if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
				db.Close()
			})
			return db, schema + ".hashtrail_outbox"
		}},
	}
}

// appTables creates the app's own table beside the outbox.
func appTable(t *testing.T, db *sql.DB, outboxTable string) string {
	name := outboxTable + "_projects"
	if _, err := db.Exec("CREATE TABLE " + name + " (id TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	return name
}

func newOutbox(t *testing.T, d outboxDB, c *client.Client) (*client.Outbox, *sql.DB, string) {
	db, table := d.open(t)
	o, err := client.NewOutbox(db, c, client.OutboxConfig{Dialect: d.dialect, Table: table, BatchSize: 7, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.CreateTable(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := o.CreateTable(t.Context()); err != nil { // idempotent
		t.Fatal(err)
	}
	return o, db, table
}

// createProject is an app operation: its row and its event in one
// transaction, committed or rolled back.
func createProject(t *testing.T, o *client.Outbox, db *sql.DB, table, id string, commit bool) {
	t.Helper()
	ctx := t.Context()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+table+" (id) VALUES ('"+id+"')"); err != nil {
		t.Fatal(err)
	}
	ev := &hashtrail.Event{ID: id, Action: "project.create", Targets: []hashtrail.Target{{Type: "project", ID: id}}}
	if err := o.Record(ctx, tx, ev); err != nil {
		t.Fatal(err)
	}
	if commit {
		err = tx.Commit()
	} else {
		err = tx.Rollback()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Events exist exactly for the committed transactions, in order, once,
// even across an outage and with several relays at once.
func TestOutbox(t *testing.T) {
	for _, d := range outboxDBs() {
		t.Run(d.name, func(t *testing.T) {
			s := startServer(t)
			f := newFault(t, s.URL)
			key := s.tenantKey("acme", hashtrail.RoleIngest)
			var got errs
			c := mustNew(t, f.URL, key, fast(client.WithTenant("acme"), client.WithErrorHandler(got.add))...)
			o, db, table := newOutbox(t, d, c)
			projects := appTable(t, db, table)

			var want []string
			for i := range 20 {
				id := "p" + strconv.Itoa(i)
				commit := i%4 != 3
				createProject(t, o, db, projects, id, commit)
				if commit {
					want = append(want, id)
				}
			}
			// The server is down: nothing is lost, the rows wait.
			f.setDown(true)
			n, err := o.Relay(t.Context())
			var re *client.RetryError
			if n != 0 || !errors.As(err, &re) {
				t.Fatalf("relay while down: %d, %v", n, err)
			}
			if p, _ := o.Pending(t.Context()); p != int64(len(want)) {
				t.Fatalf("%d rows pending, want %d", p, len(want))
			}
			f.setDown(false)
			for i := 20; i < 120; i++ { // a backlog for the relays to share
				id := "p" + strconv.Itoa(i)
				createProject(t, o, db, projects, id, true)
				want = append(want, id)
			}

			// Several relays at once, as in several processes (each its own
			// Outbox and lease holder) and on several goroutines of one,
			// while the app keeps writing.
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			relays := []*client.Outbox{o, o}
			for range 3 {
				other, err := client.NewOutbox(db, c, client.OutboxConfig{Dialect: d.dialect, Table: table, BatchSize: 7, PollInterval: 5 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				relays = append(relays, other)
			}
			for _, r := range relays {
				wg.Go(func() { _ = r.Run(ctx) })
			}
			for i := 120; i < 160; i++ {
				id := "p" + strconv.Itoa(i)
				createProject(t, o, db, projects, id, true)
				want = append(want, id)
			}
			waitFor(t, func() bool { p, _ := o.Pending(t.Context()); return p == 0 })
			cancel()
			wg.Wait()
			checkEvents(t, s, "acme", want)
			if m := f.maxInflight.Load(); m != 1 {
				t.Errorf("%d relay requests were in flight at once; the lease allows one", m)
			}
			if errs := got.eventErrors(); len(errs) != 0 {
				t.Errorf("event errors %v", errs)
			}
		})
	}
}

// A rejected event is deleted from the outbox and reported; a crash
// between sending and deleting sends again without duplicates.
func TestOutboxRejectedAndReplayed(t *testing.T) {
	for _, d := range outboxDBs() {
		t.Run(d.name, func(t *testing.T) {
			s := startServer(t)
			key := s.tenantKey("acme", hashtrail.RoleIngest)
			var got errs
			c := mustNew(t, s.URL, key, fast(client.WithTenant("acme"), client.WithErrorHandler(got.add))...)
			o, db, table := newOutbox(t, d, c)
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range []*hashtrail.Event{newEvent("a"), {ID: "bad", Action: "user.login", Outcome: "maybe"}, newEvent("b")} {
				if err := o.Record(t.Context(), tx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			// Copy the rows aside, as if a relay crashed before deleting.
			if _, err := db.Exec("CREATE TABLE " + table + "_copy AS SELECT * FROM " + table); err != nil {
				t.Fatal(err)
			}
			if n, err := o.Relay(t.Context()); n != 3 || err != nil {
				t.Fatalf("relay: %d, %v", n, err)
			}
			if _, err := db.Exec("INSERT INTO " + table + " SELECT * FROM " + table + "_copy"); err != nil {
				t.Fatal(err)
			}
			if n, err := o.Relay(t.Context()); n != 3 || err != nil {
				t.Fatalf("second relay: %d, %v", n, err)
			}
			checkEvents(t, s, "acme", []string{"a", "b"})
			ees := got.eventErrors()
			if len(ees) != 2 || ees[0].ID != "bad" || ees[0].Fields[0].Field != "events[1].outcome" {
				t.Fatalf("errors %v", got.all())
			}
		})
	}
}
