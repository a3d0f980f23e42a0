package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/merkle"
)

// Verifier checks tenant logs against the installation's pinned log keys
// (see the package documentation). Its fields are read-only during Verify;
// one Verifier may check several logs one after the other.
type Verifier struct {
	// ServerName is the installation's server name: the checkpoints of
	// tenant T are signed under the key name (and origin) "<ServerName>/T".
	ServerName string
	// Keys are the installation's log public keys a checkpoint may be signed
	// by: every key ever used (GET /v1/log/keys), pinned by the user.
	Keys []ed25519.PublicKey
	// PersonalFields are the change fields the tenant marks personal (nil:
	// hashtrail.DefaultPersonalFields).
	PersonalFields []string
	// State, if not nil, holds the checkpoint each log showed last time;
	// Verify requires consistency with it and records the new one on
	// success. The caller saves it.
	State *State
	// Workers rebuild leaves in parallel (default runtime.GOMAXPROCS).
	Workers int
	// Now is the clock for State (default time.Now).
	Now func() time.Time
	// Witnesses, if any, are witness keys (C2SP tlog-cosignature) that must
	// have cosigned the installation checkpoint that proves a checkpoint of
	// the log (DESIGN §2, Witnesses); the source must be a WitnessSource.
	// That witnessed checkpoint is then checked like the log's others.
	Witnesses []*checkpoint.CosignatureVerifier
	// WitnessQuorum is how many of Witnesses must have cosigned (0: all).
	WitnessQuorum int
}

// ParseLogKeys reads note verifier keys as GET /v1/log/key and /v1/log/keys
// serve them, "<server name>+<hash>+<base64 key>", and returns the server
// name they share and their public keys.
func ParseLogKeys(vkeys []string) (serverName string, keys []ed25519.PublicKey, err error) {
	if len(vkeys) == 0 {
		return "", nil, errors.New("no log key")
	}
	for _, vk := range vkeys {
		name, pub, err := checkpoint.ParseVerifierKey(strings.TrimSpace(vk))
		if err != nil {
			return "", nil, err
		}
		if serverName != "" && name != serverName {
			return "", nil, fmt.Errorf("the log keys name two servers, %q and %q", serverName, name)
		}
		serverName = name
		keys = append(keys, pub)
	}
	return serverName, keys, nil
}

// Origin returns the origin of tenant's log, "<ServerName>/<tenant>".
func (v *Verifier) Origin(tenant string) string { return checkpoint.Origin(v.ServerName, tenant) }

// Verify checks the log src holds. It returns a Report whose Failure is the
// first divergence found, or an error when the log could not be read (a
// network or database failure says nothing about tampering).
func (v *Verifier) Verify(ctx context.Context, src Source) (*Report, error) {
	r := &run{v: v, src: src, cov: newCoverage(), bySize: map[int64]merkle.Hash{}}
	r.rep = &Report{Tenant: src.Tenant(), Origin: v.Origin(src.Tenant()), Previous: -1}
	r.proofs, _ = src.(ProofSource)
	r.hashes, _ = src.(HashSource)
	if p, ok := src.(PersonalDataSource); ok {
		r.expectPII = p.ShowsPersonalData()
	}
	if len(v.Witnesses) > 0 {
		ws, ok := src.(WitnessSource)
		if !ok {
			return nil, errors.New("this source carries no witnessed checkpoint: witness cosignatures can be required only against a running server")
		}
		n, err := r.witnessed(ctx, ws)
		if err != nil || r.fail != nil {
			return r.done(), err
		}
		r.src = plusCheckpoint{Source: src, note: n}
	}
	if err := r.checkpoints(ctx); err != nil || r.fail != nil {
		return r.done(), err
	}
	if err := r.walk(ctx); err != nil {
		return nil, err
	}
	rep := r.done()
	if rep.OK() && v.State != nil && r.latest.size > 0 {
		now := time.Now
		if v.Now != nil {
			now = v.Now
		}
		v.State.Remember(r.rep.Origin, r.latest.size, r.latest.root, r.latest.note, now())
	}
	return rep, nil
}

// signedTree is a verified checkpoint, or the one remembered from before.
type signedTree struct {
	size  int64
	root  merkle.Hash
	note  []byte
	label string
}

// run is the state of one Verify call.
type run struct {
	v         *Verifier
	src       Source
	rep       *Report
	proofs    ProofSource
	hashes    HashSource
	expectPII bool
	cov       *coverage
	fail      *Divergence

	cps    []signedTree // verified checkpoints, by size
	bySize map[int64]merkle.Hash
	latest signedTree
	prev   *signedTree
	checks []signedTree // sizes to compare with the recomputed tree, by size

	tree    bool // recomputing the tree from every entry
	cr      compactRange
	next    int64 // the next seq expected
	checkAt int
	buf     []merkle.Hash
}

// failf records the first divergence; later ones are dropped.
func (r *run) failf(seq int64, id string, cp int64, format string, args ...any) {
	if r.fail != nil {
		return
	}
	r.fail = &Divergence{Tenant: r.rep.Tenant, Seq: seq, EventID: id, Checkpoint: cp, What: fmt.Sprintf(format, args...)}
}

// done settles coverage and returns the report.
func (r *run) done() *Report {
	if r.fail == nil || r.fail.Seq >= 0 {
		if u := r.cov.resolve(r.latest.size); u != nil && (r.fail == nil || u.seq < r.fail.Seq) {
			r.fail = nil
			if u.role != "" {
				r.failf(u.seq, u.id, -1, "personal values of role %s are gone (erased), but no signed %s event announces their erasure", u.role, ActionSubjectErased)
			} else {
				r.failf(u.seq, "", -1, "seq %d missing: no event body, and no signed %s event announces its purge", u.seq, ActionRetentionPurge)
			}
		}
	}
	if r.fail == nil {
		r.rep.ErasedRoles = int64(len(r.cov.roles))
		for _, b := range r.cov.bodies {
			r.rep.Purged += b.last - b.first + 1
		}
	}
	r.rep.Failure = r.fail
	return r.rep
}
