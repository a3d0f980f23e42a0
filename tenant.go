package hashtrail

import (
	"context"
	"regexp"
)

const tenantIDPattern = "[a-z0-9][a-z0-9._-]{0,62}"

var tenantRE = regexp.MustCompile("^" + tenantIDPattern + "$")

// SystemTenant is reserved for the installation's own audit log.
const SystemTenant = "hashtrail"

// Tenant is the isolation unit: its own log, keys and policies.
type Tenant struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	CreatedAt Time   `json:"created_at"`
	// Size is the number of events in the tenant's log (the next seq).
	Size int64 `json:"size"`
	// Suspended tenants refuse writes (403) and still answer reads;
	// SuspendedReason says why. Kept in the tenant document "lifecycle".
	Suspended       bool   `json:"suspended,omitempty"`
	SuspendedReason string `json:"suspended_reason,omitempty"`
	// EventsPerDay is the tenant's quota of events a UTC day (0: none);
	// EventsToday how many its log gained today.
	EventsPerDay int64 `json:"events_per_day,omitempty"`
	EventsToday  int64 `json:"events_today,omitempty"`
	// State is "" for an active tenant, TenantDeleting while its deletion
	// runs.
	State string `json:"state,omitempty"`
	// StorageBytes is what the tenant stores: the bytes of its event
	// bodies, personal values (with salts and commitments) and target and
	// tag index rows, as the store encodes them; not tree hashes, the
	// full-text index or the database's own overhead. StorageBytesLimit is
	// its storage quota (0: none).
	StorageBytes      int64 `json:"storage_bytes"`
	StorageBytesLimit int64 `json:"storage_bytes_limit,omitempty"`
}

// ConfigLifecycle is the tenant document of its suspension.
const ConfigLifecycle = "lifecycle"

// TenantLifecycleService suspends and resumes tenants.
type TenantLifecycleService interface {
	// SuspendTenant suspends (suspended true, with a reason) or resumes a
	// tenant; installation-wide admin keys only.
	SuspendTenant(ctx context.Context, id string, suspended bool, reason string) (*Tenant, error)
	// SetTenantQuota sets a tenant's events-a-day quota (0: none);
	// installation-wide admin keys only.
	SetTenantQuota(ctx context.Context, id string, eventsPerDay int64) (*Tenant, error)
}

// ValidTenantID reports whether id matches [a-z0-9][a-z0-9._-]{0,62}.
func ValidTenantID(id string) bool { return tenantRE.MatchString(id) }
