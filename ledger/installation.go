package ledger

import (
	"context"
	"crypto"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/merkle"
)

// The installation log (DESIGN §2, Witnesses) is one Merkle log per
// installation whose entries are the tenants' signed checkpoints, each the
// signed note exactly as published. Its origin is the server name itself,
// which no tenant log can have (theirs is "<server name>/<tenant>"), and its
// checkpoints are signed by the installation key under that name, so the
// verifier key of GET /v1/log/key opens them. After each signing round the
// signer appends the round's new tenant checkpoints and signs a new
// installation checkpoint, so it too is signed at most once per
// CheckpointInterval; witnesses cosign it (witness.go).

// signInstallation appends the latest checkpoint of each of tenants that
// the installation log does not hold yet, and signs an installation
// checkpoint if the log grew (or has none of its size), provided this node
// holds the installation log's lease (another node does it otherwise).
func (l *Ledger) signInstallation(ctx context.Context, tenants []string) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !l.leases.hold(ctx, hashtrail.LeaseInstallationLog) {
		return
	}
	if err := l.appendInstallation(ctx, tenants); err != nil {
		l.metrics.signErrors.Inc()
		l.log.Error("appending to the installation log", "err", err)
	}
	if err := l.signInstallationCheckpoint(ctx); err != nil {
		l.metrics.signErrors.Inc()
		l.log.Error("signing an installation checkpoint", "err", err)
		return
	}
	l.kickWitnesses()
}

func (l *Ledger) appendInstallation(ctx context.Context, tenants []string) error {
	st := l.store
	var entries []*hashtrail.InstallationEntry
	for _, t := range tenants {
		cp, err := st.LatestCheckpoint(ctx, t)
		if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		has, err := st.HasInstallationEntry(ctx, t, cp.Size)
		if err != nil {
			return err
		}
		if !has {
			entries = append(entries, &hashtrail.InstallationEntry{Tenant: t, Size: cp.Size, Note: cp.Note})
		}
	}
	if len(entries) == 0 {
		return nil
	}
	size, err := st.InstallationSize(ctx)
	if err != nil {
		return err
	}
	return st.AppendInstallation(ctx, size, entries)
}

func (l *Ledger) signInstallationCheckpoint(ctx context.Context) error {
	st := l.store
	s := l.sig
	size, err := st.InstallationSize(ctx)
	if err != nil || size == 0 {
		return err
	}
	latest, err := st.LatestInstallationCheckpoint(ctx, false)
	switch {
	case hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND:
		latest = nil
	case err != nil:
		return err
	case latest.Size > size:
		return hashtrail.Errorf(hashtrail.EINTERNAL, "the installation log has %d entries but its latest checkpoint says %d: the store was rolled back or tampered with; not signing", size, latest.Size)
	case latest.Size == size:
		return nil
	}
	root, err := merkle.TreeHash(size, installationReader(ctx, st))
	if err != nil {
		return err
	}
	keys := []crypto.Signer{s.key}
	if s.old != nil && latest != nil && !signedBy(latest.Note, s.name, s.pub) {
		keys = []crypto.Signer{s.old, s.key}
	}
	msg, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: s.name, Size: size, Root: root}, keys...)
	if err != nil {
		return err
	}
	return st.AddInstallationCheckpoint(ctx, &hashtrail.SignedCheckpoint{Size: size, Root: root, Note: msg, CreatedAt: l.clock()})
}

// installationReader reads the installation log's stored hashes.
func installationReader(ctx context.Context, st hashtrail.InstallationLogStore) merkle.HashReader {
	return merkle.HashReaderFunc(func(indexes []int64) ([]merkle.Hash, error) {
		return st.ReadInstallationHashes(ctx, indexes)
	})
}

// withCosignatures returns the installation checkpoint's note with every
// cosignature line kept for it appended.
func (l *Ledger) withCosignatures(ctx context.Context, cp *hashtrail.SignedCheckpoint) ([]byte, error) {
	lines, err := l.store.Cosignatures(ctx, cp.Size)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), cp.Note...)
	for _, line := range lines {
		if !strings.Contains(string(out), line) {
			out = append(out, line...)
		}
	}
	return out, nil
}

// InstallationCheckpoint returns the latest installation checkpoint with
// its witness cosignatures. It needs no credentials: it names tenants only
// inside the tenant checkpoints, which are not in it.
func (l *Ledger) InstallationCheckpoint(ctx context.Context) ([]byte, error) {
	if l.sig == nil {
		return nil, errNoSigning
	}
	cp, err := l.store.LatestInstallationCheckpoint(ctx, false)
	if err != nil {
		return nil, err
	}
	return l.withCosignatures(ctx, cp)
}

// Witnessed returns the latest checkpoint of tenant in the installation log
// at its latest cosigned checkpoint (the latest one when none is cosigned
// yet), with its inclusion proof.
func (l *Ledger) Witnessed(ctx context.Context, tenant string) (*hashtrail.WitnessedCheckpoint, error) {
	if _, err := l.readLog(ctx, tenant); err != nil {
		return nil, err
	}
	if l.sig == nil {
		return nil, errNoSigning
	}
	st := l.store
	cp, err := st.LatestInstallationCheckpoint(ctx, true)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		cp, err = st.LatestInstallationCheckpoint(ctx, false)
	}
	if err != nil {
		return nil, err
	}
	idx, e, err := st.InstallationIndex(ctx, tenant, cp.Size)
	if err != nil {
		return nil, err
	}
	p, err := merkle.ProveRecord(cp.Size, idx, installationReader(ctx, st))
	if err != nil {
		return nil, err
	}
	note, err := l.withCosignatures(ctx, cp)
	if err != nil {
		return nil, err
	}
	hs := make([][]byte, len(p))
	for i := range p {
		hs[i] = p[i][:]
	}
	return &hashtrail.WitnessedCheckpoint{
		Checkpoint: e.Note, Index: idx, Installation: note,
		Proof: hashtrail.InclusionProof{LeafIndex: idx, TreeSize: cp.Size, Hashes: hs},
	}, nil
}
