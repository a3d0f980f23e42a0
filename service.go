package hashtrail

import (
	"context"
	"time"
)

// IngestRequest is one request's events.
type IngestRequest struct {
	// Tenant is the tenant of the path (POST /v1/tenants/{t}/events), or ""
	// for POST /v1/events, where each event names its tenant(s).
	Tenant      string
	Submissions []*Submission
	// Single is true when the body was one event rather than
	// {"events": [...]}, so field paths in errors have no "events[i]".
	Single bool
	// Partial asks, as ?partial=true does, to write the events that pass
	// the tenant's policy (its action catalog) and leave out the others,
	// which Ingest lists in Rejected. Without it one failing event fails
	// the request. If none passes, Ingest fails with EINVALID all the same.
	Partial bool
	// Rejected is set by Ingest in partial mode: the events left out.
	Rejected []Rejection
}

// Rejection is one event left out of a partial ingest, with why.
type Rejection struct {
	Index  int          `json:"index"`
	Errors []FieldError `json:"errors"`
}

// KeyRequest asks for a new API key.
type KeyRequest struct {
	Tenant    string `json:"tenant"` // a tenant id, or AllTenants
	Role      Role   `json:"role"`
	Name      string `json:"name,omitempty"`
	ExpiresAt Time   `json:"expires_at,omitzero"`
	// Scope narrows the key (KeyScope); nil for none.
	Scope *KeyScope `json:"scope,omitempty"`
	// Secret, if set, becomes the key's secret instead of a random one (used
	// for HASHTRAIL_BOOTSTRAP_KEY); it must be at least 32 characters.
	Secret string `json:"-"`
}

// NewKey is a created key with its secret, shown once.
type NewKey struct {
	APIKey
	Secret string `json:"secret"`
}

// LogService is what the HTTP API and the CLI call; the ledger implements it.
// Every method but Authenticate, Ready and LogKeys authorizes the principal
// in ctx (WithPrincipal) and answers ENOTFOUND for a tenant it cannot see.
// A context without a principal is the local operator (CLI on the data
// directory), who may do everything.
type LogService interface {
	// Authenticate returns the principal a bearer secret stands for, or
	// EUNAUTHORIZED.
	Authenticate(ctx context.Context, secret string) (*Principal, error)
	// Ingest appends a request's events and returns one receipt per event and
	// tenant, once durable. It writes all of them or none.
	Ingest(ctx context.Context, req *IngestRequest) ([]Receipt, error)
	// Events lists events; the list's NextCursor continues it.
	Events(ctx context.Context, q *Query) (*EventList, error)
	// Event returns one event by id.
	Event(ctx context.Context, tenant, id string) (*Event, error)

	CreateTenant(ctx context.Context, t *Tenant) (*Tenant, error)
	Tenant(ctx context.Context, id string) (*Tenant, error)
	Tenants(ctx context.Context) ([]*Tenant, error)
	UpdateTenant(ctx context.Context, t *Tenant) (*Tenant, error)
	DeleteTenant(ctx context.Context, id string) error

	CreateKey(ctx context.Context, req *KeyRequest) (*NewKey, error)
	// RotateKey makes a new key like id and revokes id grace from now
	// (0: the default grace).
	RotateKey(ctx context.Context, tenant, id string, grace time.Duration) (*NewKey, error)
	Keys(ctx context.Context, tenant string) ([]*APIKey, error)
	RevokeKey(ctx context.Context, tenant, id string) error

	// Ready reports whether the service can take requests.
	Ready(ctx context.Context) error
	// Authorize reports whether the principal in ctx may act with perm on
	// tenant, or on the installation when tenant is AllTenants: nil, or
	// ENOTFOUND for a tenant it cannot see, or EFORBIDDEN. The HTTP API asks
	// it before reading a request's input, so that a caller without access
	// learns only that, never a validation detail; every other method still
	// authorizes on its own.
	Authorize(ctx context.Context, tenant string, perm Permission) error

	// Integrity serves checkpoints, proofs, receipts and tiles (DESIGN §2).
	Integrity
	// CatalogService manages tenants' action catalogs.
	CatalogService
	// RetentionService manages retention policies, legal holds and the
	// compliance floor.
	RetentionService
	// SinkService manages sinks, streaming to other systems.
	SinkService
	// ViewerTokenService mints and revokes viewer tokens.
	ViewerTokenService
	// RedactionService manages tenants' redaction rules.
	RedactionService
	// TenantLifecycleService suspends and resumes tenants.
	TenantLifecycleService
	// TenantDeleteService deletes tenants with their events and sets
	// storage quotas.
	TenantDeleteService
	// ReadAuditService turns the audit of reads on and off per tenant.
	ReadAuditService
	// StatsService counts events (GET /v1/tenants/{t}/stats).
	StatsService
	// SavedSearchService keeps tenants' saved searches.
	SavedSearchService
}

// ReadAuditService turns the audit of reads (data.read events) on and off.
type ReadAuditService interface {
	ReadAudit(ctx context.Context, tenant string) (bool, error)
	SetReadAudit(ctx context.Context, tenant string, enabled bool) error
}

// ReadAuditSetting is the body of GET/PUT /v1/tenants/{t}/read-audit.
type ReadAuditSetting struct {
	Enabled bool `json:"enabled"`
}
