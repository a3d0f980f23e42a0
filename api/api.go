// Package api is the wire contract shared by the HTTP server (httpapi) and the
// Go SDK (client): request and response bodies, route paths, the problem body.
// It has no behaviour.
package api

import (
	"encoding/json"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Routes of the v1 API (Go 1.22 ServeMux patterns without the method).
const (
	PathTenantEvents = "/v1/tenants/{tenant}/events"
	PathEvents       = "/v1/events"
	PathTenantEvent  = "/v1/tenants/{tenant}/events/{id}"
	// PathTenantExport streams an export (?format=jsonl|csv|ocsf|cef|ecs).
	PathTenantExport = "/v1/tenants/{tenant}/export"
	PathTenants      = "/v1/tenants"
	PathTenant       = "/v1/tenants/{tenant}"
	PathTenantKeys   = "/v1/tenants/{tenant}/keys"
	PathTenantKey    = "/v1/tenants/{tenant}/keys/{key}"
	PathKeys         = "/v1/keys" // installation-wide keys
	PathKey          = "/v1/keys/{key}"
	// Key rotation: a new key like the old one, which expires after a grace.
	PathTenantKeyRotate = "/v1/tenants/{tenant}/keys/{key}/rotate"
	PathKeyRotate       = "/v1/keys/{key}/rotate"
	PathCatalog         = "/v1/catalog"
	// A tenant's own action catalog, whole or one action.
	PathTenantCatalog       = "/v1/tenants/{tenant}/catalog"
	PathTenantCatalogAction = "/v1/tenants/{tenant}/catalog/actions/{action}"
	// Retention policies, legal holds and the installation's compliance
	// floor (docs/retention.md).
	PathTenantRetention = "/v1/tenants/{tenant}/retention"
	PathTenantHolds     = "/v1/tenants/{tenant}/holds"
	PathTenantHold      = "/v1/tenants/{tenant}/holds/{hold}"
	// A data subject ("type:id" or an e-mail address): erasure (GDPR Art.
	// 17) per tenant and installation-wide, and the access export (Art. 15).
	PathTenantSubjectErase  = "/v1/tenants/{tenant}/subjects/{subject}/erase"
	PathTenantSubjectEvents = "/v1/tenants/{tenant}/subjects/{subject}/events"
	PathSubjectErase        = "/v1/subjects/{subject}/erase"
	PathRetentionFloor      = "/v1/retention/floor"
	PathOpenAPI             = "/v1/openapi.json"
	PathHealthz             = "/healthz"
	PathReadyz              = "/readyz"
	PathMetrics             = "/metrics"

	// Tamper evidence (DESIGN §2).
	PathLogKey           = "/v1/log/key"
	PathLogKeys          = "/v1/log/keys"
	PathEventReceipt     = "/v1/tenants/{tenant}/events/{id}/receipt"
	PathLogCheckpoint    = "/v1/tenants/{tenant}/log/checkpoint"
	PathInclusionProof   = "/v1/tenants/{tenant}/log/proof/inclusion"
	PathConsistencyProof = "/v1/tenants/{tenant}/log/proof/consistency"
	// PathLogTile serves C2SP tlog-tiles hash tiles: with the checkpoint,
	// /v1/tenants/{tenant}/log/ is a tlog-tiles prefix URL.
	PathLogTile = "/v1/tenants/{tenant}/log/tile/{path...}"

	// Witnessing (DESIGN §2, Witnesses): the installation log's latest
	// checkpoint with the witnesses' cosignatures, and a tenant checkpoint
	// with its inclusion proof in a cosigned installation checkpoint.
	PathInstallationCheckpoint = "/v1/log/installation/checkpoint"
	PathWitnessed              = "/v1/tenants/{tenant}/log/witnessed"
	// PathTenantStats counts events (group_by, bucket and the listing's filters).
	PathTenantStats = "/v1/tenants/{tenant}/stats"
	// Saved searches of a tenant, all or one.
	PathTenantSearches = "/v1/tenants/{tenant}/searches"
	PathTenantSearch   = "/v1/tenants/{tenant}/searches/{search}"
)

// Routes of sinks (streaming to other systems): a tenant's, and the
// installation-wide ones.
const (
	// Viewer tokens: signed read-only tokens limited to a filter.
	PathTenantViewerTokens = "/v1/tenants/{tenant}/viewer-tokens"
	PathTenantViewerToken  = "/v1/tenants/{tenant}/viewer-tokens/{token}"
	// A tenant's redaction rules, applied at ingest.
	PathTenantRedaction = "/v1/tenants/{tenant}/redaction"
	// Whether reads by read keys and viewer tokens are recorded (data.read).
	PathTenantReadAudit = "/v1/tenants/{tenant}/read-audit"

	PathTenantSinks      = "/v1/tenants/{tenant}/sinks"
	PathTenantSink       = "/v1/tenants/{tenant}/sinks/{sink}"
	PathTenantSinkPause  = "/v1/tenants/{tenant}/sinks/{sink}/pause"
	PathTenantSinkResume = "/v1/tenants/{tenant}/sinks/{sink}/resume"
	PathTenantSinkReplay = "/v1/tenants/{tenant}/sinks/{sink}/replay"
	PathSinks            = "/v1/sinks"
	PathSink             = "/v1/sinks/{sink}"
	PathSinkPause        = "/v1/sinks/{sink}/pause"
	PathSinkResume       = "/v1/sinks/{sink}/resume"
	PathSinkReplay       = "/v1/sinks/{sink}/replay"
)

// SinkRequest creates a sink (POST .../sinks). Settings are the
// destination's own, such as {"dir": "siem"} for a file sink. Paused
// creates it paused.
type SinkRequest struct {
	Name        string          `json:"name,omitempty"`
	Type        string          `json:"type"`
	Filter      string          `json:"filter,omitempty"`
	Settings    json.RawMessage `json:"settings,omitempty"`
	BatchSize   int             `json:"batch_size,omitempty"`
	MaxFailures int             `json:"max_failures,omitempty"`
	Paused      bool            `json:"paused,omitempty"`
}

// SinkList answers GET .../sinks.
type SinkList struct {
	Sinks []*hashtrail.SinkInfo `json:"sinks"`
}

// SinkPause pauses a sink (POST .../pause); the body is optional.
type SinkPause struct {
	Reason string `json:"reason,omitempty"`
}

// SinkReplay re-sends history (POST .../replay): from_seq or from_time
// (RFC 3339, received_at), in tenant's log or, when absent, every log the
// sink covers.
type SinkReplay = hashtrail.SinkReplay

// Media types of the tamper-evidence answers.
const (
	// ContentTypeText is the type of checkpoints (signed notes), receipts and
	// verifier keys.
	ContentTypeText = "text/plain; charset=utf-8"
	// ContentTypeTile is the type of hash tiles.
	ContentTypeTile = "application/octet-stream"
)

// ContentTypeProblem is the media type of error answers (RFC 9457).
const ContentTypeProblem = "application/problem+json"

// IngestResponse answers POST .../events.
type IngestResponse struct {
	Events []hashtrail.Receipt `json:"events"`
	// Rejected lists the events left out with ?partial=true.
	Rejected []Rejection `json:"rejected,omitempty"`
}

// Rejection is one event that ?partial=true left out, with why.
type Rejection = hashtrail.Rejection

// EventList answers GET .../events.
type EventList = hashtrail.EventList

// InclusionProof answers GET .../log/proof/inclusion; hashes are base64.
type InclusionProof = hashtrail.InclusionProof

// ConsistencyProof answers GET .../log/proof/consistency; hashes are base64.
type ConsistencyProof = hashtrail.ConsistencyProof

// EventWithProof answers GET /v1/tenants/{t}/events/{id}?proof=true: the
// event's members, then the leaf (base64), the inclusion proof and the signed
// checkpoint (C2SP tlog-checkpoint as a signed note) it is proved against.
type EventWithProof struct {
	*hashtrail.Event
	Leaf       []byte                   `json:"leaf"`
	Proof      hashtrail.InclusionProof `json:"proof"`
	Checkpoint string                   `json:"checkpoint"`
}

// Witnessed answers GET /v1/tenants/{t}/log/witnessed: a signed checkpoint
// of the tenant's log (Checkpoint), which is the entry at Index of the
// installation log, and the proof of that entry (leaf: the checkpoint's
// bytes) in the installation checkpoint Installation, a signed note carrying
// the witnesses' cosignatures.
type Witnessed struct {
	Checkpoint   string                   `json:"checkpoint"`
	Index        int64                    `json:"index"`
	Installation string                   `json:"installation_checkpoint"`
	Proof        hashtrail.InclusionProof `json:"proof"`
}

// TenantList answers GET /v1/tenants.
type TenantList struct {
	Tenants []*hashtrail.Tenant `json:"tenants"`
}

// TenantRequest creates a tenant (POST /v1/tenants).
type TenantRequest struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// TenantPatch changes a tenant (PATCH /v1/tenants/{t}). A nil member is left
// unchanged.
type TenantPatch struct {
	Name *string `json:"name,omitempty"`
	// Suspended suspends (true) or resumes (false) the tenant: a suspended
	// tenant refuses writes with 403 and still answers reads.
	Suspended       *bool  `json:"suspended,omitempty"`
	SuspendedReason string `json:"suspended_reason,omitempty"`
	// EventsPerDay sets the tenant's quota of events a UTC day (0: none).
	EventsPerDay *int64 `json:"events_per_day,omitempty"`
	// StorageBytesLimit sets the tenant's storage quota in bytes (0: none);
	// writes past it answer 403 quota_exceeded.
	StorageBytesLimit *int64 `json:"storage_bytes_limit,omitempty"`
}

// KeyRequest asks for a new key (POST /v1/tenants/{t}/keys or /v1/keys).
type KeyRequest struct {
	Role      hashtrail.Role `json:"role"`
	Name      string         `json:"name,omitempty"`
	ExpiresIn string         `json:"expires_in,omitempty"` // a Go duration such as 720h
	// Scope narrows the key: the actions it may write, a search its reads
	// are AND-ed with.
	Scope *hashtrail.KeyScope `json:"scope,omitempty"`
}

// KeyList answers GET .../keys.
type KeyList struct {
	Keys []*hashtrail.APIKey `json:"keys"`
}

// Catalog answers GET /v1/catalog.
type Catalog struct {
	// Version is hashtrail.CatalogVersion; OCSFVersion the OCSF schema
	// version of the entries' classes.
	Version     int                      `json:"version"`
	OCSFVersion string                   `json:"ocsf_version"`
	Actions     []hashtrail.CatalogEntry `json:"actions"`
}

// Status answers GET /healthz and GET /readyz.
type Status struct {
	Status string `json:"status"` // "ok" or "ready"
}

// Problem is an RFC 9457 problem detail with the wrong fields. Code is one of
// the hashtrail error codes (hashtrail.EINVALID...), or "method_not_allowed".
// RequestID repeats the X-Request-Id of the answer, to quote in a report.
type Problem struct {
	Type      string                 `json:"type"`
	Title     string                 `json:"title"`
	Status    int                    `json:"status"`
	Detail    string                 `json:"detail,omitempty"`
	Instance  string                 `json:"instance,omitempty"`
	Code      string                 `json:"code"`
	Errors    []hashtrail.FieldError `json:"errors,omitempty"`
	RequestID string                 `json:"request_id,omitempty"`
}

// HeaderRequestID carries a request's id in both directions.
const HeaderRequestID = "X-Request-Id"

// CodeMethodNotAllowed is the Problem code of a 405 answer, which has no
// hashtrail error code.
const CodeMethodNotAllowed = "method_not_allowed"
