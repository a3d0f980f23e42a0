package hashtrail

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Sink delivers committed events to one destination (DESIGN §5: the log is
// the outbox). The dispatcher (package sink) reads each tenant's log by seq
// after commit, filters it, and hands a Sink batches of one tenant's events
// in seq order, each as the API answers it to an admin (with tenant, seq,
// received_at, leaf_hash and personal values). Receivers drop duplicates
// by tenant and id: delivery is at least once.
//
// Implementations live in sink/<destination>; each passes sink/sinktest.
type Sink interface {
	// Deliver sends batch, events of one tenant in seq order, and returns
	// nil only once the destination has accepted every one of them. Any
	// other answer means some or none were accepted: the dispatcher sends
	// the whole batch again after a backoff (so destinations must accept
	// duplicates). A *PermanentError says retrying cannot help (a webhook's
	// 410 Gone, a rejected credential): the dispatcher pauses the sink with
	// its message. Deliver is called by one goroutine at a time per sink
	// and must give up when ctx ends.
	Deliver(ctx context.Context, batch []*Event) error
	// Close releases the sink's connections.
	Close() error
}

// PermanentError is a Sink's answer that retrying cannot help.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is, or wraps, a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfter returns how long the destination asked to be left alone
// before the next try (an HTTP receiver's Retry-After): the RetryAfter()
// of the first error in err's chain that has one, or 0. The dispatcher
// waits at least that long, up to its maximum backoff.
func RetryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return max(ra.RetryAfter(), 0)
	}
	return 0
}

// SinkState is whether a sink delivers.
type SinkState string

// The sink states.
const (
	// SinkActive delivers.
	SinkActive SinkState = "active"
	// SinkPaused keeps its position and delivers nothing until resumed: set
	// by an admin, or by the dispatcher after MaxFailures failures in a row
	// or a permanent error (PausedReason says which).
	SinkPaused SinkState = "paused"
)

// SinkConfig is one configured destination.
type SinkConfig struct {
	ID string `json:"id"`
	// Tenant is the tenant whose log the sink delivers, or AllTenants for
	// an installation-wide sink, which delivers every tenant's log.
	Tenant string `json:"tenant"`
	Name   string `json:"name,omitempty"`
	// Type names the destination: webhook, nats, syslog, splunk, datadog,
	// s3, file.
	Type string `json:"type"`
	// Filter selects the events sent, in the search syntax (DESIGN §4);
	// empty sends every event.
	Filter string `json:"filter,omitempty"`
	// Settings are the destination's own settings (URL, subject, format,
	// credentials...), as JSON the destination's package defines. They may
	// hold secrets: the API shows them redacted.
	Settings json.RawMessage `json:"settings"`
	// BatchSize caps the events of one delivery (0: the destination's
	// default); MaxFailures is how many failed deliveries in a row pause the
	// sink (0: the dispatcher's default).
	BatchSize   int `json:"batch_size,omitempty"`
	MaxFailures int `json:"max_failures,omitempty"`

	State        SinkState `json:"state"`
	PausedReason string    `json:"paused_reason,omitempty"`
	CreatedAt    Time      `json:"created_at"`
	UpdatedAt    Time      `json:"updated_at"`
}

// SinkCursor is a sink's position in one tenant's log.
type SinkCursor struct {
	Sink   string `json:"sink"`
	Tenant string `json:"tenant"`
	// Next is the seq of the next event to consider: every event below it
	// was delivered (or filtered out).
	Next int64 `json:"next"`
	// LastDelivery is when a batch was last accepted; LastError and
	// Failures describe the failures since (Failures counts them in a row).
	LastDelivery Time   `json:"last_delivery,omitzero"`
	LastError    string `json:"last_error,omitempty"`
	Failures     int    `json:"failures"`
}

// SinkStore keeps sinks and their cursors. Deleting a tenant deletes its
// sinks and every sink's cursor of that tenant; deleting a sink deletes its
// cursors.
//
// A tenant without a stored cursor counts as being at seq 0 (Next 0, no
// failures): an installation-wide sink delivers the whole log of a tenant
// made after it.
type SinkStore interface {
	// CreateSink adds s, setting CreatedAt and UpdatedAt if zero;
	// ECONFLICT if its id exists, ENOTFOUND for an unknown tenant. In the
	// same transaction it sets the cursor of every tenant the sink covers
	// to that tenant's log size, so a new sink starts with the events
	// committed after it (a replay sends history).
	CreateSink(ctx context.Context, s *SinkConfig) error
	// Sink returns one sink, or ENOTFOUND.
	Sink(ctx context.Context, id string) (*SinkConfig, error)
	// Sinks returns the sinks of tenant (AllTenants for the
	// installation-wide ones, "" for every sink), by id.
	Sinks(ctx context.Context, tenant string) ([]*SinkConfig, error)
	// UpdateSink replaces a sink's name, filter, settings, batch size, max
	// failures, state and paused reason, setting UpdatedAt (to the store's
	// clock, later than the stored one); ENOTFOUND if unknown.
	UpdateSink(ctx context.Context, s *SinkConfig) error
	// DeleteSink removes a sink and its cursors; ENOTFOUND if unknown.
	DeleteSink(ctx context.Context, id string) error
	// SinkCursors returns the stored cursors of a sink, by tenant.
	SinkCursors(ctx context.Context, sink string) ([]*SinkCursor, error)
	// SetSinkCursor stores c, replacing the cursor of its sink and tenant,
	// provided the stored cursor's Next is prev (a missing cursor counts as
	// 0): ECONFLICT otherwise, so a dispatcher never writes over a replay
	// made meanwhile (it reloads the cursor instead). prev < 0 stores c
	// whatever is stored (a replay). ENOTFOUND if the sink is unknown.
	SetSinkCursor(ctx context.Context, c *SinkCursor, prev int64) error
}

// AnyCursor is SetSinkCursor's prev that replaces whatever cursor is stored.
const AnyCursor int64 = -1

// LeaseSink is the lease held by the node that delivers one tenant's log to
// one sink: LeaseSink + sink id + "/" + tenant.
const LeaseSink = "sink/"

// SinkTenantStatus is where a sink stands in one tenant's log.
type SinkTenantStatus struct {
	Tenant string `json:"tenant"`
	// Next is the cursor: the seq of the next event to consider.
	Next int64 `json:"next"`
	// LogSize is the tenant's log size; LagEvents = LogSize - Next.
	LogSize   int64 `json:"log_size"`
	LagEvents int64 `json:"lag_events"`
	// LagSeconds is the age of the oldest event not yet delivered (by its
	// received_at); 0 when caught up.
	LagSeconds   float64 `json:"lag_seconds"`
	LastDelivery Time    `json:"last_delivery,omitzero"`
	LastError    string  `json:"last_error,omitempty"`
	Failures     int     `json:"failures"`
}

// SinkInfo is a sink as the API shows it: its configuration, with secret
// settings redacted, and its status per tenant.
type SinkInfo struct {
	*SinkConfig
	Status []SinkTenantStatus `json:"status"`
}

// SinkPatch changes some of a sink's settings; nil fields are kept. A
// secret setting given as RedactedSecret keeps its stored value, so a sink
// read from the API can be sent back with one change.
type SinkPatch struct {
	Name        *string          `json:"name,omitempty"`
	Filter      *string          `json:"filter,omitempty"`
	Settings    *json.RawMessage `json:"settings,omitempty"`
	BatchSize   *int             `json:"batch_size,omitempty"`
	MaxFailures *int             `json:"max_failures,omitempty"`
}

// RedactedSecret stands in for a secret setting in answers.
const RedactedSecret = "[redacted]"

// SinkReplay moves a sink's cursor back (or forward) to re-send history:
// to FromSeq, or to the first event received at or after FromTime, in
// Tenant's log, or in every log the sink covers when Tenant is "".
type SinkReplay struct {
	Tenant   string `json:"tenant,omitempty"`
	FromSeq  *int64 `json:"from_seq,omitempty"`
	FromTime Time   `json:"from_time,omitzero"`
}

// SinkTypes are the destinations an installation offers. The engine checks
// sinks' settings and redacts their secrets with it; package sink's
// Registry implements it.
type SinkTypes interface {
	// CheckSink checks s.Type and s.Settings (and may fill in defaults in
	// s.Settings), returning every violation with fields such as "type" or
	// "settings.url".
	CheckSink(s *SinkConfig) []FieldError
	// SecretSettings names the top-level members of a type's settings that
	// hold secrets.
	SecretSettings(typ string) []string
}

// SinkService manages sinks. tenant is the tenant of the path, or
// AllTenants for installation-wide sinks (installation-wide admin keys
// only); a sink of another scope is not found. Every change is recorded in
// the tenant's log (the installation's for installation-wide sinks),
// without the sink's settings.
type SinkService interface {
	CreateSink(ctx context.Context, s *SinkConfig) (*SinkInfo, error)
	Sinks(ctx context.Context, tenant string) ([]*SinkInfo, error)
	Sink(ctx context.Context, tenant, id string) (*SinkInfo, error)
	UpdateSink(ctx context.Context, tenant, id string, p *SinkPatch) (*SinkInfo, error)
	// PauseSink stops delivery, keeping the position; ResumeSink restarts
	// it and clears the failures.
	PauseSink(ctx context.Context, tenant, id, reason string) (*SinkInfo, error)
	ResumeSink(ctx context.Context, tenant, id string) (*SinkInfo, error)
	ReplaySink(ctx context.Context, tenant, id string, r *SinkReplay) (*SinkInfo, error)
	DeleteSink(ctx context.Context, tenant, id string) error
}

// NewSinkID returns a new random sink id, "snk_" and 12 characters.
func NewSinkID() string {
	return "snk_" + strings.ToLower(base64.RawURLEncoding.EncodeToString(randomBytes(9)))
}

// Limits of a sink's configuration.
const (
	MaxSinkBatchSize   = 10000
	MaxSinkMaxFailures = 1000
)
