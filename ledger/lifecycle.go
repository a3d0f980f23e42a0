package ledger

// Tenant suspension (issue #6, point 8): a suspended tenant refuses writes
// with 403 and a message saying so, and still answers reads, exports and
// proofs. The state is the tenant document "lifecycle", read by each node
// at most once per KeyCacheTTL.

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

type lifecycle struct {
	Suspended bool   `json:"suspended"`
	Reason    string `json:"reason,omitempty"`
}

type cachedLifecycle struct {
	lc      lifecycle
	fetched time.Time
}

type lifecycleCache struct {
	mu sync.Mutex
	m  map[string]cachedLifecycle
}

func (l *Ledger) lifecycleOf(ctx context.Context, tenant string) (lifecycle, error) {
	now := l.now()
	c := &l.lifecycles
	c.mu.Lock()
	e, ok := c.m[tenant]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) <= l.cfg.KeyCacheTTL && !now.Before(e.fetched) {
		return e.lc, nil
	}
	var lc lifecycle
	doc, err := l.store.TenantConfig(ctx, tenant, hashtrail.ConfigLifecycle)
	switch {
	case err == nil:
		if err := json.Unmarshal(doc.Value, &lc); err != nil {
			return lc, err
		}
	case hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND:
		return lc, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cachedLifecycle{}
	}
	c.m[tenant] = cachedLifecycle{lc, now}
	c.mu.Unlock()
	return lc, nil
}

// notSuspended refuses a write to a suspended tenant.
func (l *Ledger) notSuspended(ctx context.Context, tenant string) error {
	lc, err := l.lifecycleOf(ctx, tenant)
	if err != nil {
		return err
	}
	if lc.Suspended {
		msg := "tenant %q is suspended: writes are refused, reads still work"
		if lc.Reason != "" {
			return hashtrail.Errorf(hashtrail.EFORBIDDEN, msg+" (%s)", tenant, lc.Reason)
		}
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, msg, tenant)
	}
	return nil
}

func (l *Ledger) withLifecycle(ctx context.Context, t *hashtrail.Tenant) error {
	lc, err := l.lifecycleOf(ctx, t.ID)
	if err != nil {
		return err
	}
	t.Suspended, t.SuspendedReason = lc.Suspended, lc.Reason
	return l.withUsage(ctx, t)
}

// SuspendTenant suspends or resumes a tenant (installation-wide admin keys
// only), recorded as tenant.suspend or tenant.resume in the tenant's log
// and the installation's.
func (l *Ledger) SuspendTenant(ctx context.Context, id string, suspended bool, reason string) (*hashtrail.Tenant, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorizeInstallation(p, hashtrail.PermManage); err != nil {
		return nil, err
	}
	if len(reason) > 500 {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "suspended_reason", Message: "must be at most 500 bytes"}})
	}
	if !suspended {
		reason = ""
	}
	if _, err := l.store.Tenant(ctx, id); err != nil {
		return nil, err
	}
	value, _ := json.Marshal(lifecycle{Suspended: suspended, Reason: reason})
	for attempt := 0; ; attempt++ {
		var version int64
		doc, err := l.store.TenantConfig(ctx, id, hashtrail.ConfigLifecycle)
		switch {
		case err == nil:
			version = doc.Version
		case hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND:
			return nil, err
		}
		err = l.store.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: id, Kind: hashtrail.ConfigLifecycle, Version: version, Value: value, UpdatedBy: keyID(p)})
		if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	l.lifecycles.mu.Lock()
	delete(l.lifecycles.m, id)
	l.lifecycles.mu.Unlock()
	action := "tenant.resume"
	if suspended {
		action = "tenant.suspend"
	}
	target := hashtrail.Target{Type: "tenant", ID: id}
	if err := l.audit(ctx, id, action, target); err != nil {
		return nil, err
	}
	if err := l.audit(ctx, hashtrail.SystemTenant, action, target); err != nil {
		return nil, err
	}
	return l.Tenant(ctx, id)
}
