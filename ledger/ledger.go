// Package ledger is Hashtrail's engine: the one place that authorizes
// callers, applies tenant policy, batches concurrent appends into shared
// store transactions (group commit), and answers queries. It implements
// hashtrail.LogService and talks only to the root package's interfaces.
package ledger

import (
	"context"
	"crypto"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Ledger. The zero value of each field means its default.
type Config struct {
	Logger *slog.Logger
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// AutoCreateTenants lets installation-wide keys create a tenant by writing
	// its first event.
	AutoCreateTenants bool
	// MaxCommitEvents caps the events of one store transaction (default 20,000).
	MaxCommitEvents int
	// MaxQueuedEvents caps the events waiting for a commit; past it, ingest
	// answers EUNAVAILABLE so clients back off (default 200,000).
	MaxQueuedEvents int
	// KeyCacheTTL is how long an authenticated key is trusted without asking
	// the store again; it bounds how long a revocation on another node takes
	// to apply (default 2s).
	KeyCacheTTL time.Duration
	// RateLimits are the per-key token buckets (ratelimit.go); the zero
	// value is no limit (cmd uses DefaultRateLimits and the rate-limits
	// option).
	RateLimits RateLimits
	// ViewerMaxTTL is the longest lifetime of a viewer token; 0 reads the
	// store setting viewer_token_max_ttl, else DefaultViewerMaxTTL.
	ViewerMaxTTL time.Duration

	// Signer is the installation's checkpoint signing key (DESIGN §2), an
	// Ed25519 key behind the crypto.Signer seam. Nil signs no checkpoints,
	// as offline tools do; a server always has one.
	Signer crypto.Signer
	// RotateFrom is the previous signing key while the key is rotated: each
	// tenant's first checkpoint whose latest one the new key has not signed
	// is signed by both keys (the rotation checkpoint), later ones by Signer
	// alone. Nil outside a rotation.
	RotateFrom crypto.Signer
	// ServerName names the installation: checkpoint origins are
	// "<ServerName>/<tenant>" (see SetupLog). Required with Signer.
	ServerName string
	// CheckpointInterval is the least time between two signing rounds
	// (default 1s): a log that keeps growing gets a checkpoint about this
	// often, and an idle one none.
	CheckpointInterval time.Duration
	// Witnesses cosign the installation log's checkpoints (witness.go);
	// none by default.
	Witnesses []WitnessConfig

	// Cluster says that other nodes may append to the same store (several
	// servers on one PostgreSQL database): the signer then also looks at
	// the store every CheckpointInterval for logs that grew on other nodes,
	// and keeps trying until each log's checkpoint is signed and in the
	// installation log, whichever node does it.
	Cluster bool
	// NodeName names this node as the holder of its background-job leases
	// (lease.go); by default host name, process id and a random suffix.
	NodeName string
	// LeaseTTL is how long a background-job lease lasts unless renewed: a
	// job passes to another node at most this long after its node stops
	// (default 15s).
	LeaseTTL time.Duration
	// Sinks checks sinks' destination types and settings and names their
	// secret settings (package sink's Registry, wired by cmd); nil refuses
	// every sink.
	Sinks hashtrail.SinkTypes
	// SinksChanged, if set, is called after a sink is created, changed or
	// deleted on this node (the dispatcher's Changed); Committed after
	// each commit with the tenants whose logs grew (the dispatcher's
	// Notify). Neither may block.
	SinksChanged func()
	Committed    func(tenants ...string)
	// UpkeepInterval is how often the store's upkeep runs (creating
	// partitions ahead) when the store has any (hashtrail.Upkeeper); an
	// hour by default.
	UpkeepInterval time.Duration
	// PurgeInterval is how often each tenant's retention purge runs (under
	// a lease per tenant, purge.go); an hour by default. Purges need a
	// Signer: a deletion waits for a signed checkpoint over its
	// announcement.
	PurgeInterval time.Duration
	// Notifier sends alert notifications and digests (package notify,
	// wired by cmd). Nil, as in offline tools, manages rules but evaluates
	// none and sends no digest.
	Notifier hashtrail.Notifier
	// PublicURL is the server's address as users reach it, for links to
	// events in alerts and digests ("https://audit.example.com").
	PublicURL string
	// AlertInterval is how often each tenant's alert rules look at new
	// events and digests fall due (alerts.go; default 1s).
	AlertInterval time.Duration
	// PurgeBatch is the most events one purge announcement round covers
	// (default 10,000); a run goes on round after round until nothing
	// expired is left.
	PurgeBatch int
}

// Ledger implements hashtrail.LogService over a hashtrail.Store.
type Ledger struct {
	store hashtrail.Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	keys  keyCache
	// catalogs caches each tenant's compiled action catalog (catalog.go).
	catalogs catalogCache
	// retentions caches each tenant's compiled retention (retention.go).
	retentions retentionCache
	// viewers keeps the viewer-token secret and revocations (viewer.go).
	viewers viewerCache
	// redactions caches each tenant's compiled redaction rules (redact.go).
	redactions redactorCache
	// limits holds the rate-limit buckets of keys and tokens (ratelimit.go).
	limits limiter
	// lifecycles caches tenants' suspension (lifecycle.go).
	lifecycles lifecycleCache
	// readAudit gathers reads into data.read events (readaudit.go).
	readAudit readAuditor
	// quotas caches tenants' quotas and usage (quota.go).
	quotas quotaCache
	// deletions tracks the tenant deletions this node runs (tenantdelete.go).
	deletions deletionRuns

	queue  chan *pending
	queued atomic.Int64

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup

	sig       *signer       // nil without a signing key
	leases    *leases       // the background-job leases this node holds
	committed chan struct{} // closed when the commit loop has drained the queue

	witnessKick chan struct{} // wakes the witness loop; nil without witnesses

	metrics metrics
	// alertMetrics count alert evaluation and digests (alerts_metrics.go).
	alertMetrics *alertMetrics
}

var _ hashtrail.LogService = (*Ledger)(nil)

// New returns a running Ledger over store. Close stops it.
func New(store hashtrail.Store, cfg Config) *Ledger {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxCommitEvents <= 0 {
		cfg.MaxCommitEvents = 20000
	}
	if cfg.MaxQueuedEvents <= 0 {
		cfg.MaxQueuedEvents = 200000
	}
	if cfg.KeyCacheTTL <= 0 {
		cfg.KeyCacheTTL = 2 * time.Second
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = time.Second
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 15 * time.Second
	}
	if cfg.UpkeepInterval <= 0 {
		cfg.UpkeepInterval = time.Hour
	}
	if cfg.PurgeInterval <= 0 {
		cfg.PurgeInterval = time.Hour
	}
	if cfg.PurgeBatch <= 0 {
		cfg.PurgeBatch = 10000
	}
	l := &Ledger{
		store:     store,
		cfg:       cfg,
		log:       cfg.Logger,
		now:       cfg.Now,
		queue:     make(chan *pending, 8192),
		stop:      make(chan struct{}),
		committed: make(chan struct{}),
		metrics:   newMetrics(),

		alertMetrics: newAlertMetrics(),
	}
	l.leases = newLeases(store, cfg.NodeName, cfg.LeaseTTL, cfg.Logger)
	l.keys.entries = map[string]cachedKey{}
	l.keys.used = map[string]time.Time{}
	if cfg.Signer != nil {
		sig, err := newSigner(cfg)
		if err != nil {
			// SetupLog checks the same before a server starts; a ledger
			// that cannot sign still serves everything else.
			l.log.Error("checkpoint signing is off", "err", err)
		} else {
			l.sig = sig
		}
	}
	l.wg.Add(2)
	go l.commitLoop()
	go l.touchLoop()
	if up, ok := store.(hashtrail.Upkeeper); ok {
		l.wg.Add(1)
		go l.upkeepLoop(up)
	}
	l.startAlerts()
	if l.sig != nil {
		l.wg.Add(1)
		l.startWitnesses() // before signLoop, which kicks the witness loop
		go l.signLoop()
		l.wg.Add(1)
		go l.purgeLoop()
	}
	return l
}

// Close stops taking new work, commits everything already queued, signs a
// checkpoint for what was committed, and stops the background goroutines.
// Acknowledged events are durable before Close returns; it does not close
// the store.
func (l *Ledger) Close(ctx context.Context) error {
	l.flushReads(ctx)
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
		close(l.stop)
	}
	l.mu.Unlock()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		l.leases.releaseAll(ctx)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Collectors returns the ledger's Prometheus metrics.
func (l *Ledger) Collectors() []prometheus.Collector {
	return append(append(l.metrics.collectors(), l.alertMetrics.collectors()...), storageCollector{l})
}

// Ready reports whether the ledger and its store can take requests.
func (l *Ledger) Ready(ctx context.Context) error {
	l.mu.RLock()
	closed := l.closed
	l.mu.RUnlock()
	if closed {
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "shutting down")
	}
	if err := l.store.Ping(ctx); err != nil {
		l.log.Warn("store not ready", "err", err)
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "the store is unavailable")
	}
	return nil
}

func (l *Ledger) clock() hashtrail.Time { return hashtrail.NewTime(l.now()) }
