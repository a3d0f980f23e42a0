package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/postgres"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// eventGen makes realistic events of about 600 bytes, as JSON request bodies
// and as store entries.
type eventGen struct {
	actions []string
}

func newEventGen() *eventGen {
	return &eventGen{actions: []string{"user.login", "user.login", "user.login_failed", "project.update",
		"role.permission_grant", "app.env_var_change", "member.add", "user.mfa_enable"}}
}

// event returns one event as a client would submit it (no server fields).
func (g *eventGen) event(rng *rand.Rand) map[string]any {
	user := rng.IntN(5000)
	action := g.actions[rng.IntN(len(g.actions))]
	ev := map[string]any{
		"id":     hashtrail.NewEventID(),
		"action": action,
		"actor": map[string]any{"type": "user", "id": fmt.Sprint(user), "name": fmt.Sprintf("User %d", user),
			"email": fmt.Sprintf("user%d@example.com", user), "auth": map[string]any{"method": "password+totp", "mfa": true}},
		"targets": []any{map[string]any{"type": "project", "id": fmt.Sprint(rng.IntN(300)), "name": "Payments API"}},
		"context": map[string]any{"ip": fmt.Sprintf("203.0.113.%d", rng.IntN(254)+1),
			"user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			"request_id": fmt.Sprintf("req-%016x", rng.Uint64()), "session_id": fmt.Sprintf("sess-%08x", rng.Uint32()),
			"method": "POST", "path": "/api/v1/projects/settings", "source": "web",
			"location": map[string]any{"country": "DE", "city": "Berlin"}},
		"service":  map[string]any{"name": "console", "version": "4.2.1", "environment": "production", "host": "web-3"},
		"metadata": map[string]any{"plan": "enterprise", "feature_flags": []any{"new-billing", "sso"}, "attempt": rng.IntN(3) + 1},
		"tags":     []any{"web", "eu-central-1"},
	}
	switch action {
	case "user.login_failed":
		ev["outcome"] = "failure"
		ev["error"] = "invalid password"
	case "project.update", "app.env_var_change":
		ev["changes"] = []any{map[string]any{"field": "visibility", "old": "private", "new": "internal"},
			map[string]any{"field": "DATABASE_URL", "redacted": true}}
	}
	return ev
}

// idMarker stands for an event id in a body template; it has the length of a ULID.
const idMarker = "ZZZZZZZZZZZZZZZZZZZZZZZZZZ"

// batchTemplate returns a request body of n events whose ids are idMarker.
func (g *eventGen) batchTemplate(rng *rand.Rand, n int) []byte {
	evs := make([]any, n)
	for i := range evs {
		ev := g.event(rng)
		ev["id"] = idMarker
		evs[i] = ev
	}
	b, _ := json.Marshal(map[string]any{"events": evs})
	return b
}

// freshIDs returns a copy of a template with a new ULID in place of each
// idMarker, so the load generator spends its time sending, not encoding.
func freshIDs(template []byte) []byte {
	b := bytes.Clone(template)
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(idMarker))
		if j < 0 {
			return b
		}
		copy(b[i+j:], hashtrail.NewEventID())
		i += j + len(idMarker)
	}
}

// entries returns n events for tenant decoded and defaulted as the engine
// would hand them to the store.
func (g *eventGen) entries(rng *rand.Rand, tenant string, n int, now hashtrail.Time) []*hashtrail.Entry {
	out := make([]*hashtrail.Entry, n)
	for i := range out {
		raw, _ := json.Marshal(g.event(rng))
		sub, errs := hashtrail.DecodeEvent(raw, "", hashtrail.DecodeOptions{PathTenant: tenant}, now)
		if errs != nil {
			panic(fmt.Sprint(errs)) // the generator makes valid events
		}
		ev := sub.Event
		ev.Tenant, ev.ReceivedAt, ev.KeyID = tenant, now, "bench"
		ev.ApplyDefaults(now)
		out[i] = &hashtrail.Entry{Event: ev, ContentHash: sub.ContentHash}
	}
	return out
}

type benchServerHandle struct {
	url, key string
	close    func()
}

// startBenchServer runs a Hashtrail server in-process on a fresh data
// directory, over loopback HTTP like any other client would reach it.
func startBenchServer(ctx context.Context, o benchOptions) (*benchServerHandle, error) {
	st, cleanup, err := openBenchStore(ctx, o, o.dir)
	if err != nil {
		return nil, err
	}
	led := ledger.New(st, ledger.Config{AutoCreateTenants: true, Cluster: o.store != ""})
	key, err := led.Bootstrap(ctx, "")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: httpapi.New(led, httpapi.Config{}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return &benchServerHandle{url: "http://" + ln.Addr().String(), key: key.Secret, close: func() {
		srv.Shutdown(context.Background())
		led.Close(context.Background())
		cleanup()
	}}, nil
}

// openBenchStore opens a fresh store for a run: SQLite in dir (or a
// temporary directory), or with o.store a PostgreSQL store in a new schema.
// cleanup closes it and removes what it made.
func openBenchStore(ctx context.Context, o benchOptions, dir string) (hashtrail.Store, func(), error) {
	if o.store != "" {
		return openBenchPostgres(ctx, o.store)
	}
	dir, rm, err := benchDir(dir)
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "hashtrail.db"), sqlite.Config{})
	if err != nil {
		rm()
		return nil, nil, err
	}
	return st, func() { st.Close(); rm() }, nil
}

// openBenchPostgres opens the PostgreSQL store at url in a fresh schema,
// dropped by cleanup.
func openBenchPostgres(ctx context.Context, url string) (hashtrail.Store, func(), error) {
	c := &Config{Store: url, PGMaxConns: 16, PGStatementTimeout: time.Minute}
	t, err := c.storeTarget()
	if err != nil || t.pg == "" {
		return nil, nil, fmt.Errorf("--store must be a postgres:// URL: %v", err)
	}
	t.pgSchema = fmt.Sprintf("hashtrail_bench_%d", time.Now().UnixNano())
	st, err := postgres.Open(ctx, t.pg, pgConfig(t, nil, false))
	if err != nil {
		return nil, nil, err
	}
	return st, func() {
		st.Close()
		if pool, err := pgxpool.New(context.Background(), t.pg); err == nil {
			pool.Exec(context.Background(), "DROP SCHEMA "+t.pgSchema+" CASCADE")
			pool.Close()
		}
	}, nil
}

func benchDir(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, os.MkdirAll(dir, 0o700)
	}
	d, err := os.MkdirTemp("", "hashtrail-bench-")
	return d, func() { os.RemoveAll(d) }, err
}

// benchStore writes events straight into a fresh SQLite store in
// transactions shaped like the engine's group commits at this load
// (clients × batch events), with no HTTP, validation or hashing.
func benchStore(ctx context.Context, o benchOptions) (benchResult, error) {
	st, cleanup, err := openBenchStore(ctx, o, "")
	if err != nil {
		return benchResult{}, err
	}
	defer cleanup()
	gen := newEventGen()
	rng := rand.New(rand.NewPCG(1, 2))
	now := hashtrail.NewTime(time.Now())
	// Make the events before the clock starts: the ceiling excludes their cost.
	pool := make([][]*hashtrail.Entry, 64)
	for i := range pool {
		pool[i] = gen.entries(rng, fmt.Sprintf("bench-%d", i%o.tenants), o.batch, now)
	}
	for t := range o.tenants {
		st.CreateTenant(ctx, &hashtrail.Tenant{ID: fmt.Sprintf("bench-%d", t)})
	}
	one := o
	one.clients, one.rate = 1, 0
	next := 0
	r := loadLoop(ctx, one, func(ctx context.Context, _ int, _ *rand.Rand) (int, error) {
		groups := make([]*hashtrail.AppendGroup, o.clients)
		n := 0
		for i := range groups {
			src := pool[next%len(pool)]
			next++
			es := make([]*hashtrail.Entry, len(src))
			for j, e := range src {
				ev := *e.Event
				ev.ID = hashtrail.NewEventID()
				es[j] = &hashtrail.Entry{Event: &ev, ContentHash: e.ContentHash}
			}
			groups[i] = &hashtrail.AppendGroup{Entries: es}
			n += len(es)
		}
		return n, st.Append(ctx, groups)
	})
	return r, nil
}

// seedTable is seed 003's AuditLog model as the SQLAlchemy app would create it.
const seedTable = `
DROP TABLE IF EXISTS hashtrail_bench_audit_logs;
CREATE TABLE hashtrail_bench_audit_logs (
	id SERIAL PRIMARY KEY,
	user_id INTEGER,
	action VARCHAR NOT NULL,
	resource_type VARCHAR NOT NULL,
	resource_id VARCHAR,
	description TEXT NOT NULL,
	details JSON,
	ip_address VARCHAR,
	user_agent VARCHAR,
	session_id VARCHAR,
	request_id VARCHAR,
	severity VARCHAR,
	category VARCHAR,
	success BOOLEAN,
	error_message TEXT,
	tags JSON,
	metadata JSON,
	old_values JSON,
	new_values JSON,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now()
);
CREATE INDEX ix_hashtrail_bench_audit_logs_id ON hashtrail_bench_audit_logs (id);`

// benchBaseline writes the same events one row per request (autocommit, as
// the seeds' apps do) into the seed-shaped PostgreSQL table.
func benchBaseline(ctx context.Context, o benchOptions) (benchResult, error) {
	pool, err := pgxpool.New(ctx, o.baseline)
	if err != nil {
		return benchResult{}, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, seedTable); err != nil {
		return benchResult{}, fmt.Errorf("creating the baseline table: %w", err)
	}
	defer pool.Exec(context.Background(), "DROP TABLE IF EXISTS hashtrail_bench_audit_logs")
	gen := newEventGen()
	one := o
	one.batch = 1
	r := loadLoop(ctx, one, func(ctx context.Context, _ int, rng *rand.Rand) (int, error) {
		_, err := pool.Exec(ctx, `INSERT INTO hashtrail_bench_audit_logs (`+strings.Join(seedColumns, ", ")+`)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`, seedRow(gen, rng)...)
		return 1, err
	})
	r.BatchSize = 1
	return r, nil
}

// seedColumns are the columns of the seed-shaped table that seedRow fills.
var seedColumns = []string{"user_id", "action", "resource_type", "resource_id", "description", "details", "ip_address",
	"user_agent", "session_id", "request_id", "severity", "category", "success", "error_message", "tags", "metadata"}

// seedRow returns a generated event as a row of the seed-shaped table.
func seedRow(gen *eventGen, rng *rand.Rand) []any {
	ev := gen.event(rng)
	actor := ev["actor"].(map[string]any)
	cx := ev["context"].(map[string]any)
	target := ev["targets"].([]any)[0].(map[string]any)
	meta, _ := json.Marshal(ev["metadata"])
	tags, _ := json.Marshal(ev["tags"])
	details, _ := json.Marshal(map[string]any{"actor": actor, "service": ev["service"]})
	return []any{rng.IntN(5000), ev["action"], target["type"], target["id"],
		strings.ReplaceAll(ev["action"].(string), ".", " "), details, cx["ip"], cx["user_agent"],
		cx["session_id"], cx["request_id"], "low", "security", ev["outcome"] == nil, ev["error"], tags, meta}
}

// benchCopy writes the same rows as benchBaseline with plain batched COPY
// (o.batch rows per COPY, one transaction each, from o.clients workers):
// what PostgreSQL itself can take in bulk, with no hashing, sealing or
// idempotency.
func benchCopy(ctx context.Context, o benchOptions) (benchResult, error) {
	pool, err := pgxpool.New(ctx, o.baseline)
	if err != nil {
		return benchResult{}, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, seedTable); err != nil {
		return benchResult{}, fmt.Errorf("creating the copy table: %w", err)
	}
	defer pool.Exec(context.Background(), "DROP TABLE IF EXISTS hashtrail_bench_audit_logs")
	gen := newEventGen()
	// Rows are made before the clock starts, as the store-only run does.
	rng := rand.New(rand.NewPCG(5, 6))
	rows := make([][]any, 64*o.batch)
	for i := range rows {
		rows[i] = seedRow(gen, rng)
	}
	return loadLoop(ctx, o, func(ctx context.Context, w int, rng *rand.Rand) (int, error) {
		at := rng.IntN(len(rows) - o.batch + 1)
		n, err := pool.CopyFrom(ctx, pgx.Identifier{"hashtrail_bench_audit_logs"}, seedColumns, pgx.CopyFromRows(rows[at:at+o.batch]))
		return int(n), err
	}), nil
}
