package ledger

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/merkle"
	"golang.org/x/mod/sumdb/note"
)

// signer is the checkpoint signer's state. Its goroutine (signLoop) signs,
// at most once per CheckpointInterval, a checkpoint for every tenant whose
// log grew since its latest checkpoint.
type signer struct {
	key     crypto.Signer
	pub     ed25519.PublicKey
	old     crypto.Signer // the previous key during a rotation, or nil
	name    string        // the server name
	current string        // the verifier key of key under name
	every   time.Duration

	mu    sync.Mutex
	dirty map[string]bool // tenants that may have grown
	kick  chan struct{}   // wakes signLoop when dirty becomes non-empty
	round chan struct{}   // closed and replaced after each signing round
}

func newSigner(cfg Config) (*signer, error) {
	pub, err := checkpoint.PublicKey(cfg.Signer)
	if err != nil {
		return nil, err
	}
	cur, err := checkpoint.VerifierKey(cfg.ServerName, pub)
	if err != nil {
		return nil, err
	}
	if !ValidServerName(cfg.ServerName) {
		return nil, hashtrail.Errorf(hashtrail.EINVALID, "invalid server name %.80q", cfg.ServerName)
	}
	if cfg.RotateFrom != nil {
		if _, err := checkpoint.PublicKey(cfg.RotateFrom); err != nil {
			return nil, err
		}
	}
	return &signer{
		key: cfg.Signer, pub: pub, old: cfg.RotateFrom, name: cfg.ServerName, current: cur,
		every: cfg.CheckpointInterval,
		dirty: map[string]bool{}, kick: make(chan struct{}, 1), round: make(chan struct{}),
	}, nil
}

// mark records that tenants' logs may have grown.
func (s *signer) mark(tenants ...string) {
	if s == nil || len(tenants) == 0 {
		return
	}
	s.mu.Lock()
	for _, t := range tenants {
		s.dirty[t] = true
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *signer) takeDirty() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.dirty))
	for t := range s.dirty {
		out = append(out, t)
	}
	clear(s.dirty)
	return out
}

// next returns a channel closed at the end of the next signing round.
func (s *signer) next() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.round
}

func (s *signer) endRound() {
	s.mu.Lock()
	close(s.round)
	s.round = make(chan struct{})
	s.mu.Unlock()
}

// markGrown tells the signer which tenants a commit grew.
func (l *Ledger) markGrown(groups []*hashtrail.AppendGroup) {
	if l.sig == nil {
		return
	}
	var tenants []string
	seen := map[string]bool{}
	for _, g := range groups {
		if g.Err != nil {
			continue
		}
		for _, e := range g.Entries {
			if t := e.Event.Tenant; !e.Replayed && !seen[t] {
				seen[t] = true
				tenants = append(tenants, t)
			}
		}
	}
	l.sig.mark(tenants...)
}

// signLoop signs checkpoints until the commit loop has stopped, then signs
// once more for what was committed last, and returns. The first round looks
// at every tenant, so logs that grew while no signer ran (an offline tool, a
// crash) get their checkpoint.
func (l *Ledger) signLoop() {
	defer l.wg.Done()
	s := l.sig
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.signAll(ctx)
	for {
		select {
		case <-s.kick:
		case <-l.committed:
			l.signRound(ctx, s.takeDirty())
			return
		}
		l.signRound(ctx, s.takeDirty())
		select {
		case <-time.After(s.every):
		case <-l.committed:
			l.signRound(ctx, s.takeDirty())
			return
		}
	}
}

// signAll signs for every tenant that needs it, and reports how many logs
// still wait for their rotation checkpoint.
func (l *Ledger) signAll(ctx context.Context) {
	defer l.sig.endRound()
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	tenants, err := l.store.Tenants(tctx)
	cancel()
	if err != nil {
		l.log.Error("listing tenants to sign checkpoints", "err", err)
		return
	}
	pending := 0
	ids := make([]string, 0, len(tenants))
	defer func() { l.signInstallation(ctx, ids) }()
	for _, t := range tenants {
		ids = append(ids, t.ID)
		rotated, err := l.signTenant(ctx, t.ID, t.Size)
		if err != nil {
			l.log.Error("signing a checkpoint", "tenant", t.ID, "err", err)
		}
		if !rotated {
			pending++
		}
	}
	if l.sig.old != nil {
		l.log.Info("signing key rotation", "tenants", len(tenants), "waiting_for_their_next_event", pending,
			"note", "a log gets its rotation checkpoint, signed by both keys, when it next grows; keep the previous key configured until then")
	}
}

// signRound signs for the given tenants.
func (l *Ledger) signRound(ctx context.Context, tenants []string) {
	defer l.sig.endRound()
	defer l.signInstallation(ctx, tenants)
	for _, id := range tenants {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		t, err := l.store.Tenant(tctx, id)
		cancel()
		if err != nil {
			l.log.Error("reading a tenant to sign its checkpoint", "tenant", id, "err", err)
			continue
		}
		if _, err := l.signTenant(ctx, t.ID, t.Size); err != nil {
			l.log.Error("signing a checkpoint", "tenant", id, "err", err)
		}
	}
}

// signTenant signs and keeps a checkpoint of tenant's log at size unless its
// latest checkpoint has that size already. During a rotation, a log whose
// latest checkpoint the new key has not signed gets a checkpoint signed by
// both keys. rotated reports that the latest checkpoint is (now) signed by
// the current key.
func (l *Ledger) signTenant(ctx context.Context, tenant string, size int64) (rotated bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ls := l.store
	s := l.sig
	origin := checkpoint.Origin(s.name, tenant)
	latest, err := ls.LatestCheckpoint(ctx, tenant)
	switch {
	case hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND:
		latest = nil
	case err != nil:
		return false, err
	case latest.Size > size:
		l.metrics.signErrors.Inc()
		return false, hashtrail.Errorf(hashtrail.EINTERNAL,
			"the log has %d events but its latest checkpoint says %d: the store was rolled back (an old backup?) or tampered with; not signing", size, latest.Size)
	case latest.Size == size:
		return signedBy(latest.Note, origin, s.pub), nil
	}
	start := time.Now()
	root, err := merkle.TreeHash(size, hashReader(ctx, ls, tenant))
	if err != nil {
		l.metrics.signErrors.Inc()
		return false, err
	}
	keys := []crypto.Signer{s.key}
	if s.old != nil && latest != nil && !signedBy(latest.Note, origin, s.pub) {
		keys = []crypto.Signer{s.old, s.key} // the rotation checkpoint
	}
	msg, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: origin, Size: size, Root: root}, keys...)
	if err != nil {
		l.metrics.signErrors.Inc()
		return false, err
	}
	cp := &hashtrail.SignedCheckpoint{Tenant: tenant, Size: size, Root: root, Note: msg, CreatedAt: l.clock()}
	if err := ls.AddCheckpoint(ctx, cp); err != nil {
		l.metrics.signErrors.Inc()
		return false, err
	}
	l.metrics.signed.Inc()
	l.metrics.signSeconds.Observe(time.Since(start).Seconds())
	if len(keys) == 2 {
		l.log.Info("signed a rotation checkpoint", "tenant", tenant, "size", size)
	}
	return true, nil
}

// signedBy reports whether the signed note msg carries a valid signature by
// pub under the key name origin.
func signedBy(msg []byte, origin string, pub ed25519.PublicKey) bool {
	v, err := checkpoint.Verifier(origin, pub)
	if err != nil {
		return false
	}
	_, err = note.Open(msg, note.VerifierList(v))
	return err == nil
}

// hashReader reads tenant's stored hashes through ls.
func hashReader(ctx context.Context, ls hashtrail.LogStore, tenant string) merkle.HashReader {
	return merkle.HashReaderFunc(func(indexes []int64) ([]merkle.Hash, error) {
		return ls.ReadHashes(ctx, tenant, indexes)
	})
}
