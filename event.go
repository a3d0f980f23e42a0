package hashtrail

import (
	"encoding/json"

	"github.com/oklog/ulid/v2"
)

// Event is one thing that happened (DESIGN §1). It is immutable once
// acknowledged. Client fields come first; Tenant, Seq, ReceivedAt and
// LeafHash are assigned by the server.
type Event struct {
	ID          string          `json:"id"`
	Time        Time            `json:"time"`
	Action      string          `json:"action"`
	Category    Category        `json:"category"`
	Severity    Severity        `json:"severity"`
	Outcome     Outcome         `json:"outcome"`
	Reason      string          `json:"reason,omitempty"`
	Error       string          `json:"error,omitempty"`
	Description string          `json:"description,omitempty"`
	Actor       *Actor          `json:"actor,omitempty"`
	Targets     []Target        `json:"targets,omitempty"`
	Context     *Context        `json:"context,omitempty"`
	Service     *Service        `json:"service,omitempty"`
	Changes     []Change        `json:"changes,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	Tags        []string        `json:"tags,omitempty"`
	Output      *Output         `json:"output,omitempty"`

	Tenant     string `json:"tenant"`
	Seq        int64  `json:"seq"`
	ReceivedAt Time   `json:"received_at"`
	LeafHash   string `json:"leaf_hash,omitempty"`
	// PII holds, per personal-data role, the commitment the leaf carries, the
	// salt (for callers who may see personal data) and whether the subject
	// was erased (DESIGN §2).
	PII map[string]PIICommitment `json:"pii,omitempty"`
	// KeyID names the API key that ingested the event (never its secret).
	KeyID string `json:"key_id,omitempty"`
}

// Actor is who did it.
type Actor struct {
	Type         ActorType     `json:"type"`
	ID           string        `json:"id,omitempty"`
	Name         string        `json:"name,omitempty"`
	Email        string        `json:"email,omitempty"`
	Roles        []string      `json:"roles,omitempty"`
	Auth         *Auth         `json:"auth,omitempty"`
	Impersonator *Impersonator `json:"impersonator,omitempty"`
}

// Auth is how the actor authenticated. CredentialID names the credential used,
// never its secret.
type Auth struct {
	Method       string `json:"method,omitempty"`
	MFA          *bool  `json:"mfa,omitempty"`
	CredentialID string `json:"credential_id,omitempty"`
	Provider     string `json:"provider,omitempty"`
}

// Impersonator is the admin acting as the actor.
type Impersonator struct {
	Type ActorType `json:"type"`
	ID   string    `json:"id,omitempty"`
	Name string    `json:"name,omitempty"`
}

// Target is what the action was done to, such as project:7.
type Target struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Key returns "type:id".
func (t Target) Key() string { return t.Type + ":" + t.ID }

// Context is where the action came from.
type Context struct {
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	TraceID   string    `json:"trace_id,omitempty"`
	Method    string    `json:"method,omitempty"`
	Path      string    `json:"path,omitempty"`
	Source    string    `json:"source,omitempty"`
	Location  *Location `json:"location,omitempty"`
}

// Location is a coarse geographic location of the client.
type Location struct {
	Country string `json:"country,omitempty"`
	Region  string `json:"region,omitempty"`
	City    string `json:"city,omitempty"`
}

// Service is the application that emitted the event.
type Service struct {
	Name        string `json:"name,omitempty"`
	Version     string `json:"version,omitempty"`
	Environment string `json:"environment,omitempty"`
	Host        string `json:"host,omitempty"`
}

// Change is one field's change. A secret field carries Redacted and no values.
type Change struct {
	Field    string          `json:"field"`
	Old      json.RawMessage `json:"old,omitempty"`
	New      json.RawMessage `json:"new,omitempty"`
	Redacted bool            `json:"redacted,omitempty"`
}

// Output records a command's execution.
type Output struct {
	Command  string `json:"command"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Stdout   string `json:"stdout,omitempty"`
	Stderr   string `json:"stderr,omitempty"`
}

// ActorKey returns the actor's subject-style key: "type:id", or
// "email:<address>" when only an address is known, or "" for no actor.
func (e *Event) ActorKey() string {
	if e.Actor == nil {
		return ""
	}
	if e.Actor.ID != "" {
		return string(e.Actor.Type) + ":" + e.Actor.ID
	}
	if e.Actor.Email != "" {
		return "email:" + e.Actor.Email
	}
	return ""
}

// Receipt is the ingest answer for one event (DESIGN §3).
type Receipt struct {
	Index      int    `json:"index"`
	Tenant     string `json:"tenant"`
	ID         string `json:"id"`
	Seq        int64  `json:"seq"`
	ReceivedAt Time   `json:"received_at"`
	LeafHash   string `json:"leaf_hash,omitempty"`
}

// NewEventID returns a new ULID, the id the server gives an event that has none.
func NewEventID() string { return ulid.Make().String() }
