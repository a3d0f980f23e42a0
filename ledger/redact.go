package ledger

// Redaction at ingest (issue #6, point 9): each tenant's redaction rules
// (hashtrail.RedactionRules, the tenant document "redaction"; without one,
// hashtrail.DefaultRedactor) are applied to every event before its leaf is
// computed, so the stored and proven event never holds the secret.

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

type cachedRedactor struct {
	r       *hashtrail.Redactor
	fetched time.Time
}

type redactorCache struct {
	mu sync.Mutex
	m  map[string]cachedRedactor
}

func (l *Ledger) redactors() *redactorCache { return &l.redactions }

// redactorFor returns tenant's compiled rules, read from the store at most
// once per KeyCacheTTL (so a change applies on every node within it).
func (l *Ledger) redactorFor(ctx context.Context, tenant string) (*hashtrail.Redactor, error) {
	c := l.redactors()
	now := l.now()
	c.mu.Lock()
	e, ok := c.m[tenant]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) <= l.cfg.KeyCacheTTL && !now.Before(e.fetched) {
		return e.r, nil
	}
	r := hashtrail.DefaultRedactor
	doc, err := l.store.TenantConfig(ctx, tenant, hashtrail.ConfigRedaction)
	switch {
	case err == nil:
		var rules hashtrail.RedactionRules
		if err := json.Unmarshal(doc.Value, &rules); err != nil {
			return nil, err
		}
		if r, err = rules.Compile(); err != nil {
			return nil, err
		}
	case hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND:
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cachedRedactor{}
	}
	c.m[tenant] = cachedRedactor{r, now}
	c.mu.Unlock()
	return r, nil
}

// redactEvents applies each entry's tenant's rules to it, before the leaf.
func (l *Ledger) redactEvents(ctx context.Context, g *hashtrail.AppendGroup) error {
	var (
		last string
		r    *hashtrail.Redactor
	)
	for _, e := range g.Entries {
		if e.Event.Tenant != last || r == nil {
			var err error
			if r, err = l.redactorFor(ctx, e.Event.Tenant); err != nil {
				return err
			}
			last = e.Event.Tenant
		}
		if paths := r.Redact(e.Event); len(paths) > 0 {
			l.metrics.redacted.Add(float64(len(paths)))
		}
	}
	return nil
}

// RedactionRules returns tenant's redaction rules and the document's
// version (0 when the tenant has none: the defaults apply).
func (l *Ledger) RedactionRules(ctx context.Context, tenant string) (*hashtrail.RedactionRules, int64, error) {
	if err := l.authorize(hashtrail.PrincipalFrom(ctx), tenant, hashtrail.PermManage); err != nil {
		return nil, 0, err
	}
	if _, err := l.store.Tenant(ctx, tenant); err != nil {
		return nil, 0, err
	}
	doc, err := l.store.TenantConfig(ctx, tenant, hashtrail.ConfigRedaction)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return &hashtrail.RedactionRules{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var rules hashtrail.RedactionRules
	if err := json.Unmarshal(doc.Value, &rules); err != nil {
		return nil, 0, err
	}
	return &rules, doc.Version, nil
}

// SetRedactionRules replaces tenant's rules, provided the stored version is
// version (0 for none yet; ECONFLICT otherwise); an admin act, recorded as
// redaction.update.
func (l *Ledger) SetRedactionRules(ctx context.Context, tenant string, rules *hashtrail.RedactionRules, version int64) (int64, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorize(p, tenant, hashtrail.PermManage); err != nil {
		return 0, err
	}
	if _, err := rules.Compile(); err != nil {
		return 0, err
	}
	value, err := json.Marshal(rules)
	if err != nil {
		return 0, err
	}
	doc := &hashtrail.TenantConfig{Tenant: tenant, Kind: hashtrail.ConfigRedaction, Version: version, Value: value, UpdatedBy: keyID(p)}
	if err := l.store.PutTenantConfig(ctx, doc); err != nil {
		return 0, err
	}
	c := l.redactors()
	c.mu.Lock()
	delete(c.m, tenant)
	c.mu.Unlock()
	return doc.Version, l.audit(ctx, tenant, "redaction.update", hashtrail.Target{Type: "tenant", ID: tenant})
}
