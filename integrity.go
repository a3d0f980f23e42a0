package hashtrail

import (
	"context"
	"fmt"
	"time"

	"github.com/hashtrail/hashtrail/merkle"
)

// Sealed is an entry made ready for its log: the leaf (DESIGN §2), its hash,
// the event without its personal values (what the store keeps as the body),
// and the personal values by role with their salts (kept beside the event,
// erasable).
type Sealed struct {
	Public   *Event
	Roles    []PIIRole
	Leaf     []byte
	LeafHash merkle.Hash
}

// Seal computes the leaf of an entry whose event has its Seq and ReceivedAt
// set, with the entry's Salts (fresh ones where missing) and PersonalFields.
// It sets Event.LeafHash. Every store calls it inside Append, after assigning
// seq, so the leaf, the tree hashes and the event are written in one
// transaction.
func (e *Entry) Seal() (*Sealed, error) {
	leaf, roles, public, err := encodeLeafParts(e.Event, e.Salts, e.PersonalFields)
	if err != nil {
		return nil, fmt.Errorf("sealing event %s: %w", e.Event.ID, err)
	}
	h := merkle.LeafHash(leaf)
	e.Event.LeafHash = LeafHash(leaf)
	return &Sealed{Public: public, Roles: roles, Leaf: leaf, LeafHash: h}, nil
}

// SignedCheckpoint is a checkpoint of one tenant's log as published: the
// size and root it states and the signed note (C2SP tlog-checkpoint in a
// C2SP signed note) exactly as served.
type SignedCheckpoint struct {
	Tenant    string      `json:"tenant"`
	Size      int64       `json:"size"`
	Root      merkle.Hash `json:"root"`
	Note      []byte      `json:"note"`
	CreatedAt Time        `json:"created_at"`
}

// LogStore keeps each tenant's Merkle tree (the RFC 6962 stored hashes of
// golang.org/x/mod/sumdb/tlog, indexed by merkle.StoredHashIndex) and the
// checkpoints published for it. The tree hashes of an event are written by
// Append in the event's own transaction, so a log of size n has exactly the
// stored hashes 0 .. merkle.StoredHashCount(n)-1, and the one at
// merkle.StoredHashIndex(0, seq) is the event's leaf hash. Every method is
// safe for concurrent use; reads see one consistent state of the log.
type LogStore interface {
	// ReadHashes returns the stored hashes of tenant's tree at the given
	// stored-hash indexes (any order, repeats allowed), in the same order;
	// ENOTFOUND if the tenant is unknown or one is missing.
	ReadHashes(ctx context.Context, tenant string, indexes []int64) ([]merkle.Hash, error)
	// AddCheckpoint keeps a published checkpoint, setting CreatedAt if zero.
	// Adding the same size twice with the same root is a no-op (the first
	// note stays); with another root it is ECONFLICT. ENOTFOUND for an
	// unknown tenant; EINVALID for a size below 0 or above the log's size, or
	// an empty note.
	AddCheckpoint(ctx context.Context, cp *SignedCheckpoint) error
	// LatestCheckpoint returns the largest checkpoint of tenant, or ENOTFOUND.
	LatestCheckpoint(ctx context.Context, tenant string) (*SignedCheckpoint, error)
	// CheckpointCovering returns the smallest checkpoint of tenant whose size
	// is greater than seq, or ENOTFOUND if none covers it yet.
	CheckpointCovering(ctx context.Context, tenant string, seq int64) (*SignedCheckpoint, error)
	// Checkpoints returns every checkpoint of tenant, smallest first (empty,
	// not nil, when there is none); ENOTFOUND for an unknown tenant.
	Checkpoints(ctx context.Context, tenant string) ([]*SignedCheckpoint, error)
}

// InclusionProof proves that the leaf at LeafIndex is in the tree of size
// TreeSize (RFC 9162 §2.1.3). Hashes are written as standard base64.
type InclusionProof struct {
	LeafIndex int64    `json:"leaf_index"`
	TreeSize  int64    `json:"tree_size"`
	Hashes    [][]byte `json:"hashes"`
}

// ConsistencyProof proves that the tree of size From is a prefix of the tree
// of size To (RFC 9162 §2.1.4).
type ConsistencyProof struct {
	From   int64    `json:"from"`
	To     int64    `json:"to"`
	Hashes [][]byte `json:"hashes"`
}

// EventProof is an event with what proves it is in its tenant's log: the
// leaf bytes, an inclusion proof and the signed checkpoint it is proved
// against.
type EventProof struct {
	Event *Event `json:"-"`
	// Leaf is nil when withheld from a viewer token that hides a field the
	// leaf holds: the proof then proves Event.LeafHash.
	Leaf       []byte         `json:"leaf"`
	Proof      InclusionProof `json:"proof"`
	Checkpoint string         `json:"checkpoint"`
}

// LogKeys are the note verifier keys of the installation's checkpoint
// signing keys: the current one and every one ever used, oldest first.
type LogKeys struct {
	Current string
	All     []string
}

// Integrity is the tamper-evidence part of LogService.
type Integrity interface {
	// LogKeys returns the verifier keys (no credentials needed).
	LogKeys(ctx context.Context) (*LogKeys, error)
	// Checkpoint returns the latest signed checkpoint of a tenant's log.
	Checkpoint(ctx context.Context, tenant string) (*SignedCheckpoint, error)
	// InclusionProof proves seq in the tree of size size.
	InclusionProof(ctx context.Context, tenant string, seq, size int64) (*InclusionProof, error)
	// ConsistencyProof proves the tree of size from is a prefix of size to.
	ConsistencyProof(ctx context.Context, tenant string, from, to int64) (*ConsistencyProof, error)
	// EventProof returns an event with its leaf, an inclusion proof and the
	// checkpoint that proves it, waiting up to wait for a checkpoint that
	// covers it (EUNAVAILABLE when none comes in time).
	EventProof(ctx context.Context, tenant, id string, wait time.Duration) (*EventProof, error)
	// Receipt returns EventProof as a C2SP tlog-proof@v1 text.
	Receipt(ctx context.Context, tenant, id string, wait time.Duration) ([]byte, error)
	// Tile returns a C2SP tlog-tiles hash tile of a tenant's log by its path
	// below /tile/ (for example "0/x001/234.p/5").
	Tile(ctx context.Context, tenant, path string) ([]byte, error)
	// InstallationCheckpoint returns the latest checkpoint of the
	// installation log (no credentials needed), its note carrying every
	// witness cosignature kept for it.
	InstallationCheckpoint(ctx context.Context) ([]byte, error)
	// Witnessed returns the latest checkpoint of tenant's log that is in
	// the installation log at its latest cosigned checkpoint (the latest
	// one when none is cosigned yet), with the proof; ENOTFOUND when there
	// is none.
	Witnessed(ctx context.Context, tenant string) (*WitnessedCheckpoint, error)
}
