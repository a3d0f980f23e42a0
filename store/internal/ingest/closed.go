package ingest

import (
	"slices"

	"github.com/hashtrail/hashtrail"
)

// Open fails every group that names a tenant in closed (one being deleted,
// or deleted: hashtrail.TenantEraser) with ENOTFOUND, and returns the
// other groups, to be sequenced. A closed tenant is never created again.
func Open(groups []*hashtrail.AppendGroup, closed map[string]bool) []*hashtrail.AppendGroup {
	if len(closed) == 0 {
		return groups
	}
	open := make([]*hashtrail.AppendGroup, 0, len(groups))
	for _, g := range groups {
		g.Err = nil
		for _, e := range g.Entries {
			if closed[e.Event.Tenant] {
				g.Err = hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q was deleted", e.Event.Tenant)
				break
			}
		}
		if g.Err == nil {
			open = append(open, g)
		}
	}
	return open
}

// StoredBytes is what one event adds to its tenant's storage
// (hashtrail.Tenant.StorageBytes), measured alike by every store: the
// stored body, each personal-value row's values, salt and commitment, and
// each target and tag index row's key.
func StoredBytes(e *hashtrail.Event, body []byte, pii []PIIRow) int64 {
	n := int64(len(body))
	for _, r := range pii {
		n += int64(len(r.Values) + len(r.Salt) + len(r.Commitment))
	}
	for _, k := range TargetKeys(e) {
		n += int64(len(k))
	}
	for i, t := range e.Tags {
		if !slices.Contains(e.Tags[:i], t) {
			n += int64(len(t))
		}
	}
	return n
}
