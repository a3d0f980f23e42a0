package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/merkle"
)

// A WitnessSource also serves a tenant checkpoint with its proof in a
// cosigned checkpoint of the installation log (GET
// /v1/tenants/{t}/log/witnessed), such as a running server does.
type WitnessSource interface {
	Source
	Witnessed(ctx context.Context) (*api.Witnessed, error)
}

// Witnessed implements WitnessSource.
func (s *APISource) Witnessed(ctx context.Context) (*api.Witnessed, error) {
	var w api.Witnessed
	if err := s.getJSON(ctx, s.tenantPath()+"/log/witnessed", &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// ParseWitnessKeys reads witness verifier keys (C2SP tlog-cosignature,
// cosignature/v1).
func ParseWitnessKeys(vkeys []string) ([]*checkpoint.CosignatureVerifier, error) {
	var out []*checkpoint.CosignatureVerifier
	for _, k := range vkeys {
		v, err := checkpoint.NewCosignatureVerifier(strings.TrimSpace(k))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// witnessed checks the source's witnessed checkpoint: the installation
// checkpoint is signed by a pinned log key and cosigned by at least quorum
// of v.Witnesses, and the tenant checkpoint is signed by a pinned log key and
// proved in it. It returns the tenant checkpoint's note, or records the
// failure.
func (r *run) witnessed(ctx context.Context, ws WitnessSource) ([]byte, error) {
	v := r.v
	quorum := v.WitnessQuorum
	if quorum <= 0 || quorum > len(v.Witnesses) {
		quorum = len(v.Witnesses)
	}
	w, err := ws.Witnessed(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the witnessed checkpoint of %s: %w", r.rep.Tenant, err)
	}
	inst := []byte(w.Installation)
	var ic checkpoint.Checkpoint
	var names []string
	opened := false
	for _, k := range v.Keys {
		lv, err := checkpoint.Verifier(v.ServerName, k)
		if err != nil {
			return nil, err
		}
		if names, err = checkpoint.Cosigned(inst, lv, v.Witnesses); err == nil {
			opened = true
			break
		}
	}
	if opened {
		ic, err = checkpoint.Open(inst, v.ServerName, v.Keys...)
	}
	if !opened || err != nil {
		r.failf(-1, "", -1, "the installation checkpoint is not signed by a pinned log key for %s (or a witness cosignature on it is invalid)", v.ServerName)
		return nil, nil
	}
	r.rep.Witnesses = names
	if len(names) < quorum {
		r.failf(-1, "", -1, "the installation checkpoint of size %d is cosigned by %d of the required witnesses (%s), %d needed", ic.Size, len(names), strings.Join(names, ", "), quorum)
		return nil, nil
	}
	tn := []byte(w.Checkpoint)
	tc, err := checkpoint.Open(tn, r.rep.Origin, v.Keys...)
	if err != nil {
		r.failf(-1, "", noteSize(tn), "the witnessed tenant checkpoint: %s", checkpointError(tn, r.rep.Origin, err))
		return nil, nil
	}
	if w.Proof.LeafIndex != w.Index || w.Proof.TreeSize != ic.Size ||
		merkle.VerifyInclusion(w.Index, ic.Size, hashBytes(merkle.LeafHash(tn)), w.Proof.Hashes, ic.Root[:]) != nil {
		r.failf(-1, "", tc.Size, "the tenant checkpoint of size %d is not proved in the witnessed installation checkpoint of size %d", tc.Size, ic.Size)
		return nil, nil
	}
	r.rep.WitnessedSize = tc.Size
	return tn, nil
}

func hashBytes(h merkle.Hash) []byte { return h[:] }

// plusCheckpoint is a source with one more checkpoint, the witnessed one,
// which the verifier then checks like the others.
type plusCheckpoint struct {
	Source
	note []byte
}

func (p plusCheckpoint) Checkpoints(ctx context.Context) ([][]byte, error) {
	notes, err := p.Source.Checkpoints(ctx)
	return append(notes, p.note), err
}
