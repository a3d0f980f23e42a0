package hashtrail

import (
	"context"
	"strconv"

	"github.com/hashtrail/hashtrail/merkle"
)

// InstallationEntry is one entry of the installation log (DESIGN §2,
// Witnesses): a tenant checkpoint, its signed note exactly as published.
// The entry's leaf is Note itself, so its leaf hash is merkle.LeafHash(Note).
type InstallationEntry struct {
	Tenant string `json:"tenant"`
	Size   int64  `json:"size"`
	Note   []byte `json:"note"`
}

// InstallationLogStore keeps the installation log: one Merkle log, per
// installation, whose entries are the tenants' signed checkpoints, with its
// own signed checkpoints and the witnesses' cosignatures of them. Its tree
// follows the same stored-hash layout as a tenant's (see LogStore). Every
// method is safe for concurrent use.
type InstallationLogStore interface {
	// AppendInstallation appends entries to the installation log, whose
	// size must be from (ECONFLICT otherwise), writing the entries and their
	// tree hashes in one transaction. An entry whose tenant and size are in
	// the log already is ECONFLICT too.
	AppendInstallation(ctx context.Context, from int64, entries []*InstallationEntry) error
	// InstallationSize returns the number of entries of the installation log.
	InstallationSize(ctx context.Context) (int64, error)
	// InstallationIndex returns the index of the latest entry of tenant
	// below index end, and the entry; ENOTFOUND when there is none.
	InstallationIndex(ctx context.Context, tenant string, end int64) (int64, *InstallationEntry, error)
	// HasInstallationEntry reports whether the checkpoint of tenant at size
	// is an entry of the installation log.
	HasInstallationEntry(ctx context.Context, tenant string, size int64) (bool, error)
	// ReadInstallationHashes is ReadHashes for the installation log.
	ReadInstallationHashes(ctx context.Context, indexes []int64) ([]merkle.Hash, error)
	// AddInstallationCheckpoint keeps a checkpoint of the installation log
	// (its Tenant is ""), like AddCheckpoint.
	AddInstallationCheckpoint(ctx context.Context, cp *SignedCheckpoint) error
	// LatestInstallationCheckpoint returns the largest installation
	// checkpoint, or with cosigned the largest that has at least one
	// cosignature; ENOTFOUND if there is none.
	LatestInstallationCheckpoint(ctx context.Context, cosigned bool) (*SignedCheckpoint, error)
	// AddCosignature keeps a witness's cosignature of the installation
	// checkpoint of size: line is its signature line ("— <name>
	// <base64>\n"). A newer line of the same key (name and key hash)
	// replaces the older one. ENOTFOUND if there is no such checkpoint.
	AddCosignature(ctx context.Context, size int64, line string) error
	// Cosignatures returns the cosignature lines kept for the installation
	// checkpoint of size, in key order (empty when none).
	Cosignatures(ctx context.Context, size int64) ([]string, error)
}

// WitnessedCheckpoint is what proves that a tenant checkpoint is in the
// installation log at a checkpoint the witnesses cosigned.
type WitnessedCheckpoint struct {
	// Checkpoint is the tenant checkpoint's signed note (the entry).
	Checkpoint []byte
	// Index is its position in the installation log.
	Index int64
	// Installation is the installation checkpoint, signed by the log key,
	// with every witness cosignature kept for it.
	Installation []byte
	// Proof proves the entry at Index in the tree of Installation.
	Proof InclusionProof
}

// Witness is one witness of the installation log, reached over C2SP
// tlog-witness (an adapter implements it; the ledger drives it).
type Witness interface {
	// Name returns the witness's key name, for logs and metrics.
	Name() string
	// AddCheckpoint submits a signed checkpoint of the installation log with
	// the size of the witness's previous one and a consistency proof from
	// it, and returns the witness's cosignature lines. A witness that knows
	// another previous size answers a *WitnessConflictError.
	AddCheckpoint(ctx context.Context, oldSize int64, proof []merkle.Hash, note []byte) ([]byte, error)
}

// WitnessConflictError is a witness's answer to a checkpoint whose previous
// size is not the one it knows (C2SP tlog-witness 409 Conflict).
type WitnessConflictError struct {
	Witness string
	Known   int64
}

func (e *WitnessConflictError) Error() string {
	return "witness " + e.Witness + " knows another size of the log: " + strconv.FormatInt(e.Known, 10)
}
