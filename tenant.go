package hashtrail

import "regexp"

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
}

// ValidTenantID reports whether id matches [a-z0-9][a-z0-9._-]{0,62}.
func ValidTenantID(id string) bool { return tenantRE.MatchString(id) }
