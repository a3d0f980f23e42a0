package client

import (
	"context"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// Entry is one position of a tenant log as a Source shows it.
type Entry struct {
	// Seq is the entry's index in the log.
	Seq int64
	// Event is the event as the source serves it, with its leaf_hash and
	// pii members (DESIGN §2), or nil when the source has no body for Seq:
	// purged by retention, or missing.
	Event *hashtrail.Event
	// LeafHash is the leaf hash the source keeps for Seq when Event is nil
	// (a purge keeps leaf hashes), or nil when it has none. For an entry with
	// an Event, the claimed leaf hash is Event.LeafHash.
	LeafHash *merkle.Hash
	// Leaf is the leaf bytes as the source serves them (an evidence bundle,
	// or an event answer with ?proof=true), or nil. When set, the verifier
	// compares the leaf it rebuilds from Event with it byte for byte, which
	// lets it name the member that differs.
	Leaf []byte
	// Proof is an inclusion proof of the entry in the tree of size
	// ProofSize, or nil; the verifier asks a ProofSource for one otherwise.
	Proof     []merkle.Hash
	ProofSize int64
}

// A Source is one tenant log as a verifier reads it: a data directory, a
// running server, or an evidence bundle.
type Source interface {
	// Tenant names the tenant whose log this is.
	Tenant() string
	// Checkpoints returns the signed checkpoints (C2SP signed notes, as
	// served) the source has for the log, in any order.
	Checkpoints(ctx context.Context) ([][]byte, error)
	// Entries calls fn with entries of seq below end in increasing seq
	// order, each seq at most once; it stops at the first error fn returns
	// and returns it. The verifier owns each Entry once fn has it.
	//
	// A complete source (Complete reports true) passes every seq from 0 up
	// to end-1, or up to its own size if that is larger, with Event nil where
	// it has no body. A partial source passes the entries it holds,
	// including every system.subject_erased and system.retention_purge event
	// that covers an erased role or a missing body among them.
	Entries(ctx context.Context, end int64, fn func(*Entry) error) error
	// Complete reports whether Entries passes every seq of the log.
	Complete() bool
}

// A ProofSource also serves proofs, such as a running server does. A
// verifier asks it for inclusion proofs of entries that come without one, and
// for consistency proofs between checkpoints it cannot compare otherwise.
type ProofSource interface {
	Source
	// InclusionProof proves seq in the tree of size size.
	InclusionProof(ctx context.Context, seq, size int64) ([]merkle.Hash, error)
	// ConsistencyProof proves the tree of size from a prefix of size to.
	ConsistencyProof(ctx context.Context, from, to int64) ([]merkle.Hash, error)
}

// A HashSource also serves the tree hashes the log keeps (merkle's stored
// hash sequence), such as a data directory does. The verifier compares every
// one of them with the hash it recomputes from the events, and takes the leaf
// hash of an entry without a body from them.
type HashSource interface {
	Source
	// ReadHashes returns the stored hashes at the given indexes, in order,
	// or an error (hashtrail.ENOTFOUND when one is missing).
	ReadHashes(ctx context.Context, indexes []int64) ([]merkle.Hash, error)
}

// A PersonalDataSource says whether the events it serves carry every
// personal value that was not erased, with its salt: true for a data
// directory and for an API key allowed to see personal data. The verifier
// then reports a role that has neither its values nor an erasure as
// tampering; otherwise it counts such a role as hidden and checks its
// commitment only as part of the leaf.
type PersonalDataSource interface {
	ShowsPersonalData() bool
}
