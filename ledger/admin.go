package ledger

import (
	"context"
	"fmt"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Settings the ledger keeps in the store.
const settingBootstrapKey = "bootstrap_key_id"

// Bootstrap prepares a new installation: it creates the reserved system
// tenant and, the first time only, an installation-wide admin key (with
// secret as its secret if non-empty). It returns the new key, or nil when
// the installation was bootstrapped before, so the secret is shown once.
func (l *Ledger) Bootstrap(ctx context.Context, secret string) (*hashtrail.NewKey, error) {
	if err := l.store.CreateTenant(ctx, &hashtrail.Tenant{ID: hashtrail.SystemTenant, Name: "Hashtrail installation log", CreatedAt: l.clock()}); err != nil && hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		return nil, err
	}
	if _, err := l.store.Setting(ctx, settingBootstrapKey); err == nil {
		return nil, nil
	} else if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return nil, err
	}
	k, err := l.CreateKey(ctx, &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleAdmin, Name: "bootstrap admin", Secret: secret})
	if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT && secret != "" {
		// Another node sharing the store, started at the same moment with
		// the same HASHTRAIL_BOOTSTRAP_KEY, bootstrapped first.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := l.store.InitSetting(ctx, settingBootstrapKey, k.ID); err != nil {
		return nil, err
	}
	return k, nil
}

// CreateTenant creates a tenant (installation-wide admin keys only).
func (l *Ledger) CreateTenant(ctx context.Context, t *hashtrail.Tenant) (*hashtrail.Tenant, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorizeInstallation(p, hashtrail.PermManage); err != nil {
		return nil, err
	}
	if !hashtrail.ValidTenantID(t.ID) {
		return nil, &hashtrail.Error{Code: hashtrail.EINVALID, Message: "invalid tenant id",
			Fields: []hashtrail.FieldError{{Field: "id", Message: "must match [a-z0-9][a-z0-9._-]{0,62}"}}}
	}
	if t.ID == hashtrail.SystemTenant {
		return nil, hashtrail.Errorf(hashtrail.ECONFLICT, "the tenant %q is reserved", t.ID)
	}
	nt := &hashtrail.Tenant{ID: t.ID, Name: t.Name, CreatedAt: l.clock()}
	if err := l.store.CreateTenant(ctx, nt); err != nil {
		return nil, err
	}
	l.sig.mark(nt.ID) // its empty log gets a checkpoint of size 0
	return nt, l.audit(ctx, hashtrail.SystemTenant, "tenant.create", hashtrail.Target{Type: "tenant", ID: nt.ID, Name: nt.Name})
}

// Tenant returns one tenant the caller can see.
func (l *Ledger) Tenant(ctx context.Context, id string) (*hashtrail.Tenant, error) {
	if err := l.authorize(hashtrail.PrincipalFrom(ctx), id, hashtrail.PermRead); err != nil {
		return nil, err
	}
	t, err := l.store.Tenant(ctx, id)
	if err != nil {
		return nil, err
	}
	return t, l.withLifecycle(ctx, t)
}

// Tenants lists the tenants the caller can see: every tenant for an
// installation-wide key, its own for a tenant key.
func (l *Ledger) Tenants(ctx context.Context) ([]*hashtrail.Tenant, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorize(p, "", hashtrail.PermRead); err != nil {
		return nil, err
	}
	if p != nil && p.Tenant != hashtrail.AllTenants {
		t, err := l.store.Tenant(ctx, p.Tenant)
		if err != nil {
			return nil, err
		}
		return []*hashtrail.Tenant{t}, l.withLifecycle(ctx, t)
	}
	ts, err := l.store.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if err := l.withLifecycle(ctx, t); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// UpdateTenant renames a tenant (installation-wide admin keys only).
func (l *Ledger) UpdateTenant(ctx context.Context, t *hashtrail.Tenant) (*hashtrail.Tenant, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorizeInstallation(p, hashtrail.PermManage); err != nil {
		return nil, err
	}
	if err := l.store.UpdateTenant(ctx, t); err != nil {
		return nil, err
	}
	if err := l.audit(ctx, hashtrail.SystemTenant, "tenant.update", hashtrail.Target{Type: "tenant", ID: t.ID, Name: t.Name}); err != nil {
		return nil, err
	}
	return l.store.Tenant(ctx, t.ID)
}

// DeleteTenant deletes a tenant whose log is empty (installation-wide admin
// keys only); DeleteTenantLog deletes one with events.
func (l *Ledger) DeleteTenant(ctx context.Context, id string) error {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorizeInstallation(p, hashtrail.PermManage); err != nil {
		return err
	}
	if id == hashtrail.SystemTenant {
		return hashtrail.Errorf(hashtrail.ECONFLICT, "the tenant %q is reserved", id)
	}
	if err := l.store.DeleteTenant(ctx, id); err != nil {
		if t, terr := l.store.Tenant(ctx, id); hashtrail.ErrorCode(err) == hashtrail.ECONFLICT && terr == nil && t.Size > 0 {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q has %d events: suspend it, take a final export, then confirm with DELETE /v1/tenants/%s?events=delete&size=%d (or: hashtrail tenants delete %s --final-export FILE)", id, t.Size, id, t.Size, id)
		}
		return err
	}
	l.forgetTenant(id)
	return l.audit(ctx, hashtrail.SystemTenant, "tenant.delete", hashtrail.Target{Type: "tenant", ID: id})
}

// CreateKey creates an API key and returns its secret, once. Tenant keys are
// made by admins of that tenant or of the installation; installation-wide
// keys only by installation-wide admins.
func (l *Ledger) CreateKey(ctx context.Context, req *hashtrail.KeyRequest) (*hashtrail.NewKey, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if req.Tenant == hashtrail.AllTenants {
		if err := l.authorizeInstallation(p, hashtrail.PermManage); err != nil {
			return nil, err
		}
	} else {
		if err := l.authorize(p, req.Tenant, hashtrail.PermManage); err != nil {
			return nil, err
		}
		if _, err := l.store.Tenant(ctx, req.Tenant); err != nil {
			return nil, err
		}
	}
	var fields []hashtrail.FieldError
	if !req.Role.Valid() {
		fields = append(fields, hashtrail.FieldError{Field: "role", Message: "must be one of ingest, read, admin"})
	}
	if req.Secret != "" && len(req.Secret) < 32 {
		fields = append(fields, hashtrail.FieldError{Field: "secret", Message: "a chosen key must be at least 32 characters"})
	}
	if len(req.Name) > 256 {
		fields = append(fields, hashtrail.FieldError{Field: "name", Message: "is longer than 256 bytes"})
	}
	now := l.clock()
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now.Time) {
		fields = append(fields, hashtrail.FieldError{Field: "expires_in", Message: "must lie in the future"})
	}
	fields = checkKeyScope(req.Scope, fields)
	if len(fields) > 0 {
		return nil, hashtrail.InvalidFields(fields)
	}
	secret := req.Secret
	if secret == "" {
		secret = hashtrail.NewKeySecret()
	}
	k := hashtrail.APIKey{
		ID: hashtrail.NewKeyID(), Tenant: req.Tenant, Role: req.Role, Name: req.Name,
		Hint: hashtrail.KeyHint(secret), Hash: hashtrail.HashKey(secret),
		CreatedAt: now, CreatedBy: keyID(p), ExpiresAt: req.ExpiresAt, Scope: req.Scope,
	}
	if err := l.store.CreateKey(ctx, &k); err != nil {
		return nil, err
	}
	if err := l.audit(ctx, auditTenant(req.Tenant), "api_key.create", hashtrail.Target{Type: "api_key", ID: k.ID, Name: fmt.Sprintf("%s (%s)", k.Name, k.Role)}); err != nil {
		return nil, err
	}
	return &hashtrail.NewKey{APIKey: k, Secret: secret}, nil
}

// Keys lists a tenant's keys (AllTenants for installation-wide ones).
func (l *Ledger) Keys(ctx context.Context, tenant string) ([]*hashtrail.APIKey, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.keyAuthz(p, tenant); err != nil {
		return nil, err
	}
	return l.store.Keys(ctx, tenant)
}

// RevokeKey revokes a key of a tenant (AllTenants for installation-wide
// ones). It takes effect at once on this node and within KeyCacheTTL on others.
func (l *Ledger) RevokeKey(ctx context.Context, tenant, id string) error {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.keyAuthz(p, tenant); err != nil {
		return err
	}
	k, err := l.store.Key(ctx, id)
	if err != nil {
		return err
	}
	if k.Tenant != tenant {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "key %q not found", id)
	}
	if err := l.store.RevokeKey(ctx, id, l.clock()); err != nil {
		return err
	}
	l.keys.forget(id)
	return l.audit(ctx, auditTenant(tenant), "api_key.revoke", hashtrail.Target{Type: "api_key", ID: k.ID, Name: k.Name})
}

func (l *Ledger) keyAuthz(p *hashtrail.Principal, tenant string) error {
	if tenant == hashtrail.AllTenants {
		return l.authorizeInstallation(p, hashtrail.PermManage)
	}
	return l.authorize(p, tenant, hashtrail.PermManage)
}

func auditTenant(tenant string) string {
	if tenant == hashtrail.AllTenants {
		return hashtrail.SystemTenant
	}
	return tenant
}

// audit records an administrative act in a tenant's own log (category
// system, actor = the key that did it), so the log shows who changed the
// rules. It bypasses authorization: Hashtrail itself writes it.
func (l *Ledger) audit(ctx context.Context, tenant, action string, target hashtrail.Target) error {
	p := hashtrail.PrincipalFrom(ctx)
	actor := &hashtrail.Actor{Type: hashtrail.ActorAPIKey, ID: keyID(p)}
	if p == nil {
		actor = &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "local-cli"}
	}
	ev := &hashtrail.Event{
		ID: hashtrail.NewEventID(), Tenant: tenant, Action: action,
		Category: hashtrail.CategorySystem, Actor: actor, Targets: []hashtrail.Target{target},
		Context: &hashtrail.Context{Source: "hashtrail"}, KeyID: keyID(p),
	}
	g := &hashtrail.AppendGroup{CreateTenants: true, Entries: []*hashtrail.Entry{{Event: ev, ContentHash: hashtrail.HashKey(ev.ID)}}}
	if err := l.append(ctx, g); err != nil {
		l.log.Error("recording an administrative act failed", "action", action, "tenant", tenant, "err", err)
		return err
	}
	return nil
}
