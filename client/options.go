package client

import (
	"log/slog"
	"net/http"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Option configures a Client (see New).
type Option func(*config)

// FullPolicy says what Record does when the queue is full.
type FullPolicy int

const (
	// Block waits for room up to a deadline (WithBlockWhenFull), then drops.
	Block FullPolicy = iota
	// Drop drops the event at once and counts it (WithDropWhenFull).
	Drop
)

// Defaults of the options.
const (
	DefaultBatchSize      = 500
	DefaultBatchBytes     = 4 << 20
	DefaultBatchDelay     = 200 * time.Millisecond
	DefaultQueueSize      = 10000
	DefaultBlockTimeout   = 100 * time.Millisecond
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultMaxRetryAfter  = 5 * time.Minute
	DefaultRequestTimeout = 30 * time.Second
	DefaultSegmentBytes   = 16 << 20
)

type config struct {
	tenant         string
	httpClient     *http.Client
	batchSize      int
	batchBytes     int
	batchDelay     time.Duration
	queueSize      int
	full           FullPolicy
	blockTimeout   time.Duration
	minBackoff     time.Duration
	maxBackoff     time.Duration
	maxRetryAfter  time.Duration
	maxAttempts    int
	requestTimeout time.Duration
	spoolDir       string
	spoolLimit     int64
	segmentBytes   int64
	onError        func(error)
	logger         *slog.Logger
	service        *hashtrail.Service
	userAgent      string

	discard bool // tests: the sender drops every event unseen (Record benchmarks)
}

func defaultConfig() config {
	return config{
		batchSize:      DefaultBatchSize,
		batchBytes:     DefaultBatchBytes,
		batchDelay:     DefaultBatchDelay,
		queueSize:      DefaultQueueSize,
		full:           Block,
		blockTimeout:   DefaultBlockTimeout,
		minBackoff:     DefaultMinBackoff,
		maxBackoff:     DefaultMaxBackoff,
		maxRetryAfter:  DefaultMaxRetryAfter,
		requestTimeout: DefaultRequestTimeout,
		segmentBytes:   DefaultSegmentBytes,
		userAgent:      "hashtrail-go",
	}
}

// WithTenant says the key is scoped to tenant: events go to
// POST /v1/tenants/{tenant}/events and an event's Tenant, when set, must be
// this one. Without it the key must be installation-wide and every event
// names its Tenant (or is fanned out with RecordFanOut); events then go to
// POST /v1/events.
func WithTenant(tenant string) Option { return func(c *config) { c.tenant = tenant } }

// WithHTTPClient sends through hc (default: a client of its own over
// http.DefaultTransport). Its Timeout, if any, applies on top of
// WithRequestTimeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithBatchSize caps the events of one request (default 500; at most
// hashtrail.MaxBatchEvents).
func WithBatchSize(n int) Option { return func(c *config) { c.batchSize = n } }

// WithBatchBytes caps the encoded events of one request (default 4 MiB; at
// most hashtrail.MaxBatchBytes less a little for the envelope).
func WithBatchBytes(n int) Option { return func(c *config) { c.batchBytes = n } }

// WithBatchDelay is how long the sender waits for a batch to fill after its
// first event before sending it anyway (default 200ms). RecordSync and
// Flush send at once.
func WithBatchDelay(d time.Duration) Option { return func(c *config) { c.batchDelay = d } }

// WithQueueSize bounds the events held in memory waiting for the sender
// (default 10,000).
func WithQueueSize(n int) Option { return func(c *config) { c.queueSize = n } }

// WithBlockWhenFull makes Record wait up to d for room when the queue is
// full (or until its context ends, if sooner), then drop the event, count it
// and return ErrQueueFull. This is the default policy, with 100ms.
func WithBlockWhenFull(d time.Duration) Option {
	return func(c *config) { c.full, c.blockTimeout = Block, d }
}

// WithDropWhenFull makes Record drop an event at once when the queue is full,
// count it and return ErrQueueFull.
func WithDropWhenFull() Option { return func(c *config) { c.full = Drop } }

// WithBackoff sets the exponential backoff between retries: attempt n waits a
// random time in (0, min(max, min·2ⁿ⁻¹)] ("full jitter"), or the server's
// Retry-After when that is longer (default 100ms to 30s).
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) { c.minBackoff, c.maxBackoff = min, max }
}

// WithMaxRetryAfter caps how long a Retry-After answer makes the sender wait
// (default 5 minutes).
func WithMaxRetryAfter(d time.Duration) Option { return func(c *config) { c.maxRetryAfter = d } }

// WithMaxAttempts gives up on a batch after n tries that failed with a
// retryable answer (429, 5xx or a network error), failing its events. The
// default, 0, retries until the server answers or Close gives up; with a
// spool, retries never give up.
func WithMaxAttempts(n int) Option { return func(c *config) { c.maxAttempts = n } }

// WithRequestTimeout bounds one HTTP request (default 30s).
func WithRequestTimeout(d time.Duration) Option { return func(c *config) { c.requestTimeout = d } }

// WithSpool keeps events that cannot be sent yet in an on-disk spool under
// dir (created if missing), so they survive a long outage and a restart of
// the app: a batch that fails with a retryable answer goes to the spool, and
// so does everything queued behind it until the spool is empty again; Close
// spools what it could not send. A new Client on the same dir sends what the
// spool holds first, in order, with the ids the events were given. One
// directory must serve one Client at a time.
func WithSpool(dir string) Option { return func(c *config) { c.spoolDir = dir } }

// WithSpoolLimit bounds the bytes the spool holds (default 0: no limit). When
// it is reached the sender stops moving the queue into the spool, so the
// queue fills and the full policy applies. A failing batch is always
// spooled, so the limit may be passed by one batch.
func WithSpoolLimit(bytes int64) Option { return func(c *config) { c.spoolLimit = bytes } }

// WithSpoolSegmentBytes sets the size at which the spool starts a new segment
// file (default 16 MiB).
func WithSpoolSegmentBytes(n int64) Option { return func(c *config) { c.segmentBytes = n } }

// WithErrorHandler calls fn with every event the client gives up on (an
// *EventError: rejected by the server, dropped when the queue was full, lost
// at Close), with every failed try it will retry (a *RetryError) and with
// spool I/O errors. fn runs on the sender goroutine, or on the Record
// caller's for a drop, and must return quickly; it may be called
// concurrently. It must not call the client's Flush, Close or RecordSync,
// which wait for the sender.
func WithErrorHandler(fn func(error)) Option { return func(c *config) { c.onError = fn } }

// WithLogger logs what the error handler receives, at warning level (default:
// nothing is logged). Events' contents are never logged, only their ids.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithService stamps s on every event that has no Service. s is shared by
// those events and must not change afterwards.
func WithService(s hashtrail.Service) Option { return func(c *config) { c.service = &s } }

// WithUserAgent sets the User-Agent of the requests (default "hashtrail-go").
func WithUserAgent(ua string) Option { return func(c *config) { c.userAgent = ua } }
