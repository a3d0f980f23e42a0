package export

import (
	"encoding/json"
	"io"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// ECSVersion is the Elastic Common Schema version ECS documents declare.
const ECSVersion = "8.11.0"

// ECS writes one Elastic Common Schema 8.x document per line. Fields ECS
// has no place for are kept under "hashtrail". See docs/exports.md.
type ECS struct {
	enc *json.Encoder
	opt Options
}

// NewECS returns an ECS encoder writing to w.
func NewECS(w io.Writer, opt Options) *ECS {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &ECS{enc: enc, opt: opt}
}

// Begin writes nothing.
func (c *ECS) Begin() error { return nil }

// Flush does nothing: every event is written as it is encoded.
func (c *ECS) Flush() error { return nil }

// End writes nothing.
func (c *ECS) End() error { return nil }

type ecsDoc struct {
	Timestamp string        `json:"@timestamp"`
	ECS       ecsVersion    `json:"ecs"`
	Message   string        `json:"message,omitempty"`
	Event     ecsEvent      `json:"event"`
	User      *ecsUser      `json:"user,omitempty"`
	Source    *ecsSource    `json:"source,omitempty"`
	UserAgent *ecsUserAgent `json:"user_agent,omitempty"`
	URL       *ecsURL       `json:"url,omitempty"`
	HTTP      *ecsHTTP      `json:"http,omitempty"`
	Service   *ecsService   `json:"service,omitempty"`
	Related   *ecsRelated   `json:"related,omitempty"`
	Tags      []string      `json:"tags,omitempty"`
	Error     *ecsError     `json:"error,omitempty"`
	Hashtrail ecsHashtrail  `json:"hashtrail"`
}

type ecsVersion struct {
	Version string `json:"version"`
}

type ecsEvent struct {
	ID       string   `json:"id"`
	Action   string   `json:"action"`
	Kind     string   `json:"kind"`
	Category []string `json:"category"`
	Type     []string `json:"type"`
	Outcome  string   `json:"outcome"`
	Severity int      `json:"severity"`
	Created  string   `json:"created"`
	Ingested string   `json:"ingested"`
	Dataset  string   `json:"dataset"`
	Module   string   `json:"module"`
	Provider string   `json:"provider,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

type ecsUser struct {
	ID     string      `json:"id,omitempty"`
	Name   string      `json:"name,omitempty"`
	Email  string      `json:"email,omitempty"`
	Roles  []string    `json:"roles,omitempty"`
	Target *ecsUserRef `json:"target,omitempty"`
}

type ecsUserRef struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type ecsSource struct {
	IP  string  `json:"ip,omitempty"`
	Geo *ecsGeo `json:"geo,omitempty"`
}

type ecsGeo struct {
	CountryISOCode string `json:"country_iso_code,omitempty"`
	RegionName     string `json:"region_name,omitempty"`
	CityName       string `json:"city_name,omitempty"`
}

type ecsUserAgent struct {
	Original string `json:"original"`
}

type ecsURL struct {
	Path string `json:"path"`
}

type ecsHTTP struct {
	Request ecsRequest `json:"request"`
}

type ecsRequest struct {
	ID     string `json:"id,omitempty"`
	Method string `json:"method,omitempty"`
}

type ecsService struct {
	Name        string `json:"name,omitempty"`
	Version     string `json:"version,omitempty"`
	Environment string `json:"environment,omitempty"`
	Node        *struct {
		Name string `json:"name"`
	} `json:"node,omitempty"`
}

type ecsRelated struct {
	User []string `json:"user,omitempty"`
	IP   []string `json:"ip,omitempty"`
}

type ecsError struct {
	Message string `json:"message"`
}

type ecsHashtrail struct {
	Tenant    string             `json:"tenant"`
	Seq       int64              `json:"seq"`
	LeafHash  string             `json:"leaf_hash,omitempty"`
	Category  hashtrail.Category `json:"category"`
	Severity  hashtrail.Severity `json:"severity"`
	Actor     *hashtrail.Actor   `json:"actor,omitempty"`
	Targets   []hashtrail.Target `json:"targets,omitempty"`
	Changes   []hashtrail.Change `json:"changes,omitempty"`
	Metadata  json.RawMessage    `json:"metadata,omitempty"`
	Output    *hashtrail.Output  `json:"output,omitempty"`
	SessionID string             `json:"session_id,omitempty"`
	TraceID   string             `json:"trace_id,omitempty"`
	Source    string             `json:"source,omitempty"`
	PII       any                `json:"pii,omitempty"`
}

// ecsCategories maps a category to ECS event.category values.
var ecsCategories = map[hashtrail.Category][]string{
	hashtrail.CategoryAuthentication: {"authentication"},
	hashtrail.CategoryAuthorization:  {"iam"},
	hashtrail.CategoryAccount:        {"iam"},
	hashtrail.CategoryAccess:         {"iam"},
	hashtrail.CategoryConfiguration:  {"configuration"},
	hashtrail.CategoryData:           {"database"},
	hashtrail.CategoryResource:       {"api"},
	hashtrail.CategorySystem:         {"host"},
	hashtrail.CategorySecurity:       {"iam"},
}

// ecsType is the ECS event.type of an event, from its action's verb.
func ecsType(e *hashtrail.Event) []string {
	v := verb(e.Action)
	switch {
	case v == "login" || v == "login_failed" || v == "use":
		return []string{"start"}
	case v == "logout":
		return []string{"end"}
	case v == "deny":
		return []string{"denied"}
	case v == "grant" || strings.HasSuffix(v, "_grant"):
		return []string{"allowed", "change"}
	case v == "create" || v == "add" || strings.HasSuffix(v, "_add") || v == "request":
		return []string{"creation"}
	case v == "delete" || v == "remove" || v == "revoke" || strings.HasSuffix(v, "_remove") || strings.HasSuffix(v, "_revoke") || v == "purge" || v == "subject_erased" || v == "retention_purge":
		return []string{"deletion"}
	case v == "read" || v == "export":
		return []string{"access"}
	case v == "update" || strings.HasSuffix(v, "_change") || v == "assign" || v == "unassign" || strings.HasSuffix(v, "_enable") || strings.HasSuffix(v, "_disable") || strings.HasSuffix(v, "_reset") || v == "deploy":
		return []string{"change"}
	case v == "run":
		return []string{"start"}
	}
	return []string{"info"}
}

// Encode writes e's document.
func (c *ECS) Encode(e *hashtrail.Event) error {
	d := ecsDoc{
		Timestamp: e.Time.String(),
		ECS:       ecsVersion{ECSVersion},
		Message:   describe(e),
		Event: ecsEvent{
			ID: e.ID, Action: e.Action, Kind: "event",
			Category: ecsCategories[e.Category], Type: ecsType(e),
			Outcome: string(e.Outcome), Severity: severityRank(e.Severity),
			Created: e.ReceivedAt.String(), Ingested: e.ReceivedAt.String(),
			Dataset: "hashtrail.audit", Module: "hashtrail", Reason: e.Reason,
		},
		Tags: e.Tags,
		Hashtrail: ecsHashtrail{
			Tenant: e.Tenant, Seq: e.Seq, LeafHash: e.LeafHash, Category: e.Category, Severity: e.Severity,
			Actor: e.Actor, Targets: e.Targets, Changes: e.Changes, Metadata: e.Metadata, Output: e.Output,
		},
	}
	if d.Event.Category == nil {
		d.Event.Category = []string{"api"}
	}
	if len(e.PII) > 0 {
		d.Hashtrail.PII = e.PII
	}
	var rel ecsRelated
	if a := e.Actor; a != nil {
		d.User = &ecsUser{ID: a.ID, Name: a.Name, Email: a.Email, Roles: a.Roles}
		for _, s := range []string{a.ID, a.Name, a.Email} {
			if s != "" {
				rel.User = append(rel.User, s)
			}
		}
	}
	for _, t := range e.Targets {
		if t.Type != "user" {
			continue
		}
		if d.User == nil {
			d.User = &ecsUser{}
		}
		if d.User.Target == nil {
			d.User.Target = &ecsUserRef{ID: t.ID, Name: t.Name}
		}
		rel.User = append(rel.User, t.ID)
		if t.Name != "" {
			rel.User = append(rel.User, t.Name)
		}
	}
	if x := e.Context; x != nil {
		if x.IP != "" || x.Location != nil {
			d.Source = &ecsSource{IP: x.IP}
			if l := x.Location; l != nil {
				d.Source.Geo = &ecsGeo{CountryISOCode: l.Country, RegionName: l.Region, CityName: l.City}
			}
		}
		if x.IP != "" {
			rel.IP = append(rel.IP, x.IP)
		}
		if x.UserAgent != "" {
			d.UserAgent = &ecsUserAgent{x.UserAgent}
		}
		if x.Path != "" {
			d.URL = &ecsURL{x.Path}
		}
		if x.Method != "" || x.RequestID != "" {
			d.HTTP = &ecsHTTP{ecsRequest{ID: x.RequestID, Method: x.Method}}
		}
		d.Hashtrail.SessionID, d.Hashtrail.TraceID, d.Hashtrail.Source = x.SessionID, x.TraceID, x.Source
	}
	if rel.User != nil || rel.IP != nil {
		d.Related = &rel
	}
	if s := e.Service; s != nil {
		d.Service = &ecsService{Name: s.Name, Version: s.Version, Environment: s.Environment}
		if s.Host != "" {
			d.Service.Node = &struct {
				Name string `json:"name"`
			}{s.Host}
		}
		d.Event.Provider = s.Name
	}
	if e.Error != "" {
		d.Error = &ecsError{e.Error}
	}
	return c.enc.Encode(&d)
}
