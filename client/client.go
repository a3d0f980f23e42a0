package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Client sends events to a Hashtrail server. Record queues an event and
// returns at once; one background sender batches, sends, retries and, with
// WithSpool, spools. It is safe for concurrent use. Close stops it.
//
// Guarantees: each event gets a ULID id before its first try (unless it has
// one), and every retry sends the same bytes, so the server records it once
// (it answers a replay with the original receipt). Events reach the server
// in the order Record accepted them, so each tenant's log keeps that order.
// An event is lost only when the queue is full (counted in Stats.Dropped),
// when the server rejects it or WithMaxAttempts gives up (Stats.Failed), when
// Close gives up without a spool (Stats.Dropped) — each case reaches the
// error handler — or when the process dies with the event still in memory
// (use RecordSync or Outbox for events that must survive that).
type Client struct {
	cfg      config
	base     string // server URL without a trailing slash
	key      string
	endpoint string // the ingest URL (with ?partial=true)
	hc       *http.Client

	mu     sync.RWMutex // Record holds it for reading; Close takes it to close
	closed bool
	queue  chan entry

	closing chan struct{} // closed first by Close: callers waiting for room give up
	stop    chan struct{} // closed by Close once no caller can add: drain and stop
	abort   chan struct{} // closed when Close's context ends: give up now
	done    chan struct{} // closed when the sender has returned
	runCtx  context.Context
	cancel  context.CancelFunc
	closeMu sync.Mutex
	lost    atomic.Int64 // events not delivered nor spooled at Close

	spool *spool

	sent, retried, spooled, dropped, failed atomic.Uint64
}

// entry is what the queue holds: an event, or a Flush marker.
type entry struct {
	ev      *hashtrail.Event
	tenants []string // fan-out
	wait    *waiter  // RecordSync
	flush   *waiter  // a Flush marker when not nil
}

// waiter is the answer a RecordSync caller waits for.
type waiter struct {
	done     chan struct{}
	receipts []hashtrail.Receipt
	err      error
}

func (w *waiter) resolve(receipts []hashtrail.Receipt, err error) {
	w.receipts, w.err = receipts, err
	close(w.done)
}

// Errors of Record, RecordSync, Flush and Close.
var (
	// ErrQueueFull: the queue was full and the event was dropped.
	ErrQueueFull = errors.New("hashtrail client: queue full, event dropped")
	// ErrClosed: the client is closed.
	ErrClosed = errors.New("hashtrail client: closed")
	// ErrNoTenant: the event names no tenant and the client has no
	// WithTenant, or names another tenant than WithTenant's.
	ErrNoTenant = errors.New("hashtrail client: the event must name its tenant (installation-wide key) or match WithTenant")
	// ErrSpooled: RecordSync's client closed while the event waited in the
	// spool; it will be sent by the next Client on the same spool.
	ErrSpooled = errors.New("hashtrail client: closed while the event waited in the spool")
)

// EventError is an event the client gave up on: the server rejected it
// (Status 400 with Fields, 409, 413...), it was dropped (Err is
// ErrQueueFull), or it was not delivered when Close gave up (Err is the
// context's error). ID is empty for an event dropped before it got one.
type EventError struct {
	ID      string
	Tenant  string
	Tenants []string
	Action  string
	Status  int                    // HTTP status; 0 if the server did not answer
	Fields  []hashtrail.FieldError // the server's field errors, if any
	Err     error
}

func (e *EventError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hashtrail: event %q (%s", e.ID, e.Action)
	if e.Tenant != "" {
		fmt.Fprintf(&b, ", tenant %s", e.Tenant)
	}
	b.WriteString(") not recorded: ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + " " + f.Message)
	}
	return b.String()
}

func (e *EventError) Unwrap() error { return e.Err }

// RetryError reports a try that failed with a retryable answer: Events
// events will be sent again after Wait.
type RetryError struct {
	Attempt int
	Events  int
	Status  int // 0 for a network error
	Wait    time.Duration
	Err     error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("hashtrail: try %d of %d events failed, retrying in %s: %v", e.Attempt, e.Events, e.Wait.Round(time.Millisecond), e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// Stats counts what the client did since New. Sent, Failed and Dropped count
// events (a fanned-out event once); Retried counts events sent again; Spooled
// counts events written to the spool.
type Stats struct {
	Sent, Retried, Spooled, Dropped, Failed uint64
	// Queued is the number of entries waiting in memory.
	Queued int
	// SpoolEvents and SpoolBytes are what the spool holds now.
	SpoolEvents int64
	SpoolBytes  int64
}

// New returns a Client sending to the server at serverURL (such as
// "https://audit.example.com") with the API key key, and starts its sender.
// With WithSpool, it opens the spool and sends what it holds first.
func New(serverURL, key string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hashtrail client: the server URL %q must be http(s)://host[:port]", serverURL)
	}
	if key == "" {
		return nil, errors.New("hashtrail client: an API key is required")
	}
	if cfg.tenant != "" && !hashtrail.ValidTenantID(cfg.tenant) {
		return nil, fmt.Errorf("hashtrail client: %q is not a tenant id", cfg.tenant)
	}
	if cfg.batchSize <= 0 {
		cfg.batchSize = DefaultBatchSize
	}
	cfg.batchSize = min(cfg.batchSize, hashtrail.MaxBatchEvents)
	if cfg.batchBytes <= 0 || cfg.batchBytes > hashtrail.MaxBatchBytes-64 {
		cfg.batchBytes = hashtrail.MaxBatchBytes - 64
	}
	if cfg.queueSize <= 0 {
		cfg.queueSize = DefaultQueueSize
	}
	if cfg.minBackoff <= 0 {
		cfg.minBackoff = DefaultMinBackoff
	}
	if cfg.maxBackoff < cfg.minBackoff {
		cfg.maxBackoff = cfg.minBackoff
	}
	if cfg.requestTimeout <= 0 {
		cfg.requestTimeout = DefaultRequestTimeout
	}
	if cfg.segmentBytes <= 0 {
		cfg.segmentBytes = DefaultSegmentBytes
	}
	c := &Client{
		cfg:     cfg,
		base:    strings.TrimRight(serverURL, "/"),
		key:     key,
		hc:      cfg.httpClient,
		queue:   make(chan entry, cfg.queueSize),
		closing: make(chan struct{}),
		stop:    make(chan struct{}),
		abort:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if cfg.tenant != "" {
		c.endpoint = c.base + "/v1/tenants/" + url.PathEscape(cfg.tenant) + "/events?partial=true"
	} else {
		c.endpoint = c.base + "/v1/events?partial=true"
	}
	if cfg.spoolDir != "" {
		sp, err := openSpool(cfg.spoolDir, cfg.segmentBytes)
		if err != nil {
			return nil, err
		}
		c.spool = sp
	}
	c.runCtx, c.cancel = context.WithCancel(context.Background())
	go c.run()
	return c, nil
}

// Record queues ev to be sent and returns at once. The event then belongs to
// the client: do not change it afterwards (the sender reads it later).
//
// Record fills what ev leaves empty: Time (now), Actor and Context from ctx
// (see Middleware, WithActor and WithEventContext), Service (WithService)
// and, with WithTenant, Tenant. The id is given by the sender before the
// first try unless ev has one. Record fails at once with ErrNoTenant when
// the event's tenant is missing or wrong, ErrClosed after Close, and
// ErrQueueFull when the queue stays full (see WithBlockWhenFull and
// WithDropWhenFull). Other problems (invalid fields) reach the error
// handler once the server has answered.
func (c *Client) Record(ctx context.Context, ev *hashtrail.Event) error {
	if err := c.prepare(ctx, ev, false); err != nil {
		return err
	}
	return c.enqueue(ctx, entry{ev: ev})
}

// RecordFanOut queues one action to be recorded in each of tenants (DESIGN
// §3: POST /v1/events with "tenants"), such as a user's password change in
// every organisation the user belongs to. It needs an installation-wide key
// (a Client without WithTenant). The event keeps one id in every tenant; the
// server answers one receipt per tenant. ev.Tenant must be empty. tenants is
// kept by the client, like ev.
func (c *Client) RecordFanOut(ctx context.Context, ev *hashtrail.Event, tenants ...string) error {
	if err := c.checkFanOut(ev, tenants); err != nil {
		return err
	}
	if err := c.prepare(ctx, ev, true); err != nil {
		return err
	}
	return c.enqueue(ctx, entry{ev: ev, tenants: tenants})
}

func (c *Client) checkFanOut(ev *hashtrail.Event, tenants []string) error {
	if c.cfg.tenant != "" {
		return errors.New("hashtrail client: fan-out needs an installation-wide key (a client without WithTenant)")
	}
	if len(tenants) == 0 || ev.Tenant != "" {
		return errors.New("hashtrail client: fan-out names one or more tenants and an event without Tenant")
	}
	return nil
}

// RecordSync records ev and waits until the server has made it durable,
// returning its receipt (seq, received_at, leaf_hash). It goes through the
// same queue as Record, so it keeps the order of earlier events, but sends
// at once. It gives ev an id first if it has none.
//
// It returns an *EventError if the server rejected the event. When ctx ends
// first it returns ctx's error, and the event may still be recorded later
// under ev.ID; when the client closes while the event waits in the spool it
// returns ErrSpooled (a later Client on the spool sends it).
func (c *Client) RecordSync(ctx context.Context, ev *hashtrail.Event) (*hashtrail.Receipt, error) {
	if err := c.prepare(ctx, ev, false); err != nil {
		return nil, err
	}
	rs, err := c.recordSync(ctx, entry{ev: ev})
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, errors.New("hashtrail client: the server answered no receipt for the event")
	}
	return &rs[0], nil
}

// RecordFanOutSync is RecordFanOut that waits like RecordSync, returning one
// receipt per tenant.
func (c *Client) RecordFanOutSync(ctx context.Context, ev *hashtrail.Event, tenants ...string) ([]hashtrail.Receipt, error) {
	if err := c.checkFanOut(ev, tenants); err != nil {
		return nil, err
	}
	if err := c.prepare(ctx, ev, true); err != nil {
		return nil, err
	}
	return c.recordSync(ctx, entry{ev: ev, tenants: tenants})
}

func (c *Client) recordSync(ctx context.Context, e entry) ([]hashtrail.Receipt, error) {
	if e.ev.ID == "" {
		e.ev.ID = hashtrail.NewEventID()
	}
	e.wait = &waiter{done: make(chan struct{})}
	if err := c.enqueueWait(ctx, e); err != nil {
		return nil, err
	}
	select {
	case <-e.wait.done:
		return e.wait.receipts, e.wait.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// prepare fills what ev leaves empty and checks its tenant.
func (c *Client) prepare(ctx context.Context, ev *hashtrail.Event, fanOut bool) error {
	if ev == nil {
		return errors.New("hashtrail client: nil event")
	}
	if !fanOut {
		switch {
		case c.cfg.tenant == "" && ev.Tenant == "":
			return ErrNoTenant
		case c.cfg.tenant != "" && ev.Tenant != "" && ev.Tenant != c.cfg.tenant:
			return ErrNoTenant
		}
	}
	if ev.Time.IsZero() {
		ev.Time = hashtrail.NewTime(time.Now())
	}
	if ev.Service == nil {
		ev.Service = c.cfg.service
	}
	fillFromContext(ctx, ev)
	return nil
}

// enqueue puts e in the queue under the full policy.
func (c *Client) enqueue(ctx context.Context, e entry) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	select {
	case c.queue <- e:
		return nil
	default:
	}
	if c.cfg.full == Block && c.cfg.blockTimeout > 0 {
		t := time.NewTimer(c.cfg.blockTimeout)
		defer t.Stop()
		select {
		case c.queue <- e:
			return nil
		case <-t.C:
		case <-ctx.Done():
		case <-c.closing:
			return ErrClosed
		}
	}
	c.dropped.Add(1)
	c.report(&EventError{ID: e.ev.ID, Tenant: e.ev.Tenant, Tenants: e.tenants, Action: e.ev.Action, Err: ErrQueueFull})
	return ErrQueueFull
}

// enqueueWait puts e in the queue, waiting for room until ctx ends.
func (c *Client) enqueueWait(ctx context.Context, e entry) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	select {
	case c.queue <- e:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closing:
		return ErrClosed
	}
}

// Flush waits until every event recorded before the call has been answered
// by the server (sent or rejected), including what the spool holds, or ctx
// ends.
func (c *Client) Flush(ctx context.Context) error {
	w := &waiter{done: make(chan struct{})}
	if err := c.enqueueWait(ctx, entry{flush: w}); err != nil {
		return err
	}
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events, sends what is queued (retrying as usual)
// and stops the sender. When ctx ends first, it gives up: with a spool,
// what was not sent is spooled for the next Client; without one, it is
// dropped, counted and reported, and Close returns an error saying how many
// events were lost. Close waits for the sender to stop either way; calling
// it again returns ErrClosed.
func (c *Client) Close(ctx context.Context) error {
	c.closeMu.Lock()
	select {
	case <-c.closing:
		c.closeMu.Unlock()
		return ErrClosed
	default:
		close(c.closing)
	}
	c.closeMu.Unlock()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	select {
	case <-c.done:
	case <-ctx.Done():
		close(c.abort)
		c.cancel()
		<-c.done
	}
	c.cancel()
	var err error
	if c.spool != nil {
		err = c.spool.close()
	}
	if n := c.lost.Load(); n > 0 {
		return errors.Join(fmt.Errorf("hashtrail client: %d events were not delivered: %w", n, ctx.Err()), err)
	}
	return err
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := Stats{
		Sent:    c.sent.Load(),
		Retried: c.retried.Load(),
		Spooled: c.spooled.Load(),
		Dropped: c.dropped.Load(),
		Failed:  c.failed.Load(),
		Queued:  len(c.queue),
	}
	if c.spool != nil {
		s.SpoolEvents, s.SpoolBytes = c.spool.stats()
	}
	return s
}

// report hands err to the error handler and the logger.
func (c *Client) report(err error) {
	if c.cfg.logger != nil {
		c.cfg.logger.Warn("hashtrail client", "err", err)
	}
	if c.cfg.onError != nil {
		c.cfg.onError(err)
	}
}
