package ledger

// Viewer tokens (DESIGN §3): signed, short-lived, read-only credentials for
// embedding a tenant's log in an application's own UI.
//
// Format: "htv_" + base64url(claims JSON) + "." + base64url(HMAC-SHA256(
// secret, "htv_" + base64url(claims JSON))). The claims carry the token id,
// tenant, filter, hidden fields, allowed origins and expiry, so any node
// verifies a token without a lookup. The secret is 32 random bytes kept in
// the store's settings (InitSetting: the first node to need it creates it,
// every node reads the same one). A revocation is a tenant configuration
// document (kind viewer_token_revocations) listing revoked token ids until
// they expire; each node reads it at most once per KeyCacheTTL, which bounds
// how long a revoked token keeps working on another node.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
)

const (
	// settingViewerSecret holds the hex HMAC key of viewer tokens.
	settingViewerSecret = "viewer_token_secret"
	// SettingViewerMaxTTL is the longest expires_in an admin may ask for (a
	// Go duration; default DefaultViewerMaxTTL).
	SettingViewerMaxTTL = "viewer_token_max_ttl"
	// configViewerRevocations is the tenant document of revoked token ids.
	configViewerRevocations = "viewer_token_revocations"

	// DefaultViewerTTL is a viewer token's lifetime unless asked otherwise.
	DefaultViewerTTL = 15 * time.Minute
	// DefaultViewerMaxTTL is the longest lifetime unless the installation
	// setting says otherwise.
	DefaultViewerMaxTTL = 24 * time.Hour
	maxViewerOrigins    = 20
	maxViewerHidden     = 50
)

// viewerClaims are the signed contents of a token.
type viewerClaims struct {
	V       int      `json:"v"`
	ID      string   `json:"id"`
	Tenant  string   `json:"t"`
	Filter  string   `json:"f,omitempty"`
	Hidden  []string `json:"h,omitempty"`
	Origins []string `json:"o,omitempty"`
	Expires int64    `json:"exp"` // Unix seconds
}

type revocations struct {
	ids     map[string]int64 // token id -> its expiry, Unix seconds
	fetched time.Time
}

type viewerCache struct {
	mu      sync.Mutex
	secret  []byte
	revoked map[string]revocations // by tenant
}

func (l *Ledger) viewerSecret(ctx context.Context) ([]byte, error) {
	l.viewers.mu.Lock()
	s := l.viewers.secret
	l.viewers.mu.Unlock()
	if s != nil {
		return s, nil
	}
	v, err := l.store.InitSetting(ctx, settingViewerSecret, hex.EncodeToString(randomKey()))
	if err != nil {
		return nil, err
	}
	s, err = hex.DecodeString(v)
	if err != nil || len(s) < 32 {
		return nil, fmt.Errorf("ledger: the stored viewer-token secret is malformed")
	}
	l.viewers.mu.Lock()
	l.viewers.secret = s
	l.viewers.mu.Unlock()
	return s, nil
}

func randomKey() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func signViewer(secret []byte, signed string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CreateViewerToken mints a viewer token for req.Tenant; an admin act,
// recorded as viewer_token.create in the tenant's log.
func (l *Ledger) CreateViewerToken(ctx context.Context, req *hashtrail.ViewerTokenRequest) (*hashtrail.ViewerToken, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if req.Tenant == "" || req.Tenant == hashtrail.AllTenants {
		return nil, hashtrail.Errorf(hashtrail.EINVALID, "a viewer token belongs to one tenant")
	}
	if err := l.authorize(p, req.Tenant, hashtrail.PermManage); err != nil {
		return nil, err
	}
	if _, err := l.store.Tenant(ctx, req.Tenant); err != nil {
		return nil, err
	}
	var fields []hashtrail.FieldError
	if req.Filter != "" {
		if _, err := query.ParseField("filter", req.Filter); err != nil {
			fields = append(fields, hashtrail.FieldError{Field: "filter", Message: err.Error()})
		}
	}
	hidden := req.HiddenFields
	if hidden == nil {
		hidden = hashtrail.DefaultHiddenFields
	}
	if len(hidden) > maxViewerHidden {
		fields = append(fields, hashtrail.FieldError{Field: "hidden_fields", Message: fmt.Sprintf("has %d fields; the limit is %d", len(hidden), maxViewerHidden)})
	}
	for i, h := range hidden {
		if !hashtrail.ValidHideable(h) {
			fields = append(fields, hashtrail.FieldError{Field: fmt.Sprintf("hidden_fields[%d]", i),
				Message: "cannot be hidden: use one of " + strings.Join(hashtrail.HideableFields, ", ") + ", or metadata.<member>"})
		}
	}
	if len(req.AllowedOrigins) > maxViewerOrigins {
		fields = append(fields, hashtrail.FieldError{Field: "allowed_origins", Message: fmt.Sprintf("has %d origins; the limit is %d", len(req.AllowedOrigins), maxViewerOrigins)})
	}
	for i, o := range req.AllowedOrigins {
		if !validOrigin(o) {
			fields = append(fields, hashtrail.FieldError{Field: fmt.Sprintf("allowed_origins[%d]", i),
				Message: "must be an origin such as https://app.example.com (scheme, host and optional port, nothing else)"})
		}
	}
	ttl := DefaultViewerTTL
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			fields = append(fields, hashtrail.FieldError{Field: "expires_in", Message: "must be a positive duration such as 15m or 1h"})
		} else {
			ttl = d
		}
	}
	maxTTL := l.viewerMaxTTL(ctx)
	if ttl > maxTTL {
		fields = append(fields, hashtrail.FieldError{Field: "expires_in", Message: fmt.Sprintf("is longer than this installation allows (%s)", maxTTL)})
	}
	if len(fields) > 0 {
		return nil, &hashtrail.Error{Code: hashtrail.EINVALID, Message: "the viewer token request is invalid", Fields: fields}
	}
	secret, err := l.viewerSecret(ctx)
	if err != nil {
		return nil, err
	}
	exp := l.now().Add(ttl).Truncate(time.Second)
	c := viewerClaims{V: 1, ID: "vt_" + strings.TrimPrefix(hashtrail.NewKeyID(), "key_"), Tenant: req.Tenant,
		Filter: req.Filter, Hidden: hidden, Origins: req.AllowedOrigins, Expires: exp.Unix()}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	signed := hashtrail.ViewerTokenPrefix + base64.RawURLEncoding.EncodeToString(body)
	tok := &hashtrail.ViewerToken{Token: signed + "." + signViewer(secret, signed), TokenID: c.ID, ExpiresAt: hashtrail.NewTime(exp)}
	if err := l.audit(ctx, req.Tenant, "viewer_token.create", hashtrail.Target{Type: "viewer_token", ID: c.ID}); err != nil {
		return nil, err
	}
	return tok, nil
}

func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil && o == u.Scheme+"://"+u.Host
}

func (l *Ledger) viewerMaxTTL(ctx context.Context) time.Duration {
	if l.cfg.ViewerMaxTTL > 0 {
		return l.cfg.ViewerMaxTTL
	}
	v, err := l.store.Setting(ctx, SettingViewerMaxTTL)
	if err != nil {
		return DefaultViewerMaxTTL
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return DefaultViewerMaxTTL
	}
	return d
}

// RevokeViewerToken revokes a viewer token of tenant by id; an admin act,
// recorded as viewer_token.revoke. Revoking an unknown or expired id is
// not an error (tokens are not stored, so the server cannot tell).
func (l *Ledger) RevokeViewerToken(ctx context.Context, tenant, id string) error {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorize(p, tenant, hashtrail.PermManage); err != nil {
		return err
	}
	if !strings.HasPrefix(id, "vt_") || len(id) > 64 {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "viewer token %q not found", id)
	}
	now := l.now()
	// The token's expiry is unknown here; keep the id for the longest a
	// token can live.
	until := now.Add(l.viewerMaxTTL(ctx)).Unix()
	for attempt := 0; ; attempt++ {
		ids := map[string]int64{}
		var version int64
		c, err := l.store.TenantConfig(ctx, tenant, configViewerRevocations)
		switch {
		case err == nil:
			version = c.Version
			if err := json.Unmarshal(c.Value, &ids); err != nil {
				return err
			}
		case hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND:
			return err
		}
		for k, exp := range ids {
			if exp < now.Unix() {
				delete(ids, k)
			}
		}
		ids[id] = until
		value, _ := json.Marshal(ids)
		err = l.store.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: tenant, Kind: configViewerRevocations,
			Version: version, Value: value, UpdatedBy: keyID(p)})
		if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT && attempt < 5 {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	l.viewers.mu.Lock()
	delete(l.viewers.revoked, tenant)
	l.viewers.mu.Unlock()
	return l.audit(ctx, tenant, "viewer_token.revoke", hashtrail.Target{Type: "viewer_token", ID: id})
}

// authenticateViewer checks a viewer token's signature, expiry and
// revocation. Every failure is the same EUNAUTHORIZED answer.
func (l *Ledger) authenticateViewer(ctx context.Context, token string) (*hashtrail.Principal, error) {
	denied := hashtrail.Errorf(hashtrail.EUNAUTHORIZED, "invalid, expired or revoked viewer token")
	signed, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 8192 {
		return nil, denied
	}
	secret, err := l.viewerSecret(ctx)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal([]byte(sig), []byte(signViewer(secret, signed))) {
		return nil, denied
	}
	body, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(signed, hashtrail.ViewerTokenPrefix))
	if err != nil {
		return nil, denied
	}
	var c viewerClaims
	if json.Unmarshal(body, &c) != nil || c.V != 1 || c.ID == "" || c.Tenant == "" {
		return nil, denied
	}
	now := l.now()
	if now.Unix() >= c.Expires {
		return nil, denied
	}
	revoked, err := l.viewerRevoked(ctx, c.Tenant, c.ID, now)
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, denied
	}
	return &hashtrail.Principal{KeyID: c.ID, Tenant: c.Tenant, Role: hashtrail.RoleRead,
		Viewer: &hashtrail.ViewerScope{TokenID: c.ID, Filter: c.Filter, Hidden: c.Hidden, Origins: c.Origins}}, nil
}

func (l *Ledger) viewerRevoked(ctx context.Context, tenant, id string, now time.Time) (bool, error) {
	l.viewers.mu.Lock()
	r, ok := l.viewers.revoked[tenant]
	l.viewers.mu.Unlock()
	if !ok || now.Sub(r.fetched) > l.cfg.KeyCacheTTL || now.Before(r.fetched) {
		r = revocations{ids: map[string]int64{}, fetched: now}
		c, err := l.store.TenantConfig(ctx, tenant, configViewerRevocations)
		switch {
		case err == nil:
			if err := json.Unmarshal(c.Value, &r.ids); err != nil {
				return false, err
			}
		case hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND:
			return false, err
		}
		l.viewers.mu.Lock()
		if l.viewers.revoked == nil || len(l.viewers.revoked) > 10000 {
			l.viewers.revoked = map[string]revocations{}
		}
		l.viewers.revoked[tenant] = r
		l.viewers.mu.Unlock()
	}
	_, gone := r.ids[id]
	return gone, nil
}

// scopeQuery narrows q to what p may read: for a viewer token, it refuses
// searches on hidden fields (they would let the caller infer them) and ANDs
// the token's filter into q. Other principals' queries are unchanged.
func scopeQuery(p *hashtrail.Principal, q *hashtrail.Query) error {
	if p != nil && p.Scope != nil && p.Scope.Filter != "" {
		s, err := query.ParseField("filter", p.Scope.Filter)
		if err != nil {
			return err
		}
		s.Apply(q)
	}
	if p == nil || p.Viewer == nil {
		return nil
	}
	v := p.Viewer
	for _, t := range q.AllTerms() {
		if f := hiddenTermField(v, t); f != "" {
			return &hashtrail.Error{Code: hashtrail.EINVALID, Message: "this viewer token cannot search hidden fields",
				Fields: []hashtrail.FieldError{{Field: "q", Message: fmt.Sprintf("searches %s, which this token hides", f)}}}
		}
	}
	if v.Filter == "" {
		return nil
	}
	s, err := query.ParseField("filter", v.Filter)
	if err != nil {
		return err
	}
	s.Apply(q)
	return nil
}

// hiddenTermField returns the hidden field a term would reveal, or "".
func hiddenTermField(v *hashtrail.ViewerScope, t hashtrail.Term) string {
	switch t.Field {
	case hashtrail.TermIP:
		if v.Hides("context.ip") {
			return "context.ip"
		}
	case hashtrail.TermCountry:
		if v.Hides("context.location") {
			return "context.location"
		}
	case hashtrail.TermActor:
		if v.Hides("actor.email") {
			for _, val := range t.Values {
				if strings.Contains(val, "@") {
					return "actor.email"
				}
			}
		}
	case hashtrail.TermMeta:
		if v.Hides("metadata." + t.Key) {
			return "metadata." + t.Key
		}
	case hashtrail.TermText:
		for _, f := range []string{"description", "actor.name", "actor.email", "metadata"} {
			if v.Hides(f) {
				return f
			}
		}
		for _, h := range v.Hidden {
			if strings.HasPrefix(h, "metadata.") {
				return h
			}
		}
	}
	return ""
}

// viewerEvent returns e as p may see it: for a viewer token, ENOTFOUND
// outside its filter and a copy without its hidden fields.
func viewerEvent(p *hashtrail.Principal, e *hashtrail.Event) (*hashtrail.Event, error) {
	if p != nil && p.Scope != nil && p.Scope.Filter != "" {
		s, err := query.ParseField("filter", p.Scope.Filter)
		if err != nil {
			return nil, err
		}
		q := &hashtrail.Query{Tenant: e.Tenant}
		s.Apply(q)
		if !q.Match(e) {
			return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "event %q not found", e.ID)
		}
	}
	if p == nil || p.Viewer == nil {
		return e, nil
	}
	if p.Viewer.Filter != "" {
		s, err := query.ParseField("filter", p.Viewer.Filter)
		if err != nil {
			return nil, err
		}
		q := &hashtrail.Query{Tenant: e.Tenant}
		s.Apply(q)
		if !q.Match(e) {
			return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "event %q not found", e.ID)
		}
	}
	c := *e
	if e.PII != nil {
		c.PII = make(map[string]hashtrail.PIICommitment, len(e.PII))
		for k, v := range e.PII {
			c.PII[k] = v
		}
	}
	p.Viewer.HideFields(&c)
	return &c, nil
}

// viewerEvents applies viewerEvent to a page of events already filtered by
// the store (with scopeQuery), hiding fields.
func viewerEvents(p *hashtrail.Principal, events []*hashtrail.Event) []*hashtrail.Event {
	if p == nil || p.Viewer == nil {
		return events
	}
	out := make([]*hashtrail.Event, 0, len(events))
	for _, e := range events {
		if v, err := viewerEvent(p, e); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// checkKeyScope validates a key's scope.
func checkKeyScope(s *hashtrail.KeyScope, fields []hashtrail.FieldError) []hashtrail.FieldError {
	if s == nil {
		return fields
	}
	if len(s.Actions) > 64 {
		fields = append(fields, hashtrail.FieldError{Field: "scope.actions", Message: "has more than 64 patterns"})
	}
	for i, a := range s.Actions {
		if a == "" || len(a) > 256 || strings.Contains(strings.TrimSuffix(a, "*"), "*") {
			fields = append(fields, hashtrail.FieldError{Field: fmt.Sprintf("scope.actions[%d]", i), Message: "must be an action or a prefix ending in * (user.*)"})
		}
	}
	if s.Filter != "" {
		if _, err := query.ParseField("scope.filter", s.Filter); err != nil {
			fields = append(fields, hashtrail.FieldError{Field: "scope.filter", Message: err.Error()})
		}
	}
	if rl := s.RateLimit; rl != nil {
		if rl.Rate < 0 || math.IsNaN(rl.Rate) || math.IsInf(rl.Rate, 0) {
			fields = append(fields, hashtrail.FieldError{Field: "scope.rate_limit.rate", Message: "must be a number of requests a second, 0 for no limit"})
		}
		if rl.Burst < 0 || rl.Burst > 1_000_000 {
			fields = append(fields, hashtrail.FieldError{Field: "scope.rate_limit.burst", Message: "must be between 1 and 1000000, or 0 for twice the rate"})
		}
	}
	return fields
}
