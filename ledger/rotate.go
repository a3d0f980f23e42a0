package ledger

import (
	"context"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// DefaultRotationGrace is how long a rotated key keeps working unless the
// request says otherwise; MaxRotationGrace the longest it may.
const (
	DefaultRotationGrace = 24 * time.Hour
	MaxRotationGrace     = 30 * 24 * time.Hour
)

// RotateKey makes a new key with the old one's tenant, role, name and
// expiry, and revokes the old key grace from now (0: DefaultRotationGrace),
// so clients can switch with overlap. Revoking the old key later still
// takes effect at once. Recorded as api_key.create and api_key.rotate.
func (l *Ledger) RotateKey(ctx context.Context, tenant, id string, grace time.Duration) (*hashtrail.NewKey, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.keyAuthz(p, tenant); err != nil {
		return nil, err
	}
	if grace == 0 {
		grace = DefaultRotationGrace
	}
	if grace < 0 || grace > MaxRotationGrace {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "grace", Message: "must be a duration from 1s to 720h"}})
	}
	k, err := l.store.Key(ctx, id)
	if err != nil {
		return nil, err
	}
	if k.Tenant != tenant {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "key %q not found", id)
	}
	now := hashtrail.NewTime(l.now())
	if !k.Active(now) {
		return nil, hashtrail.Errorf(hashtrail.ECONFLICT, "key %q is revoked or expired: create a new key instead", id)
	}
	nk, err := l.CreateKey(ctx, &hashtrail.KeyRequest{Tenant: k.Tenant, Role: k.Role, Name: k.Name, ExpiresAt: k.ExpiresAt, Scope: k.Scope})
	if err != nil {
		return nil, err
	}
	if err := l.store.RevokeKey(ctx, id, hashtrail.NewTime(now.Add(grace))); err != nil {
		return nil, err
	}
	l.keys.forget(id)
	if err := l.audit(ctx, auditTenant(tenant), "api_key.rotate", hashtrail.Target{Type: "api_key", ID: k.ID, Name: k.Name}); err != nil {
		return nil, err
	}
	return nk, nil
}
