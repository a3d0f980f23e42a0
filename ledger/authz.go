package ledger

import (
	"context"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Authorize implements hashtrail.LogService: the checks every method makes
// first, asked on their own: tenant AllTenants for installation-level acts,
// "" for the role alone (routes whose answers the engine filters to what
// the credentials can see).
func (l *Ledger) Authorize(ctx context.Context, tenant string, perm hashtrail.Permission) error {
	p := hashtrail.PrincipalFrom(ctx)
	if tenant == hashtrail.AllTenants {
		return l.authorizeInstallation(p, perm)
	}
	return l.authorize(p, tenant, perm)
}

// authorize is the one place that decides whether a principal may act on a
// tenant ("" for an installation-level act). A nil principal is the local
// operator working on the data directory, who may do everything. A tenant
// the principal cannot see is reported as not found, never as forbidden, so
// keys cannot probe which tenants exist.
func (l *Ledger) authorize(p *hashtrail.Principal, tenant string, perm hashtrail.Permission) error {
	if p == nil {
		return nil
	}
	if tenant != "" && !p.Sees(tenant) {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", tenant)
	}
	if perm == hashtrail.PermReadLog {
		if err := notViewer(p); err != nil {
			return err
		}
	}
	if p.Viewer != nil && perm != hashtrail.PermRead {
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "a viewer token may only read events")
	}
	if !p.Role.Allows(perm) {
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "a key with role %q may not %s", p.Role, permText[perm])
	}
	return nil
}

// notViewer refuses viewer tokens: they read events within their filter,
// and the proofs of those events (EventProof scopes them), and nothing else
// (no raw proofs, tiles, checkpoints or exports, whose leaves and hashes
// would reach past the filter and the hidden fields).
func notViewer(p *hashtrail.Principal) error {
	if p != nil && p.Viewer != nil {
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "a viewer token may read events and their proofs only, not raw proofs, tiles, checkpoints or exports")
	}
	if p != nil && p.Scope != nil && p.Scope.Filter != "" {
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "a key with a read filter may read events only, not proofs, tiles, checkpoints or exports")
	}
	return nil
}

// authorizeInstallation requires an installation-wide key (or the local operator).
func (l *Ledger) authorizeInstallation(p *hashtrail.Principal, perm hashtrail.Permission) error {
	if p != nil && p.Tenant != hashtrail.AllTenants {
		if !p.Role.Allows(perm) {
			return hashtrail.Errorf(hashtrail.EFORBIDDEN, "a key with role %q may not %s", p.Role, permText[perm])
		}
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "this needs an installation-wide key")
	}
	return l.authorize(p, "", perm)
}

var permText = map[hashtrail.Permission]string{
	hashtrail.PermWrite:   "write events",
	hashtrail.PermRead:    "read events",
	hashtrail.PermReadLog: "read the log's checkpoints, proofs and exports",
	hashtrail.PermManage:  "manage keys, tenants or policies",
}
