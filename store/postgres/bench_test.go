package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/postgres"
)

// benchEvent returns a realistic event of about 600 bytes: a user with
// email, name, roles and auth method, a project target, IP, user agent,
// session and request ids, location, service, metadata and tags, and a
// change on one event in four.
func benchEvent(r *rand.Rand, tenant, id string, now time.Time) *hashtrail.Entry {
	actions := []string{"user.login", "project.update", "role.permission_grant", "app.env_var_add", "user.logout", "project.deploy"}
	u := r.IntN(5000)
	mfa := r.IntN(2) == 0
	e := &hashtrail.Event{
		ID: id, Tenant: tenant, Time: hashtrail.NewTime(now), ReceivedAt: hashtrail.NewTime(now), KeyID: "key_bench",
		Action: actions[r.IntN(len(actions))], Category: hashtrail.CategoryResource, Severity: hashtrail.SeverityInfo,
		Outcome: hashtrail.OutcomeSuccess,
		Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(u), Name: fmt.Sprintf("User %d", u),
			Email: fmt.Sprintf("user%d@example.com", u), Roles: []string{"member"},
			Auth: &hashtrail.Auth{Method: "password+totp", MFA: &mfa}},
		Targets: []hashtrail.Target{{Type: "project", ID: fmt.Sprint(r.IntN(500)), Name: "Project"}},
		Context: &hashtrail.Context{IP: fmt.Sprintf("203.0.%d.%d", r.IntN(256), r.IntN(256)),
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
			SessionID: fmt.Sprintf("sess_%016x", r.Uint64()), RequestID: fmt.Sprintf("req_%016x", r.Uint64()), Source: "web",
			Location: &hashtrail.Location{Country: "DE", Region: "BE", City: "Berlin"}},
		Service:  &hashtrail.Service{Name: "app", Version: "1.4.2", Environment: "production", Host: "web-1"},
		Metadata: json.RawMessage(fmt.Sprintf(`{"plan":"team","seats":%d,"feature":"audit"}`, r.IntN(100))),
		Tags:     []string{"web", "prod"},
	}
	if r.IntN(4) == 0 {
		e.Changes = []hashtrail.Change{{Field: "role", Old: json.RawMessage(`"member"`), New: json.RawMessage(`"admin"`)}}
	}
	h := sha256.Sum256([]byte(tenant + "/" + id))
	return &hashtrail.Entry{Event: e, ContentHash: h[:]}
}

// benchPool is a pool of realistic events made before timing starts, so
// that the phases measure writing, not making events; eventAt returns a
// fresh copy of one with the given tenant and id.
type benchPool []*hashtrail.Event

func newBenchPool() benchPool {
	r := rand.New(rand.NewPCG(7, 7))
	p := make(benchPool, 4096)
	for i := range p {
		p[i] = benchEvent(r, "t", "x", time.Now()).Event
	}
	return p
}

func (p benchPool) entry(i int, tenant, id string, now time.Time) *hashtrail.Entry {
	e := *p[i%len(p)]
	e.Tenant, e.ID, e.Time, e.ReceivedAt = tenant, id, hashtrail.NewTime(now), hashtrail.NewTime(now)
	h := sha256.Sum256([]byte(tenant + "/" + id))
	return &hashtrail.Entry{Event: &e, ContentHash: h[:]}
}

// benchDuration is how long each phase of BenchmarkIngest runs
// (HASHTRAIL_BENCH_DURATION, default 5s).
func benchDuration(b *testing.B) time.Duration {
	if s := os.Getenv("HASHTRAIL_BENCH_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	return 5 * time.Second
}

// run calls fn from clients goroutines until d has passed and returns the
// events per second it reported.
func run(b testing.TB, clients int, d time.Duration, fn func(ctx context.Context, client int, r *rand.Rand, i int) (int, error)) float64 {
	var n atomic.Int64
	ctx, cancel := context.WithTimeout(b.Context(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(c), 1))
			for i := 0; ctx.Err() == nil; i++ {
				k, err := fn(ctx, c, r, i)
				if err != nil {
					if ctx.Err() == nil {
						b.Errorf("client %d: %v", c, err)
					}
					return
				}
				n.Add(int64(k))
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// BenchmarkIngest measures, in one run, 8 clients writing batches of 100
// realistic events (1) through Store.Append to one tenant, (2) through
// Store.Append to 8 tenants, (3) as a plain batched COPY of the same rows
// into a bare table, and (4) one INSERT per row, each its own transaction,
// into a seed-style audit table; it reports each rate, the ratios of (1)
// to (3) and (4), and the store's bytes per event. Run it with
//
//	HASHTRAIL_TEST_POSTGRES=... go test -run '^$' -bench Ingest -benchtime 1x ./store/postgres
func BenchmarkIngest(b *testing.B) {
	const clients, batch = 8, 100
	d := benchDuration(b)
	ctx := b.Context()
	pool := newBenchPool()
	for b.Loop() {
		s := mustOpenSchema(b, newSchema(b), postgres.Config{MaxConns: clients + 2})
		appendTo := func(tenants int) func(context.Context, int, *rand.Rand, int) (int, error) {
			return func(ctx context.Context, c int, r *rand.Rand, i int) (int, error) {
				g := &hashtrail.AppendGroup{CreateTenants: true}
				tn := fmt.Sprintf("t%d", c%tenants)
				now := time.Now()
				for j := range batch {
					g.Entries = append(g.Entries, pool.entry(r.IntN(len(pool)), tn, fmt.Sprintf("c%d-%d-%d-%d", c, tenants, i, j), now))
				}
				return batch, s.Append(context.WithoutCancel(ctx), []*hashtrail.AppendGroup{g})
			}
		}
		eight := run(b, clients, d, appendTo(clients))
		one := run(b, clients, d, appendTo(1))
		size, err := s.Size(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var events int64
		if err := s.Pool().QueryRow(ctx, `SELECT sum(next_seq) FROM tenants`).Scan(&events); err != nil {
			b.Fatal(err)
		}
		rows, err := s.Pool().Query(ctx, `SELECT coalesce(p.relname, c.relname), sum(pg_total_relation_size(c.oid))::bigint
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
			WHERE n.nspname = $1 AND c.relkind = 'r' GROUP BY 1 ORDER BY 2 DESC`, s.Schema())
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var table string
			var bytes int64
			rows.Scan(&table, &bytes)
			if bytes > 1<<20 {
				b.Logf("  %-14s %5.0f bytes/event", table, float64(bytes)/float64(events))
			}
		}
		rows.Close()
		copyRate := benchCopy(b, s.Pool(), pool, clients, batch, d)
		seedRate := benchSeed(b, s.Pool(), pool, clients, d)
		s.Close()

		b.ReportMetric(one, "append_1tenant_events/s")
		b.ReportMetric(eight, "append_8tenants_events/s")
		b.ReportMetric(copyRate, "copy_events/s")
		b.ReportMetric(seedRate, "seed_events/s")
		b.ReportMetric(one/seedRate, "x_seed")
		b.ReportMetric(one/copyRate, "x_copy")
		b.ReportMetric(float64(size)/float64(events), "bytes/event")
		b.Logf("append (1 tenant) %.0f events/s, append (8 tenants) %.0f, plain COPY %.0f, seed-style %.0f: %.1fx seed-style, %.2fx COPY (8 tenants: %.1fx, %.2fx); %d events in %d bytes: %.0f bytes/event",
			one, eight, copyRate, seedRate, one/seedRate, one/copyRate, eight/seedRate, eight/copyRate, events, size, float64(size)/float64(events))
	}
}

// benchCopy writes the rows of the events an Append writes (the body with
// every field, as JSON) into a bare table with COPY, batch rows per COPY.
func benchCopy(b *testing.B, pool *pgxpool.Pool, events benchPool, clients, batch int, d time.Duration) float64 {
	ctx := b.Context()
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_copy (tenant bigint, seq bigint, received_at timestamptz, id text,
		time timestamptz, action text, facet smallint, actor text, actor_email text, ip inet, key_id text,
		leaf_hash bytea, body bytea)`); err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, len(events))
	for i, e := range events {
		bodies[i], _ = json.Marshal(e)
	}
	var seq atomic.Int64
	return run(b, clients, d, func(ctx context.Context, c int, r *rand.Rand, i int) (int, error) {
		rows := make([][]any, batch)
		now := time.Now()
		for j := range rows {
			k := r.IntN(len(events))
			e, body := events[k], bodies[k]
			leaf := sha256.Sum256(body)
			rows[j] = []any{int64(1), seq.Add(1), now, fmt.Sprintf("c%d-%d-%d", c, i, j), now, e.Action, int16(0),
				e.ActorKey(), e.Actor.Email, e.Context.IP, e.KeyID, leaf[:], body}
		}
		_, err := pool.CopyFrom(context.WithoutCancel(ctx), pgx.Identifier{"bench_copy"}, []string{"tenant", "seq",
			"received_at", "id", "time", "action", "facet", "actor", "actor_email", "ip", "key_id", "leaf_hash", "body"},
			pgx.CopyFromRows(rows))
		return batch, err
	})
}

// benchSeed writes one row per transaction into a table shaped like the
// seed apps' audit log (serial key, an index on it, JSON columns), as they
// write it today.
func benchSeed(b *testing.B, pool *pgxpool.Pool, events benchPool, clients int, d time.Duration) float64 {
	ctx := b.Context()
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_seed (id serial PRIMARY KEY, user_id integer, action varchar NOT NULL,
		resource_type varchar NOT NULL, resource_id varchar, description text NOT NULL, details json, ip_address varchar,
		user_agent varchar, session_id varchar, request_id varchar, severity varchar, category varchar, success boolean,
		error_message text, tags json, metadata json, old_values json, new_values json,
		created_at timestamptz DEFAULT now());
		CREATE INDEX bench_seed_id ON bench_seed (id)`); err != nil {
		b.Fatal(err)
	}
	return run(b, clients, d, func(ctx context.Context, c int, r *rand.Rand, i int) (int, error) {
		e := events[r.IntN(len(events))]
		details, _ := json.Marshal(map[string]any{"actor": e.Actor, "service": e.Service})
		tags, _ := json.Marshal(e.Tags)
		_, err := pool.Exec(context.WithoutCancel(ctx), `INSERT INTO bench_seed (user_id, action, resource_type, resource_id,
			description, details, ip_address, user_agent, session_id, request_id, severity, category, success, error_message,
			tags, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			r.IntN(5000), e.Action, e.Targets[0].Type, e.Targets[0].ID, e.Action, details, e.Context.IP, e.Context.UserAgent,
			e.Context.SessionID, e.Context.RequestID, string(e.Severity), string(e.Category), true, nil, tags, string(e.Metadata))
		return 1, err
	})
}
