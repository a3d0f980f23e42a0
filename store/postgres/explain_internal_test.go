package postgres

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
)

// TestExplain loads 200,000 events (4 tenants, 6 months, about 8,000 a
// month each, with the value distributions of a real log: a few common
// actions and rare ones, a thousand actors, five hundred targets), ANALYZEs,
// and checks the plan of every query shape of the query API: every filter
// alone and typical combinations, both orders, with a cursor. Each must read
// events through an index (never a sequential scan), and a time range must
// touch only the partitions it needs (see event_months). Sequential scans
// of empty partitions (months ahead) cost nothing and are allowed. Search
// terms (hashtrail.Term) are checked too: free text, tags, prefixes of
// targets, actors and ids, target types, and the terms without an index
// of their own (country, metadata, a negated word), which must walk
// (tenant, seq) in order.
func TestExplain(t *testing.T) {
	url := os.Getenv("HASHTRAIL_TEST_POSTGRES")
	if url == "" {
		t.Skip("HASHTRAIL_TEST_POSTGRES is unset")
	}
	if testing.Short() {
		t.Skip("loads 200,000 events")
	}
	ctx := t.Context()
	schema := fmt.Sprintf("test_explain_%d", time.Now().UnixNano())
	s, err := Open(ctx, url, Config{Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.pool.Exec(context.Background(), `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		s.Close()
	})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var months []time.Time
	for i := range 6 {
		months = append(months, start.AddDate(0, i, 0))
	}
	if err := s.ensureMonths(ctx, months, false); err != nil {
		t.Fatal(err)
	}
	const perTenant = 50000
	load := time.Now()
	for tn := 1; tn <= 4; tn++ {
		if err := s.CreateTenant(ctx, &hashtrail.Tenant{ID: fmt.Sprintf("t%d", tn)}); err != nil {
			t.Fatal(err)
		}
	}
	// Events spread evenly over the six months; time a few seconds before
	// received_at; ~2% of events of a rare action, 0.5% critical failures.
	for _, q := range []string{
		`INSERT INTO events (tenant, seq, received_at, id, time, action, facet, actor, actor_email, ip, key_id, leaf_hash, body,
			doc, actor_type, country)
		SELECT t.num, g, $1::timestamptz + (g * interval '1 second' * (181 * 86400 / $2)),
			'id-' || g, $1::timestamptz + (g * interval '1 second' * (181 * 86400 / $2)) - (g % 7) * interval '1 second',
			(ARRAY['user.login', 'user.logout', 'user.login', 'project.update', 'role.permission_grant', 'user.login', 'app.deploy'])[1 + g % 7]
				|| CASE WHEN g % 50 = 0 THEN '_rare' ELSE '' END,
			CASE WHEN g % 200 = 0 THEN 8 * 15 + 4 * 3 + 1 ELSE (g % 5) * 15 + (g % 3) * 3 END,
			'user:' || (g % 1000), CASE WHEN g % 3 = 0 THEN NULL ELSE 'u' || (g % 1000) || '@example.com' END,
			CASE WHEN g % 4 = 0 THEN NULL ELSE ('10.' || (g % 256) || '.' || (g / 256 % 256) || '.' || (g % 7))::inet END,
			'key', '\x00'::bytea, '{}'::bytea,
			array_to_tsvector(ARRAY['w' || (g % 1000), 'common']), 'user', (ARRAY['DE', 'FR', 'US'])[1 + g % 3]
		FROM tenants t, generate_series(0, $2 - 1) g`,
		`INSERT INTO event_targets (tenant, target, seq, received_at)
		SELECT tenant, 'project:' || (seq % 500), seq, received_at FROM events
		UNION ALL SELECT tenant, 'repo:' || seq, seq, received_at FROM events WHERE seq % 100 = 0`,
		`INSERT INTO event_pii (tenant, seq, role, subject, values_jcs, salt, commitment)
		SELECT tenant, seq, '/actor', actor, '{}'::bytea, '\x00'::bytea, '\x00'::bytea FROM events`,
		`INSERT INTO event_tags (tenant, tag, seq) SELECT tenant, 'tag' || (seq % 50), seq FROM events`,
		`INSERT INTO event_months (tenant, month, min_time, max_time)
		SELECT tenant, date_trunc('month', received_at), min(time), max(time) FROM events GROUP BY 1, 2`,
		`UPDATE tenants SET next_seq = $2 WHERE $1::timestamptz IS NOT NULL`,
		`ANALYZE`,
	} {
		var args []any
		if strings.Contains(q, "$2") {
			args = []any{start, perTenant}
		}
		if _, err := s.pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Logf("loaded %d events in %v", 4*perTenant, time.Since(load).Round(time.Millisecond))

	ip := func(s string) netip.Prefix { p, _ := hashtrail.ParseIPFilter(s); return p }
	at := func(m, d int) hashtrail.Time { return hashtrail.NewTime(start.AddDate(0, m, d)) }
	cursor := int64(30000)
	shapes := []struct {
		name string
		q    hashtrail.Query
		// partitions is how many partitions a time range may touch (0: any).
		partitions int
	}{
		{"all", hashtrail.Query{}, 0},
		{"action", hashtrail.Query{Actions: []string{"user.login_rare"}}, 0},
		{"action prefix", hashtrail.Query{Actions: []string{"project.*"}}, 0},
		{"actions", hashtrail.Query{Actions: []string{"app.deploy_rare", "role.*"}}, 0},
		{"category", hashtrail.Query{Categories: []hashtrail.Category{hashtrail.CategorySecurity}}, 0},
		{"severity", hashtrail.Query{MinSeverity: hashtrail.SeverityCritical}, 0},
		{"outcome", hashtrail.Query{Outcomes: []hashtrail.Outcome{hashtrail.OutcomeFailure}}, 0},
		{"actor", hashtrail.Query{Actor: "user:42"}, 0},
		{"actor email", hashtrail.Query{Actor: "u42@example.com"}, 0},
		{"target", hashtrail.Query{Target: "project:7"}, 0},
		{"ip", hashtrail.Query{IP: ip("10.7.3.1")}, 0},
		{"cidr", hashtrail.Query{IP: ip("10.7.0.0/16")}, 0},
		{"since", hashtrail.Query{Since: at(5, 10)}, 1},
		{"until", hashtrail.Query{Until: at(1, 0)}, 1},
		{"time range", hashtrail.Query{Since: at(2, 3), Until: at(2, 5)}, 1},
		{"time range across months", hashtrail.Query{Since: at(2, 20), Until: at(3, 10)}, 2},
		{"actor and time", hashtrail.Query{Actor: "user:42", Since: at(4, 0), Until: at(5, 0)}, 2},
		{"target and time", hashtrail.Query{Target: "project:7", Since: at(4, 0)}, 2},
		{"action and outcome", hashtrail.Query{Actions: []string{"user.*"}, Outcomes: []hashtrail.Outcome{hashtrail.OutcomeFailure}}, 0},
		{"actor and severity", hashtrail.Query{Actor: "user:42", MinSeverity: hashtrail.SeverityHigh}, 0},
		{"target and cidr", hashtrail.Query{Target: "project:7", IP: ip("10.0.0.0/8")}, 0},
		{"category and time", hashtrail.Query{Categories: []hashtrail.Category{hashtrail.CategorySecurity}, Since: at(5, 0)}, 2},
		{"cursor", hashtrail.Query{BeforeSeq: &cursor}, 0},
		{"search: rare word", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{"w42"}}}}, 0},
		{"search: common word", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{"common"}}}}, 0},
		{"search: word prefix", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{"w42*"}}}}, 0},
		{"search: tag", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermTag, Values: []string{"tag7"}}}}, 0},
		{"search: target prefix", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermTarget, Values: []string{"project:42*"}}}}, 0},
		// A type or prefix that most targets have is read whole from
		// event_targets (with a few tenants, by a sequential scan); a
		// selective one by the index.
		{"search: target type", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermTargetType, Values: []string{"repo"}}}}, 0},
		{"search: actor prefix", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermActor, Values: []string{"user:42*"}}}}, 0},
		{"search: id prefix", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermID, Values: []string{"id-4200*"}}}}, 0},
		{"search: country", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermCountry, Values: []string{"FR"}}}}, 0},
		{"search: meta", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermMeta, Key: "plan", Values: []string{"pro"}}}}, 0},
		{"search: not word", hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{"w42"}, Not: true}}}, 0},
		{"search: word and time", hashtrail.Query{Since: at(4, 0), Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{"w42"}}}}, 2},
	}
	partition := regexp.MustCompile(`events_p\d{6}`)
	// A sequential scan is allowed only of an empty partition (a month
	// ahead, made by Upkeep), which the planner knows costs next to
	// nothing (below 1).
	seqScan := regexp.MustCompile(`Seq Scan on \S+ \S+ +\(cost=[0-9.]+\.\.([1-9][0-9]*)\.`)
	for _, sh := range shapes {
		for _, order := range []hashtrail.Order{hashtrail.OrderDesc, hashtrail.OrderAsc} {
			for _, withCursor := range []bool{false, true} {
				q := sh.q
				q.Tenant, q.Order, q.Limit = "t2", order, hashtrail.DefaultLimit+1
				if withCursor && q.AfterSeq == nil && q.BeforeSeq == nil {
					if order == hashtrail.OrderAsc {
						q.AfterSeq = &cursor
					} else {
						q.BeforeSeq = &cursor
					}
				}
				name := fmt.Sprintf("%s/%s/cursor=%v", sh.name, order, withCursor)
				plan := explain(t, s, &q)
				if seqScan.MatchString(plan) || !strings.Contains(plan, "Index") {
					t.Errorf("%s: the plan does not read through an index:\n%s", name, plan)
				}
				if sh.partitions > 0 {
					seen := map[string]bool{}
					for _, p := range partition.FindAllString(plan, -1) {
						seen[p] = true
					}
					if len(seen) > sh.partitions {
						t.Errorf("%s: the plan touches %d partitions, want at most %d:\n%s", name, len(seen), sh.partitions, plan)
					}
				}
				if testing.Verbose() {
					t.Logf("%s:\n%s", name, plan)
				}
			}
		}
	}
}

// explain returns the plan of q as Events runs it.
func explain(t *testing.T, s *Store, q *hashtrail.Query) string {
	t.Helper()
	ctx := t.Context()
	var plan []string
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		sql, args, ok, err := planQuery(ctx, tx, q)
		if err != nil || !ok {
			return fmt.Errorf("planQuery %+v: %v, %v", q, ok, err)
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+sql, args...)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatalf("explain %+v: %v", q, err)
	}
	return strings.Join(plan, "\n")
}
