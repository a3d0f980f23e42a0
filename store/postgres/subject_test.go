package postgres_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/postgres"
	"github.com/jackc/pgx/v5"
)

// TestEraseLeavesNoTraceAfterVacuumFull writes a person's distinctive
// e-mail, name and ip among other people's, erases the person, runs the
// documented VACUUM FULL and CHECKPOINT, and greps the files of every
// table and index of the store's schema (pg_relation_filepath under the
// server's data_directory) for them. It needs to read the server's data
// directory (the tests run as root beside the server); else it is skipped.
// The WAL is not grepped: it keeps the values until its segments are
// recycled (docs/security.md).
func TestEraseLeavesNoTraceAfterVacuumFull(t *testing.T) {
	schema := newSchema(t)
	s := mustOpenSchema(t, schema, postgres.Config{})
	defer s.Close()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var dataDir string
	if err := conn.QueryRow(ctx, `SHOW data_directory`).Scan(&dataDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadDir(filepath.Join(dataDir, "base")); err != nil {
		t.Skipf("cannot read the server's data directory %s: %v", dataDir, err)
	}
	const (
		email = "zanzibar.quokka@example.org"
		name  = "Quokkazanzibar Xylophonist"
		ip    = "203.0.113.177"
	)
	now := hashtrail.NewTime(time.Now())
	g := &hashtrail.AppendGroup{CreateTenants: true}
	for i := range 200 {
		e := &hashtrail.Event{
			ID: fmt.Sprintf("ev-%03d", i), Tenant: "acme", Action: "user.login", Time: now, ReceivedAt: now,
			Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
			Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(1000 + i), Name: fmt.Sprintf("Other Person %d", i), Email: fmt.Sprintf("other%d@example.net", i)},
			Context: &hashtrail.Context{IP: fmt.Sprintf("192.0.2.%d", i%250)},
		}
		if i%7 == 3 {
			e.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "77", Name: name, Email: email}
			e.Context = &hashtrail.Context{IP: ip}
		}
		if i%11 == 5 {
			e.Targets = []hashtrail.Target{{Type: "user", ID: "77", Name: name}}
		}
		g.Entries = append(g.Entries, &hashtrail.Entry{Event: e, ContentHash: []byte(e.ID)})
	}
	if err := s.Append(ctx, []*hashtrail.AppendGroup{g}); err != nil || g.Err != nil {
		t.Fatalf("Append: %v, %v", err, g.Err)
	}
	needles := map[string][]byte{email: []byte(email), name: []byte(name), "quokkazanzibar": []byte("quokkazanzibar"), "xylophonist": []byte("xylophonist")}
	grep := func() []string {
		if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(ctx, `SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname IN ($1, 'pg_toast') AND pg_relation_filepath(c.oid) IS NOT NULL
			AND (n.nspname = $1 OR c.oid IN (SELECT reltoastrelid FROM pg_class k JOIN pg_namespace m ON m.oid = k.relnamespace WHERE m.nspname = $1))`, schema)
		if err != nil {
			t.Fatal(err)
		}
		type rel struct{ Name, Path string }
		rels, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rel])
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, r := range rels {
			files, _ := filepath.Glob(filepath.Join(dataDir, r.Path) + "*")
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range needles {
					if bytes.Contains(bytes.ToLower(b), bytes.ToLower(v)) {
						found = append(found, r.Name+" ("+filepath.Base(f)+"): "+k)
					}
				}
			}
		}
		return found
	}
	if len(grep()) == 0 {
		t.Fatalf("before the erasure the table files hold none of the values: the test would prove nothing")
	}
	rs, err := s.SubjectRoles(ctx, "acme", "user:77")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.ErasePersonal(ctx, "acme", rs); err != nil || n == 0 {
		t.Fatalf("ErasePersonal = %d, %v", n, err)
	}
	if found := grep(); len(found) == 0 {
		t.Logf("no trace even before VACUUM FULL")
	} else {
		t.Logf("before VACUUM FULL: %s", strings.Join(found, "; "))
	}
	q := pgx.Identifier{schema}.Sanitize()
	for _, tbl := range []string{"event_pii", "events"} {
		if _, err := conn.Exec(ctx, `VACUUM FULL `+q+`.`+tbl); err != nil {
			t.Fatal(err)
		}
	}
	if found := grep(); len(found) > 0 {
		t.Errorf("after the erasure and VACUUM FULL: %s", strings.Join(found, "; "))
	}
}
