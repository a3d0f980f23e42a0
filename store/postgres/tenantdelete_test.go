package postgres_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/postgres"
)

// TestDeleteTenantLeavesNoRows deletes a tenant with personal data and
// reads every row of every table of the schema as text: none may hold the
// tenant's values (tree hashes and checkpoints hold none), and another
// tenant's must remain.
func TestDeleteTenantLeavesNoRows(t *testing.T) {
	schema := newSchema(t)
	s := mustOpenSchema(t, schema, postgres.Config{})
	defer s.Close()
	ctx := t.Context()
	now := hashtrail.NewTime(time.Now())
	var groups []*hashtrail.AppendGroup
	for _, tenant := range []string{"acme", "keep"} {
		g := &hashtrail.AppendGroup{CreateTenants: true}
		for i := range 1200 {
			e := &hashtrail.Event{
				ID: fmt.Sprintf("%s-%04d", tenant, i), Tenant: tenant, Action: "user.login",
				Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
				Time: now, ReceivedAt: now, Tags: []string{tenant + "tagqwerty"},
				Actor:       &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(i), Name: tenant + "namezebra", Email: fmt.Sprintf("%s%d@%squokka.org", tenant, i, tenant)},
				Context:     &hashtrail.Context{IP: "198.51.100.7", UserAgent: tenant + "agentflamingo/1.0"},
				Targets:     []hashtrail.Target{{Type: "project", ID: tenant + "projectwombat"}},
				Description: tenant + "descriptionnarwhal happened",
			}
			g.Entries = append(g.Entries, &hashtrail.Entry{Event: e, ContentHash: []byte(e.ID)})
		}
		groups = append(groups, g)
	}
	if err := s.Append(ctx, groups); err != nil || groups[0].Err != nil || groups[1].Err != nil {
		t.Fatalf("Append: %v", err)
	}
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	dump := func() string {
		rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition`, schema)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, tb := range tables {
			var text string
			// bytea as escape text, so JSON bodies and values read as text.
			q := fmt.Sprintf(`SELECT coalesce(string_agg(t::text, E'\n'), '') FROM %s t`, pgx.Identifier{schema, tb}.Sanitize())
			if _, err := conn.Exec(ctx, `SET bytea_output = 'escape'`); err != nil {
				t.Fatal(err)
			}
			if err := conn.QueryRow(ctx, q).Scan(&text); err != nil {
				t.Fatalf("%s: %v", tb, err)
			}
			b.WriteString(tb + ": " + text + "\n")
		}
		return strings.ToLower(b.String())
	}
	acme := []string{"acme0@acmequokka.org", "acme1199@acmequokka.org", "acmenamezebra", "acmeagentflamingo", "acmetagqwerty", "acmeprojectwombat", "acmedescriptionnarwhal", "acme-0007"}
	before := dump()
	for _, n := range acme {
		if !strings.Contains(before, n) {
			t.Fatalf("before the deletion no row holds %q: the test would prove nothing", n)
		}
	}
	if err := s.BeginTenantDeletion(ctx, "acme", 1200); err != nil {
		t.Fatal(err)
	}
	if _, done, err := s.DeleteTenantData(ctx, "acme", 5000); err != nil || !done {
		t.Fatalf("DeleteTenantData: %v, %v", done, err)
	}
	after := dump()
	for _, n := range acme {
		if strings.Contains(after, n) {
			i := strings.Index(after, n)
			t.Errorf("after the deletion a row holds %q: …%s…", n, after[max(0, i-200):i+len(n)])
		}
	}
	for _, n := range []string{"keep7@keepquokka.org", "keepnamezebra", "keepprojectwombat"} {
		if !strings.Contains(after, n) {
			t.Errorf("the other tenant's %q is gone", n)
		}
	}
}
