package hashtrail

import (
	"context"
	"encoding/json"
	"errors"
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
// sinks; deleting a sink deletes its cursors.
type SinkStore interface {
	// CreateSink adds s, setting CreatedAt and UpdatedAt if zero;
	// ECONFLICT if its id exists, ENOTFOUND for an unknown tenant.
	CreateSink(ctx context.Context, s *SinkConfig) error
	// Sink returns one sink, or ENOTFOUND.
	Sink(ctx context.Context, id string) (*SinkConfig, error)
	// Sinks returns the sinks of tenant (AllTenants for the
	// installation-wide ones, "" for every sink), by id.
	Sinks(ctx context.Context, tenant string) ([]*SinkConfig, error)
	// UpdateSink replaces a sink's name, filter, settings, batch size, max
	// failures, state and paused reason, setting UpdatedAt; ENOTFOUND if
	// unknown.
	UpdateSink(ctx context.Context, s *SinkConfig) error
	// DeleteSink removes a sink and its cursors; ENOTFOUND if unknown.
	DeleteSink(ctx context.Context, id string) error
	// SinkCursors returns the cursors of a sink, one per tenant it has
	// delivered (or tried to), by tenant.
	SinkCursors(ctx context.Context, sink string) ([]*SinkCursor, error)
	// SetSinkCursor stores c, replacing the cursor of its sink and tenant;
	// ENOTFOUND if the sink is unknown.
	SetSinkCursor(ctx context.Context, c *SinkCursor) error
}
