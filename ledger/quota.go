package ledger

// Per-tenant quotas (issue #6, point 8): events a UTC day. The tenant
// document "quota" holds the limit (installation admins set it with PATCH
// /v1/tenants/{t}); the document "usage" holds the tenant's log size when
// the day began, written once a day by the first node that ingests for the
// tenant that day (compare-and-set, so every node agrees). Events today =
// the log size now - that start, self-audit events included. Ingest past
// the quota answers ERATELIMIT (429) with Retry-After until the next UTC
// midnight: the quota resets, so clients should retry later rather than
// give up. The log size is read at most once per KeyCacheTTL per node, so
// a burst may pass the quota by what all nodes accept in that time.

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

const (
	configQuota = "quota"
	configUsage = "usage"
)

type quotaDoc struct {
	EventsPerDay int64 `json:"events_per_day"`
	// StorageBytes is the storage quota (0: none); see storagequota.go.
	StorageBytes int64 `json:"storage_bytes,omitempty"`
}

type usageDoc struct {
	Day      string `json:"day"` // 2006-01-02, UTC
	StartSeq int64  `json:"start_seq"`
}

type tenantQuota struct {
	limit   int64
	day     string
	start   int64
	size    int64
	fetched time.Time

	storageLimit int64 // the storage quota in bytes (0: none)
	stored       int64 // Tenant.StorageBytes when fetched
}

type quotaCache struct {
	mu sync.Mutex
	m  map[string]*tenantQuota
}

func (l *Ledger) quotaLimit(ctx context.Context, tenant string) (int64, error) {
	q, err := l.readQuota(ctx, tenant)
	return q.EventsPerDay, err
}

// readQuota returns tenant's quota document (zero when it has none).
func (l *Ledger) readQuota(ctx context.Context, tenant string) (quotaDoc, error) {
	var q quotaDoc
	doc, err := l.store.TenantConfig(ctx, tenant, configQuota)
	switch {
	case err == nil:
		err = json.Unmarshal(doc.Value, &q)
	case hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND:
		err = nil
	}
	return q, err
}

// editQuota changes tenant's quota document with edit (compare-and-set,
// retried on a concurrent change) and drops this node's cached quota.
func (l *Ledger) editQuota(ctx context.Context, tenant, by string, edit func(*quotaDoc)) error {
	for attempt := 0; ; attempt++ {
		var q quotaDoc
		var version int64
		doc, err := l.store.TenantConfig(ctx, tenant, configQuota)
		switch {
		case err == nil:
			version = doc.Version
			if err := json.Unmarshal(doc.Value, &q); err != nil {
				return err
			}
		case hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND:
			return err
		}
		edit(&q)
		value, _ := json.Marshal(q)
		err = l.store.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: tenant, Kind: configQuota, Version: version, Value: value, UpdatedBy: by})
		if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT && attempt < 5 {
			continue
		}
		if err != nil {
			return err
		}
		l.quotas.mu.Lock()
		delete(l.quotas.m, tenant)
		l.quotas.mu.Unlock()
		return nil
	}
}

// dayStart returns the tenant's log size when day began, recording size
// as that start if no node has yet.
func (l *Ledger) dayStart(ctx context.Context, tenant, day string, size int64) (int64, error) {
	for attempt := 0; ; attempt++ {
		var u usageDoc
		var version int64
		doc, err := l.store.TenantConfig(ctx, tenant, configUsage)
		switch {
		case err == nil:
			version = doc.Version
			if err := json.Unmarshal(doc.Value, &u); err != nil {
				return 0, err
			}
			if u.Day == day {
				return u.StartSeq, nil
			}
		case hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND:
			return 0, err
		}
		value, _ := json.Marshal(usageDoc{Day: day, StartSeq: size})
		err = l.store.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: tenant, Kind: configUsage, Version: version, Value: value, UpdatedBy: "quota"})
		if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT && attempt < 5 {
			continue
		}
		return size, err
	}
}

// usage returns tenant's quota state, refreshed at most once per
// KeyCacheTTL.
func (l *Ledger) usage(ctx context.Context, tenant string) (*tenantQuota, error) {
	now := l.now().UTC()
	day := now.Format(time.DateOnly)
	c := &l.quotas
	c.mu.Lock()
	q := c.m[tenant]
	c.mu.Unlock()
	if q != nil && q.day == day && now.Sub(q.fetched) <= l.cfg.KeyCacheTTL && !now.Before(q.fetched) {
		return q, nil
	}
	doc, err := l.readQuota(ctx, tenant)
	if err != nil {
		return nil, err
	}
	limit := doc.EventsPerDay
	nq := &tenantQuota{limit: limit, day: day, fetched: now, storageLimit: doc.StorageBytes}
	if limit > 0 || doc.StorageBytes > 0 {
		t, err := l.store.Tenant(ctx, tenant)
		if err != nil {
			return nil, err
		}
		nq.size, nq.stored = t.Size, t.StorageBytes
		if limit <= 0 {
			// no events-a-day quota: no day start to keep
		} else if q != nil && q.day == day {
			nq.start = q.start
		} else if nq.start, err = l.dayStart(ctx, tenant, day, t.Size); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]*tenantQuota{}
	}
	c.m[tenant] = nq
	c.mu.Unlock()
	return nq, nil
}

// checkQuotas refuses a group that would take a tenant past its quota.
func (l *Ledger) checkQuotas(ctx context.Context, g *hashtrail.AppendGroup) error {
	counts := map[string]int64{}
	for _, e := range g.Entries {
		counts[e.Event.Tenant]++
	}
	for tenant, n := range counts {
		q, err := l.usage(ctx, tenant)
		if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			continue // a tenant created by this write
		}
		if err != nil {
			return err
		}
		if err := l.checkStorage(tenant, q); err != nil {
			return err
		}
		if q.limit <= 0 {
			continue
		}
		used := q.size - q.start
		l.metrics.quotaLimit.WithLabelValues(tenant).Set(float64(q.limit))
		l.metrics.quotaToday.WithLabelValues(tenant).Set(float64(used))
		if used+n > q.limit {
			l.metrics.rateLimited.WithLabelValues("quota").Inc()
			now := l.now().UTC()
			midnight := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
			return &rateLimitError{hashtrail.Errorf(hashtrail.ERATELIMIT,
				"tenant %q reached its quota of %d events a day (UTC); it resets at midnight UTC", tenant, q.limit), midnight.Sub(now)}
		}
		l.quotas.mu.Lock()
		q.size += n // until the next refresh, count what this node accepts
		l.quotas.mu.Unlock()
	}
	return nil
}

// withUsage fills t's quota and today's usage.
func (l *Ledger) withUsage(ctx context.Context, t *hashtrail.Tenant) error {
	q, err := l.readQuota(ctx, t.ID)
	if err != nil {
		return err
	}
	t.EventsPerDay, t.StorageBytesLimit = q.EventsPerDay, q.StorageBytes
	doc, err := l.store.TenantConfig(ctx, t.ID, configUsage)
	if err == nil {
		var u usageDoc
		if json.Unmarshal(doc.Value, &u) == nil && u.Day == l.now().UTC().Format(time.DateOnly) {
			t.EventsToday = t.Size - u.StartSeq
		}
	} else if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return err
	}
	return nil
}

// SetTenantQuota sets a tenant's events-a-day quota (0: none);
// installation-wide admin keys only, recorded as tenant.quota.
func (l *Ledger) SetTenantQuota(ctx context.Context, id string, eventsPerDay int64) (*hashtrail.Tenant, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorizeInstallation(p, hashtrail.PermManage); err != nil {
		return nil, err
	}
	if eventsPerDay < 0 {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "events_per_day", Message: "must be 0 (no quota) or more"}})
	}
	if _, err := l.store.Tenant(ctx, id); err != nil {
		return nil, err
	}
	if err := l.editQuota(ctx, id, keyID(p), func(q *quotaDoc) { q.EventsPerDay = eventsPerDay }); err != nil {
		return nil, err
	}
	if err := l.audit(ctx, hashtrail.SystemTenant, "tenant.quota", hashtrail.Target{Type: "tenant", ID: id}); err != nil {
		return nil, err
	}
	return l.Tenant(ctx, id)
}
