package hashtrail

import (
	"context"
	"time"
)

// LeaseStore coordinates background work among the nodes that share one
// store (DESIGN §5): checkpoint signing, the installation log, witnessing,
// sink delivery, purges and partition upkeep each run under a lease per job
// and tenant, so exactly one node does each at a time, and another takes
// over once the holder stops renewing (it died, or lost the database).
//
// A lease is named by its job and scope, such as "checkpoint/acme" or
// "installation-log"; holders name themselves uniquely per process. Leases
// are kept in the store, so they hold across every node; with one node
// (the embedded store) they always succeed for it. The store's clock
// decides expiry, so nodes' clocks need not agree.
type LeaseStore interface {
	// AcquireLease takes the lease name for holder until ttl from now, or
	// renews it if holder holds it already, and reports whether holder now
	// holds it: false, with a nil error, while another holder's lease has
	// not expired. ttl must be positive (EINVALID otherwise).
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up if holder holds it, so another node
	// may take it at once; it is a no-op otherwise.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Lease names, each "<job>" or "<job>/<scope>".
const (
	// LeaseCheckpoint + tenant is held by the node that signs the tenant's
	// checkpoints.
	LeaseCheckpoint = "checkpoint/"
	// LeaseInstallationLog is held by the node that appends tenant
	// checkpoints to the installation log and submits it to witnesses.
	LeaseInstallationLog = "installation-log"
	// LeaseUpkeep is held by the node that does store upkeep, such as
	// creating partitions ahead.
	LeaseUpkeep = "upkeep"
)

// Upkeeper is implemented by stores that need periodic upkeep, such as
// creating the partitions of the coming months ahead. The engine calls
// Upkeep now and then on one node at a time (under LeaseUpkeep); it must be
// idempotent and safe to run from several nodes at once all the same.
type Upkeeper interface {
	Upkeep(ctx context.Context) error
}
