package sqlite

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashtrail/hashtrail"
)

// TestQueryPlans checks that listings are range scans of the tenant's
// positions (or of a target's), ordered by the key itself: no full scan, no
// sort, whatever the filters.
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
		p := strings.Join(plan, "; ")
		if strings.Contains(p, "SCAN") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("query %+v: plan %q scans or sorts", q, p)
		}
	}
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
