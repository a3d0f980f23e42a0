package client

import (
	"fmt"
	"strings"

	"github.com/hashtrail/hashtrail/merkle"
)

// Divergence is the first place where a log stops matching what it
// committed to: tenant, seq and event when it is about an entry, the
// checkpoint size when it is about a checkpoint, and what differs.
type Divergence struct {
	Tenant string
	// Seq is the entry concerned, or -1.
	Seq int64
	// EventID is the id of the event at Seq, when known.
	EventID string
	// Checkpoint is the size of the checkpoint concerned, or -1.
	Checkpoint int64
	// What says what differs, such as "leaf hash differs: event body changed".
	What string
}

// String formats d as "tenant T, seq N (event ID): what".
func (d *Divergence) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tenant %s", d.Tenant)
	if d.Seq >= 0 {
		fmt.Fprintf(&b, ", seq %d", d.Seq)
		if d.EventID != "" {
			fmt.Fprintf(&b, " (event %s)", d.EventID)
		}
	} else if d.Checkpoint >= 0 {
		fmt.Fprintf(&b, ", checkpoint %d", d.Checkpoint)
	}
	b.WriteString(": ")
	b.WriteString(d.What)
	return b.String()
}

// Report is the outcome of verifying one log.
type Report struct {
	Tenant string
	Origin string
	// Complete says the whole tree was recomputed from the entries;
	// otherwise entries were proved one by one (all of them, from a
	// complete source whose tree could not be recomputed past a purged
	// body).
	Complete bool
	// Checkpoints is the number of checkpoints whose signature was verified;
	// Size and Root are those of the largest.
	Checkpoints int
	// WitnessedSize is the size of the checkpoint proved in an installation
	// checkpoint cosigned by Witnesses (the names of the required witnesses
	// that cosigned it), when the verifier required witnesses.
	WitnessedSize int64
	Witnesses     []string
	Size          int64
	Root          merkle.Hash
	// Entries counts events whose leaf was rebuilt from the event and
	// checked; Proved those of them checked with an inclusion proof;
	// StoredHashes the stored tree hashes compared with recomputed ones.
	Entries      int64
	Proved       int64
	StoredHashes int64
	// Redacted counts events with erased personal values (ErasedRoles
	// roles in all) and Purged entries without a body, each covered by a
	// signed announcement.
	Redacted    int64
	ErasedRoles int64
	Purged      int64
	// Hidden counts roles whose values the source did not show (a key not
	// allowed to see personal data): their commitments are checked only as
	// part of the leaf.
	Hidden int64
	// Unsigned counts entries after the largest checkpoint: checked against
	// what the source stores but not yet signed.
	Unsigned int64
	// Previous is the size of the checkpoint remembered from an earlier run
	// that the log was checked against, or -1 (first use, or no State).
	Previous int64
	// Failure is the first divergence, or nil when the log verified.
	Failure *Divergence
}

// OK reports whether the log verified.
func (r *Report) OK() bool { return r.Failure == nil }

// Summary describes the outcome in one line, without the OK or FAILED.
func (r *Report) Summary() string {
	if r.Failure != nil {
		return r.Failure.String()
	}
	var b strings.Builder
	how := "proved by inclusion proofs"
	if r.Complete {
		how = "rebuilt into the whole tree"
	}
	fmt.Fprintf(&b, "tenant %s: %s checked (%s), %s signed by the log key, latest size %d root %s",
		r.Tenant, plural(r.Entries, "event"), how, plural(int64(r.Checkpoints), "checkpoint"), r.Size, r.Root)
	if r.StoredHashes > 0 {
		fmt.Fprintf(&b, ", %d stored tree hashes match", r.StoredHashes)
	}
	switch {
	case r.Previous > 0:
		fmt.Fprintf(&b, ", consistent with the checkpoint of size %d seen before", r.Previous)
	case r.Previous == 0:
		b.WriteString(", first checkpoint seen of this log (remembered)")
	}
	fmt.Fprintf(&b, "; %d redacted, %d purged", r.Redacted, r.Purged)
	if r.Hidden > 0 {
		fmt.Fprintf(&b, ", %d personal-data roles hidden from this key", r.Hidden)
	}
	if r.Unsigned > 0 {
		fmt.Fprintf(&b, "; %d newer events not yet in a checkpoint", r.Unsigned)
	}
	return b.String()
}

// plural returns "1 thing" or "n things".
func plural(n int64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
