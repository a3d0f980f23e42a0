package hashtrail

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Role is what an API key may do.
type Role string

// The roles of DESIGN §1.
const (
	RoleIngest Role = "ingest" // write events only
	RoleRead   Role = "read"   // read events
	RoleAdmin  Role = "admin"  // everything, including managing keys and tenants
)

// Roles lists every role.
var Roles = []Role{RoleIngest, RoleRead, RoleAdmin}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return oneOf(r, Roles) }

// Permission is a kind of act that a role may or may not do.
type Permission int

// The permissions roles grant.
const (
	PermWrite  Permission = iota // append events
	PermRead                     // read events, proofs and stats
	PermManage                   // keys, tenants, policies
	// PermReadLog reads the log as a whole: checkpoints, proofs by
	// position, tiles, receipts and exports, whose answers reach past any
	// filter. The read role grants it; viewer tokens and keys with a read
	// filter never hold it.
	PermReadLog
)

// Allows reports whether r grants p: ingest writes; read reads; admin does all.
func (r Role) Allows(p Permission) bool {
	switch r {
	case RoleAdmin:
		return true
	case RoleRead:
		return p == PermRead || p == PermReadLog
	case RoleIngest:
		return p == PermWrite
	}
	return false
}

// AllTenants is the tenant of an installation-wide key.
const AllTenants = "*"

// KeyPrefix starts every generated API key.
const KeyPrefix = "htk_"

// APIKey is a stored API key. Only the hash of its secret is kept.
type APIKey struct {
	ID         string `json:"id"`
	Tenant     string `json:"tenant"` // a tenant id, or AllTenants
	Role       Role   `json:"role"`
	Name       string `json:"name,omitempty"`
	Hint       string `json:"hint"` // the secret's first characters, to recognise it
	Hash       []byte `json:"-"`
	CreatedAt  Time   `json:"created_at"`
	CreatedBy  string `json:"created_by,omitempty"` // key id, or "cli"/"bootstrap"
	ExpiresAt  Time   `json:"expires_at,omitzero"`
	RevokedAt  Time   `json:"revoked_at,omitzero"`
	LastUsedAt Time   `json:"last_used_at,omitzero"`
	// Scope narrows what the key may do within its role; nil for none.
	Scope *KeyScope `json:"scope,omitempty"`
}

// KeyScope narrows a key: Actions are the action patterns it may write
// ("user.*" a prefix, else exact; empty: any), Filter a search (DESIGN §4)
// every read with the key is AND-ed with ("": everything), RateLimit the
// key's own token bucket in place of the server's limit for its role.
type KeyScope struct {
	Actions   []string      `json:"actions,omitempty"`
	Filter    string        `json:"filter,omitempty"`
	RateLimit *KeyRateLimit `json:"rate_limit,omitempty"`
}

// KeyRateLimit is one key's token bucket: Rate requests a second on average
// (0: no limit for this key), bursts of up to Burst (0: twice the rate).
type KeyRateLimit struct {
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst,omitempty"`
}

// AllowsAction reports whether the scope lets a key write action.
func (s *KeyScope) AllowsAction(action string) bool {
	if s == nil || len(s.Actions) == 0 {
		return true
	}
	for _, p := range s.Actions {
		if p == action || strings.HasSuffix(p, "*") && strings.HasPrefix(action, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

// Installation reports whether the key is installation-wide.
func (k *APIKey) Installation() bool { return k.Tenant == AllTenants }

// Active reports whether the key is neither revoked nor expired at now.
func (k *APIKey) Active(now Time) bool {
	if !k.RevokedAt.IsZero() && !now.Before(k.RevokedAt.Time) {
		return false
	}
	return k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt.Time)
}

// NewKeySecret returns a new API key secret: "htk_" and the base64url form of
// 32 random bytes.
func NewKeySecret() string {
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

// NewKeyID returns a short random identifier for a key or token.
func NewKeyID() string {
	return "key_" + strings.ToLower(base64.RawURLEncoding.EncodeToString(randomBytes(9)))
}

// KeyHint returns the part of a secret safe to show: its first 8 characters
// after the prefix.
func KeyHint(secret string) string {
	s := strings.TrimPrefix(secret, KeyPrefix)
	if len(s) > 8 {
		s = s[:8]
	}
	return KeyPrefix + s + "…"
}

// HashKey returns the stored hash of a key secret: SHA-256, which suffices for
// secrets with 256 bits of entropy (and bootstrap keys of 32 or more characters).
func HashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand documents a panic-free read on supported platforms)
	return b
}

// Principal is an authenticated caller.
type Principal struct {
	KeyID  string
	Tenant string // a tenant id, or AllTenants
	Role   Role
	// Viewer is set for a viewer token (always RoleRead): every read is
	// limited to its filter and its hidden fields are removed.
	Viewer *ViewerScope
	// Scope is the key's narrower scope, if any.
	Scope *KeyScope
}

// Sees reports whether the principal may see tenant at all.
func (p *Principal) Sees(tenant string) bool {
	return p != nil && (p.Tenant == AllTenants || p.Tenant == tenant)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// EncodeKeyScope returns the stored form of a scope: JSON, or nil (NULL)
// for none.
func EncodeKeyScope(s *KeyScope) (any, error) {
	if s == nil || len(s.Actions) == 0 && s.Filter == "" && s.RateLimit == nil {
		return nil, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// DecodeKeyScope reads a stored scope; "" is none.
func DecodeKeyScope(s string) (*KeyScope, error) {
	if s == "" {
		return nil, nil
	}
	var ks KeyScope
	if err := json.Unmarshal([]byte(s), &ks); err != nil {
		return nil, err
	}
	return &ks, nil
}
