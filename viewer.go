package hashtrail

import (
	"context"
	"encoding/json"
	"strings"
)

// ViewerTokenPrefix starts every viewer token (DESIGN §3).
const ViewerTokenPrefix = "htv_"

// ViewerTokenRequest asks for a viewer token: a signed, short-lived,
// read-only credential for embedding a tenant's log in an application's own
// UI, limited to the events Filter matches.
type ViewerTokenRequest struct {
	Tenant string `json:"-"`
	// Filter is a search (DESIGN §4) every read with the token is AND-ed
	// with; "" is the whole tenant.
	Filter string `json:"filter"`
	// HiddenFields are removed from every answer and cannot be searched;
	// nil means DefaultHiddenFields, an empty list hides nothing.
	HiddenFields []string `json:"hidden_fields"`
	// AllowedOrigins get CORS headers for requests with the token.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// ExpiresIn is a Go duration ("15m"); "" is DefaultViewerTTL.
	ExpiresIn string `json:"expires_in,omitempty"`
}

// ViewerToken is a minted token, shown once.
type ViewerToken struct {
	Token     string `json:"token"`
	TokenID   string `json:"token_id"`
	ExpiresAt Time   `json:"expires_at"`
}

// DefaultHiddenFields are hidden from a viewer token's answers unless the
// request names its own list.
var DefaultHiddenFields = []string{"context.ip", "context.user_agent"}

// HideableFields are the fields a viewer token can hide, besides any
// "metadata.<member>" path.
var HideableFields = []string{
	"actor.email", "actor.name", "actor.auth", "actor.impersonator",
	"context.ip", "context.user_agent", "context.session_id", "context.location",
	"description", "changes", "metadata", "output", "reason", "error",
}

// ViewerScope is what a viewer token limits its reads to.
type ViewerScope struct {
	TokenID string
	Filter  string   // search syntax, AND-ed with every read
	Hidden  []string // fields removed from answers
	Origins []string // allowed CORS origins
}

// ViewerTokenService mints and revokes viewer tokens.
type ViewerTokenService interface {
	CreateViewerToken(ctx context.Context, req *ViewerTokenRequest) (*ViewerToken, error)
	RevokeViewerToken(ctx context.Context, tenant, id string) error
}

// Hides reports whether path is hidden by s, or by a hidden parent
// ("metadata" hides "metadata.password").
func (s *ViewerScope) Hides(path string) bool {
	if s == nil {
		return false
	}
	for _, h := range s.Hidden {
		if h == path || strings.HasPrefix(path, h+".") {
			return true
		}
	}
	return false
}

// HideFields removes the fields s hides from e, which must be a copy the
// caller owns, and every personal-data salt (a commitment and its salt
// would let anyone confirm a guessed hidden value, such as an IP address).
func (s *ViewerScope) HideFields(e *Event) {
	if s == nil {
		return
	}
	for role, c := range e.PII {
		c.Salt = nil
		e.PII[role] = c
	}
	for _, h := range s.Hidden {
		switch h {
		case "actor.email", "actor.name", "actor.auth", "actor.impersonator":
			if e.Actor != nil {
				a := *e.Actor
				switch h {
				case "actor.email":
					a.Email = ""
				case "actor.name":
					a.Name = ""
				case "actor.auth":
					a.Auth = nil
				case "actor.impersonator":
					a.Impersonator = nil
				}
				e.Actor = &a
			}
		case "context.ip", "context.user_agent", "context.session_id", "context.location":
			if e.Context != nil {
				c := *e.Context
				switch h {
				case "context.ip":
					c.IP = ""
				case "context.user_agent":
					c.UserAgent = ""
				case "context.session_id":
					c.SessionID = ""
				case "context.location":
					c.Location = nil
				}
				e.Context = &c
			}
		case "description":
			e.Description = ""
		case "changes":
			e.Changes = nil
		case "metadata":
			e.Metadata = nil
		case "output":
			e.Output = nil
		case "reason":
			e.Reason = ""
		case "error":
			e.Error = ""
		default:
			if member, ok := strings.CutPrefix(h, "metadata."); ok {
				e.Metadata = dropMetaMember(e.Metadata, member)
			}
		}
	}
}

// dropMetaMember removes the member at a dotted path from a metadata
// object; md is returned unchanged when it has no such member.
func dropMetaMember(md json.RawMessage, path string) json.RawMessage {
	if len(md) == 0 {
		return md
	}
	var m map[string]any
	if json.Unmarshal(md, &m) != nil {
		return md
	}
	parts := strings.Split(path, ".")
	cur := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return md
		}
		cur = next
	}
	if _, ok := cur[parts[len(parts)-1]]; !ok {
		return md
	}
	delete(cur, parts[len(parts)-1])
	out, err := json.Marshal(m)
	if err != nil {
		return md
	}
	return out
}

// ValidHideable reports whether a viewer token can hide path.
func ValidHideable(path string) bool {
	if member, ok := strings.CutPrefix(path, "metadata."); ok {
		return member != "" && !strings.HasPrefix(member, ".") && !strings.HasSuffix(member, ".") && !strings.Contains(member, "..")
	}
	return oneOf(path, HideableFields)
}
