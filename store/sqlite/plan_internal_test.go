package sqlite

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
)

// TestQueryPlans checks that listings are range scans of the tenant's
// positions (or of a target's, or of the free-text index's), ordered by the
// key itself: no full scan, no sort, whatever the filters.
func TestQueryPlans(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ip, _ := hashtrail.ParseIPFilter("203.0.113.0/24")
	after := int64(5)
	for _, q := range []hashtrail.Query{
		{},
		{Order: hashtrail.OrderAsc, AfterSeq: &after},
		{Actions: []string{"user.*", "role.grant"}, Categories: []hashtrail.Category{"access"}, MinSeverity: "high",
			Outcomes: []hashtrail.Outcome{"failure"}, Actor: "user:42", IP: ip, Since: hashtrail.TimeFromMicros(1)},
		{Actor: "alice@example.com"},
		{Target: "project:7"},
		{Target: "project:7", Order: hashtrail.OrderAsc, Actor: "user:1", BeforeSeq: &after},
		{IP: netip.MustParsePrefix("2001:db8::/32")},
	} {
		query, args, _, err := buildQuery(&q, 3)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			// The free-text index, which drives actor searches, is a
			// virtual table: its SCAN is an index lookup.
			if strings.Contains(step, "TEMP B-TREE") || strings.Contains(step, "SCAN") && !strings.Contains(step, "VIRTUAL TABLE INDEX") {
				t.Errorf("query %+v: plan %q scans or sorts", q, strings.Join(plan, "; "))
				break
			}
		}
	}
}

// TestSearchQueryPlans checks that searches use indexes too: a listing is a
// range scan of the tenant's positions, of a target's or tag's, or the
// free-text index in rowid order; terms are lookups in an index, never a
// full scan of a table or a sort.
func TestSearchQueryPlans(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, text := range []string{
		"action:user.* -action:user.logout actor:alice@example.com actor:user:* actor.type:user -actor:*",
		"target:project:7", "target:project:7,role:admin", "-target:project:7", "target:project:*", "target.type:role", "target:*",
		"tag:prod", "tag:prod,web", "-tag:prod", "tag:team-*", "tag:*",
		"category:access,data -outcome:failure severity:>=high ip:203.0.113.0/24 -ip:2001:db8::/32 country:DE,FR -country:*",
		"meta.plan:pro meta.billing.seats:5 -meta.mfa:true meta.plan:pro* meta.x:*",
		"id:01J* -id:abc",
		"alice", `"signed in" pay*`, "alice -bob", "-alice", "alice target:project:7", "alice tag:prod", "target:project:7 tag:prod",
		"created:>=2026-01-01 alice", "created:2026-01-01..2026-01-31 target:project:7",
	} {
		sr, err := query.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, order := range []hashtrail.Order{hashtrail.OrderDesc, hashtrail.OrderAsc} {
			q := hashtrail.Query{Order: order}
			sr.Apply(&q)
			p := explain(t, s, &q)
			for _, step := range p {
				if strings.Contains(step, "TEMP B-TREE") ||
					strings.Contains(step, "SCAN") && !strings.Contains(step, "VIRTUAL TABLE INDEX") {
					t.Errorf("search %q %s: plan %q scans or sorts", text, order, strings.Join(p, "; "))
					break
				}
			}
		}
	}
}

// explain returns the steps of the plan of q.
func explain(t *testing.T, s *Store, q *hashtrail.Query) []string {
	t.Helper()
	query, args, _, err := buildQuery(q, 3)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// TestIntegrityQueryPlans checks that the reads of tree hashes, personal
// values and checkpoints are key lookups or range scans, never full scans
// or sorts.
func TestIntegrityQueryPlans(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`SELECT h.idx, h.hash FROM tenants t JOIN tree_hashes h ON h.tenant = t.num WHERE t.id = ? AND h.idx BETWEEN ? AND ?`, []any{"a", 1, 9}},
		{`SELECT h.idx, h.hash FROM tenants t JOIN tree_hashes h ON h.tenant = t.num WHERE t.id = ? AND h.idx IN (?,?)`, []any{"a", 1, 9}},
		{`SELECT idx, hash FROM tree_hashes WHERE tenant = ? AND idx IN (?,?)`, []any{1, 1, 9}},
		{`SELECT seq, role, values_jcs, salt, commitment, erased_at FROM event_pii WHERE tenant = ? AND seq BETWEEN ? AND ?`, []any{1, 1, 9}},
		{`SELECT seq, role, values_jcs, salt, commitment, erased_at FROM event_pii WHERE tenant = ? AND seq IN (?,?)`, []any{1, 1, 9}},
		{hoursSelect, []any{1, 400000, 400024}},
		{checkpointSelect + ` ORDER BY c.size DESC LIMIT 1`, []any{"a"}},
		{checkpointSelect + ` AND c.size > ? ORDER BY c.size LIMIT 1`, []any{"a", 5}},
		{checkpointSelect + ` ORDER BY c.size`, []any{"a"}},
	} {
		rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q.sql, q.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); strings.Contains(p, "SCAN") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s: plan %q scans or sorts", q.sql, p)
		}
	}
}
