// Package sink delivers committed events to other systems (DESIGN §5: the
// log is the outbox). The Dispatcher reads every tenant log that an active
// sink covers, by seq, from the sink's cursor in the store; filters the
// events with the sink's search; hands them in batches to the sink's
// destination (a hashtrail.Sink built by the destination's Factory from a
// Registry); and advances the cursor only once a batch is accepted. A
// failed delivery is retried with exponential backoff and jitter; after
// MaxFailures failures in a row, or a hashtrail.PermanentError, the sink is
// paused with the reason and keeps its position until resumed. A
// destination's Retry-After (hashtrail.RetryAfter) lengthens the wait before
// the next try, up to MaxBackoff.
//
// Each sink and tenant is delivered by its own goroutine, under a lease in
// the store (hashtrail.LeaseSink + "<sink>/<tenant>"), so exactly one node
// of several sharing a database delivers it, and one slow or dead
// destination holds up nothing but itself: ingest never waits for a sink,
// and the dispatcher only reads the log. Memory per goroutine is bounded by
// the sink's batch size plus one page of the log.
//
// Delivery is at least once: a crash, a lost lease or a failed batch sends
// events again, which receivers drop by tenant and id. Events of one tenant
// arrive in seq order.
//
// The package is generic: destinations live in their own packages
// (sink/file, sink/webhook...) and reach the dispatcher only through the
// Registry that cmd/hashtrail fills.
package sink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the dispatcher needs of the store.
type Store interface {
	hashtrail.SinkStore
	hashtrail.LeaseStore
	// Events reads a tenant's log (hashtrail.EventStore).
	Events(ctx context.Context, q *hashtrail.Query) ([]*hashtrail.Event, error)
	// Tenant and Tenants give log sizes and the tenants an
	// installation-wide sink covers (hashtrail.TenantStore).
	Tenant(ctx context.Context, id string) (*hashtrail.Tenant, error)
	Tenants(ctx context.Context) ([]*hashtrail.Tenant, error)
}

// Config configures a Dispatcher. Store and Registry are required; the zero
// value of every other field means its default.
type Config struct {
	Store    Store
	Registry Registry
	// Env is given to the destinations' factories; its Guard is the zero
	// Guard (private destinations refused) when nil.
	Env    Env
	Logger *slog.Logger
	// Holder names this node as the holder of its leases; by default host
	// name, process id and a random suffix.
	Holder string
	// LeaseTTL is how long a sink/tenant lease lasts unless renewed (15s):
	// delivery passes to another node at most this long after its node
	// dies.
	LeaseTTL time.Duration
	// PollInterval is how often the dispatcher looks at the store for sinks
	// changed and logs grown on other nodes (1s). Commits on this node wake
	// delivery at once through Notify.
	PollInterval time.Duration
	// MaxFailures is how many failed deliveries in a row pause a sink that
	// sets none (10).
	MaxFailures int
	// MinBackoff and MaxBackoff bound the wait before a retry (500ms and
	// 5m); it doubles with each failure in a row, with jitter. A
	// destination's Retry-After (hashtrail.RetryAfter) lengthens the wait,
	// up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// CursorInterval is the least time between two cursor writes while
	// delivering (1s): a crash re-sends at most about this much. The cursor
	// is also written when delivery catches up, pauses or stops.
	CursorInterval time.Duration
	// DeliverTimeout bounds one Deliver call (30s).
	DeliverTimeout time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Paused, if set, is called after the dispatcher paused a sink itself
	// (MaxFailures failures in a row, or a permanent error) for the
	// deliveries of tenant, with the reason, so the program can record the
	// act in the tenant's log as it records an admin's pause (cmd wires
	// the ledger's RecordSinkPaused). It runs on the worker's goroutine
	// and should not block for long.
	Paused func(ctx context.Context, s *hashtrail.SinkConfig, tenant, reason string)
}

// Dispatcher delivers committed events to every active sink. It is safe for
// concurrent use; Close stops it.
type Dispatcher struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	ctx    context.Context
	cancel context.CancelFunc
	kick   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	workers  map[workerKey]*worker
	byTenant map[string][]*worker
	// lastDone holds the done channel of the latest worker of each key: a
	// worker that replaces another (its sink changed) starts delivering
	// only once the old one has stopped, so one tenant's events never go
	// out from two goroutines at once.
	lastDone map[workerKey]chan struct{}
	wide     bool // some active sink is installation-wide
	killed   bool
}

type workerKey struct{ sink, tenant string }

// New starts a Dispatcher.
func New(cfg Config) *Dispatcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 15 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 10
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.CursorInterval <= 0 {
		cfg.CursorInterval = time.Second
	}
	if cfg.DeliverTimeout <= 0 {
		cfg.DeliverTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Env.Guard == nil {
		cfg.Env.Guard = &Guard{}
	}
	if cfg.Env.Logger == nil {
		cfg.Env.Logger = cfg.Logger
	}
	d := &Dispatcher{
		cfg:      cfg,
		log:      cfg.Logger,
		kick:     make(chan struct{}, 1),
		workers:  map[workerKey]*worker{},
		byTenant: map[string][]*worker{},
		lastDone: map[workerKey]chan struct{}{},
	}
	d.metrics = newMetrics(d)
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(1)
	go d.supervise()
	return d
}

// Notify tells the dispatcher that the logs of tenants grew on this node,
// so their sinks deliver at once rather than at the next poll. It never
// blocks; the ledger calls it after each commit.
func (d *Dispatcher) Notify(tenants ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	unknown := false
	for _, t := range tenants {
		ws, ok := d.byTenant[t]
		if !ok {
			unknown = true
		}
		for _, w := range ws {
			w.poke()
		}
	}
	if unknown && d.wide {
		d.Changed() // a new tenant for the installation-wide sinks
	}
}

// Changed tells the dispatcher that sinks were created, changed or deleted
// on this node, so it looks at them at once.
func (d *Dispatcher) Changed() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Close stops delivery: each sink finishes or abandons its batch in flight,
// saves its cursor and releases its lease. It waits for that until ctx
// ends.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.cancel()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kill stops delivery as a crash would: no cursor saved, no lease released.
// It is for tests of what happens after a crash.
func (d *Dispatcher) Kill() {
	d.mu.Lock()
	d.killed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}

func (d *Dispatcher) isKilled() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.killed
}

// Collectors returns the dispatcher's Prometheus metrics.
func (d *Dispatcher) Collectors() []prometheus.Collector { return d.metrics.collectors() }

// supervise keeps one worker running for each active sink and tenant it
// covers, looking at the store every PollInterval and when kicked.
func (d *Dispatcher) supervise() {
	defer d.wg.Done()
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for {
		if err := d.scan(d.ctx); err != nil && d.ctx.Err() == nil {
			d.log.Warn("sinks: reading the sinks", "err", err)
		}
		select {
		case <-d.ctx.Done():
			d.mu.Lock()
			for _, w := range d.workers {
				w.cancel()
			}
			d.mu.Unlock()
			return
		case <-d.kick:
		case <-tick.C:
			d.pokeAll() // logs may have grown on other nodes
		}
	}
}

func (d *Dispatcher) pokeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.workers {
		w.poke()
	}
}

// scan starts and stops workers to match the store's sinks.
func (d *Dispatcher) scan(ctx context.Context) error {
	sinks, err := d.cfg.Store.Sinks(ctx, "")
	if err != nil {
		return err
	}
	want := map[workerKey]*hashtrail.SinkConfig{}
	var tenants []*hashtrail.Tenant
	wide := false
	for _, s := range sinks {
		if s.State != hashtrail.SinkActive {
			continue
		}
		if _, ok := d.cfg.Registry[s.Type]; !ok {
			d.log.Warn("sinks: a sink of a type this server does not offer is left alone", "sink", s.ID, "type", s.Type)
			continue
		}
		if s.Tenant != hashtrail.AllTenants {
			want[workerKey{s.ID, s.Tenant}] = s
			continue
		}
		wide = true
		if tenants == nil {
			if tenants, err = d.cfg.Store.Tenants(ctx); err != nil {
				return err
			}
		}
		for _, t := range tenants {
			want[workerKey{s.ID, t.ID}] = s
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		return nil
	}
	d.wide = wide
	for k, w := range d.workers {
		if s, ok := want[k]; !ok || !s.UpdatedAt.Equal(w.cfg.UpdatedAt.Time) {
			w.cancel()
			delete(d.workers, k)
		}
	}
	for k, s := range want {
		if _, ok := d.workers[k]; ok {
			continue
		}
		w, err := d.newWorker(s, k.tenant)
		if err != nil {
			d.log.Error("sinks: a sink's filter does not parse; it is left alone", "sink", s.ID, "err", err)
			continue
		}
		w.after = d.lastDone[k]
		d.lastDone[k] = w.done
		d.workers[k] = w
		d.wg.Add(1)
		go w.start()
	}
	for k, done := range d.lastDone {
		if _, ok := d.workers[k]; !ok && isClosed(done) {
			delete(d.lastDone, k)
		}
	}
	clear(d.byTenant)
	for k, w := range d.workers {
		d.byTenant[k.tenant] = append(d.byTenant[k.tenant], w)
	}
	return nil
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
