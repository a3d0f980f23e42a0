package ledger

// The storage quota (issue #6, point 8): the most bytes a tenant may store
// (hashtrail.Tenant.StorageBytes, kept by the store), set by installation
// admins in the tenant's "quota" document beside events_per_day. A write
// to a tenant at or past it fails with EQUOTA (403): unlike the
// events-a-day quota it does not reset by itself, so clients must not
// retry (429 and 5xx, 507 included, are retried by the SDKs); an operator
// raises the quota, or retention frees space. Each node reads the stored
// bytes at most once per KeyCacheTTL, so a tenant may pass its quota by
// what all nodes accept in that time (and by the write that crosses it).

import (
	"context"
	"fmt"

	hashtrail "github.com/hashtrail/hashtrail"
)

// checkStorage refuses a write to tenant once its stored bytes reached
// its storage quota.
func (l *Ledger) checkStorage(tenant string, q *tenantQuota) error {
	if q.storageLimit <= 0 || q.stored < q.storageLimit {
		return nil
	}
	l.metrics.rateLimited.WithLabelValues("storage_quota").Inc()
	return hashtrail.Errorf(hashtrail.EQUOTA,
		"tenant %q stores %s, reaching its storage quota of %s: writes are refused until an installation admin raises the quota or retention frees space",
		tenant, FormatBytes(q.stored), FormatBytes(q.storageLimit))
}

// SetTenantStorageQuota sets a tenant's storage quota in bytes (0: none);
// installation-wide admin keys only, recorded as tenant.quota.
func (l *Ledger) SetTenantStorageQuota(ctx context.Context, id string, bytes int64) (*hashtrail.Tenant, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorizeInstallation(p, hashtrail.PermManage); err != nil {
		return nil, err
	}
	if bytes < 0 {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "storage_bytes_limit", Message: "must be 0 (no quota) or more"}})
	}
	if t, err := l.store.Tenant(ctx, id); err != nil {
		return nil, err
	} else if t.State != "" {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
	}
	if err := l.editQuota(ctx, id, keyID(p), func(q *quotaDoc) { q.StorageBytes = bytes }); err != nil {
		return nil, err
	}
	if err := l.audit(ctx, hashtrail.SystemTenant, "tenant.quota", hashtrail.Target{Type: "tenant", ID: id}); err != nil {
		return nil, err
	}
	return l.Tenant(ctx, id)
}

// FormatBytes writes n in binary units: "512 B", "1.5 KiB", "10 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + " " + string("KMGTPE"[exp]) + "iB"
}
