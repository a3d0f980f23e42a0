package hashtrail

import "context"

// Tenant states (Tenant.State). An active tenant has none.
const (
	// TenantDeleting: deletion was confirmed and has begun; writes are
	// refused and the tenant's data is being deleted in bounded batches.
	// A crash leaves it in this state, and the engine finishes the work.
	TenantDeleting = "deleting"
	// TenantDeleted: everything of the tenant is deleted but what proves
	// its log (tree hashes, signed checkpoints, the installation log's
	// entries) and its id, which is never reused. Stores answer ENOTFOUND
	// for it, and omit it from Tenants.
	TenantDeleted = "deleted"
)

// EQUOTA is the code of a write refused because the tenant's stored bytes
// reached its storage quota. Unlike ERATELIMIT it does not clear by itself:
// an operator raises the quota, or retention frees space.
const EQUOTA = "quota_exceeded"

// TenantDeletion is the record of a tenant deletion: the log's final size
// and root hash (lowercase hex of the signed checkpoint of that size),
// recorded as tenant.delete in SystemTenant's log.
type TenantDeletion struct {
	Tenant   string `json:"tenant"`
	State    string `json:"state"`
	Size     int64  `json:"size"`
	RootHash string `json:"root_hash"`
}

// TenantDeleteService deletes tenants whose logs hold events, and sets
// storage quotas. Installation-wide admin keys only.
type TenantDeleteService interface {
	// DeleteTenantLog deletes a suspended tenant whose log holds exactly
	// size events (ECONFLICT naming the current size otherwise, so nothing
	// appended after the caller's final export is deleted unseen). An
	// active legal hold (ECONFLICT naming it) or a locked compliance
	// floor the newest event is still within (ECONFLICT naming the
	// earliest date) refuses. The deletion itself runs in the background
	// and survives restarts; the tenant shows State TenantDeleting until
	// it is done, then ENOTFOUND.
	DeleteTenantLog(ctx context.Context, id string, size int64) (*TenantDeletion, error)
	// SetTenantStorageQuota sets the most bytes a tenant may store (0:
	// none); writes past it fail with EQUOTA.
	SetTenantStorageQuota(ctx context.Context, id string, bytes int64) (*Tenant, error)
}

// TenantEraser is implemented by stores that delete a tenant with its
// events. Deletion is two steps, so it can be confirmed atomically and
// then done in bounded transactions that never stall other tenants'
// appends:
//
//   - BeginTenantDeletion(id, size) moves an active tenant whose log size
//     is size to TenantDeleting (ECONFLICT naming the size otherwise,
//     ENOTFOUND for an unknown or deleted tenant; a no-op when it is
//     already deleting at that size). From then on appends naming it fail
//     their group with ENOTFOUND, CreateTenant of its id fails with
//     ECONFLICT, and Tenants omits it; Tenant still returns it with its
//     State.
//   - DeleteTenantData(id, limit) deletes the rows of up to limit events
//     (bodies, personal values with their salts and subjects, targets,
//     tags, search-index entries, idempotency records, counts), and once
//     none are left the tenant's keys, configuration documents, sinks,
//     sink cursors and leases, and marks it TenantDeleted. It returns how
//     many events it deleted and whether the deletion is complete. It is
//     idempotent and resumable: a call after a crash goes on where the
//     last one stopped.
//
// What stays: the tenants row (id, creation time, final size), the tree
// hashes and the signed checkpoints, so that published receipts and the
// installation log still verify.
type TenantEraser interface {
	BeginTenantDeletion(ctx context.Context, id string, size int64) error
	DeleteTenantData(ctx context.Context, id string, limit int) (int64, bool, error)
	// DeletingTenants returns the ids of the tenants in TenantDeleting.
	DeletingTenants(ctx context.Context) ([]string, error)
}
