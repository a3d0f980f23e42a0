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
	dirty map[string]bool  // tenants that may have grown
	seen  map[string]int64 // with Cluster: the size up to which each log is signed and in the installation log
	kick  chan struct{}    // wakes signLoop when dirty becomes non-empty
	round chan struct{}    // closed and replaced after each signing round
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
		dirty: map[string]bool{}, seen: map[string]int64{}, kick: make(chan struct{}, 1), round: make(chan struct{}),
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

// markGrown tells the signer, and Config.Committed, which tenants a
// commit grew.
func (l *Ledger) markGrown(groups []*hashtrail.AppendGroup) {
	if l.sig == nil && l.cfg.Committed == nil {
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
	if l.cfg.Committed != nil && len(tenants) > 0 {
		l.cfg.Committed(tenants...)
	}
	if l.sig != nil {
		l.sig.mark(tenants...)
	}
}

// signLoop signs checkpoints until the commit loop has stopped, then signs
// once more for what was committed last, and returns. The first round looks
// at every tenant, so logs that grew while no signer ran (an offline tool, a
// crash, another node that died) get their checkpoint. With Cluster, every
// CheckpointInterval it also looks at the store for logs that grew on other
// nodes (poll).
func (l *Ledger) signLoop() {
	defer l.wg.Done()
	s := l.sig
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.signAll(ctx)
	var poll <-chan time.Time
	if l.cfg.Cluster {
		t := time.NewTicker(s.every)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-s.kick:
		case <-poll:
			l.signRound(ctx, l.grownElsewhere(ctx))
			continue
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

// grownElsewhere returns the tenants whose log size differs from the size
// this node last saw signed and in the installation log.
func (l *Ledger) grownElsewhere(ctx context.Context) []string {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	tenants, err := l.store.Tenants(tctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			l.log.Error("listing tenants to sign checkpoints", "err", err)
		}
		return nil
	}
	s := l.sig
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range tenants {
		if seen, ok := s.seen[t.ID]; t.Size > 0 && (!ok || seen != t.Size) {
			out = append(out, t.ID)
		}
	}
	return out
}

// settled records that tenant's log is signed at size and that checkpoint
// is in the installation log, so polling need not look at it again until
// it grows.
func (s *signer) settled(tenant string, size int64) {
	s.mu.Lock()
	s.seen[tenant] = size
	s.mu.Unlock()
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
		res, err := l.signTenant(ctx, t.ID, t.Size)
		if err != nil {
			l.log.Error("signing a checkpoint", "tenant", t.ID, "err", err)
		}
		if !res.rotated {
			pending++
		}
	}
	if l.sig.old != nil {
		l.log.Info("signing key rotation", "tenants", len(tenants), "waiting_for_their_next_event", pending,
			"note", "a log gets its rotation checkpoint, signed by both keys, when it next grows; keep the previous key configured until then")
	}
}

// signRound signs for the given tenants and appends their checkpoints to
// the installation log. With Cluster, a tenant whose log is then signed at
// its size and in the installation log is settled.
func (l *Ledger) signRound(ctx context.Context, tenants []string) {
	defer l.sig.endRound()
	covered := make(map[string]int64, len(tenants))
	for _, id := range tenants {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		t, err := l.store.Tenant(tctx, id)
		cancel()
		if err != nil {
			l.log.Error("reading a tenant to sign its checkpoint", "tenant", id, "err", err)
			continue
		}
		res, err := l.signTenant(ctx, t.ID, t.Size)
		if err != nil {
			l.log.Error("signing a checkpoint", "tenant", id, "err", err)
		}
		if res.covered {
			covered[t.ID] = t.Size
		}
	}
	l.signInstallation(ctx, tenants)
	if !l.cfg.Cluster {
		return
	}
	for id, size := range covered {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		in, err := l.store.HasInstallationEntry(tctx, id, size)
		cancel()
		if err == nil && in {
			l.sig.settled(id, size)
		}
	}
}

// signResult is what signTenant did.
type signResult struct {
	// covered: the log's latest checkpoint is of the size asked for, by
	// whichever node signed it.
	covered bool
	// rotated: that checkpoint is signed by the current key.
	rotated bool
}

// signTenant signs and keeps a checkpoint of tenant's log at size unless its
// latest checkpoint has that size already, provided this node holds the
// tenant's checkpoint lease (another node signs it otherwise). During a
// rotation, a log whose latest checkpoint the new key has not signed gets a
// checkpoint signed by both keys.
func (l *Ledger) signTenant(ctx context.Context, tenant string, size int64) (signResult, error) {
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
		return signResult{}, err
	case latest.Size > size:
		if t, err := ls.Tenant(ctx, tenant); err == nil && t.Size >= latest.Size {
			return signResult{}, nil // another node signed after the log grew there
		}
		l.metrics.signErrors.Inc()
		return signResult{}, hashtrail.Errorf(hashtrail.EINTERNAL,
			"the log has %d events but its latest checkpoint says %d: the store was rolled back (an old backup?) or tampered with; not signing", size, latest.Size)
	case latest.Size == size:
		// Signed already (a log that has not grown since a key rotation gets
		// its rotation checkpoint with its next event).
		return signResult{covered: true, rotated: signedBy(latest.Note, origin, s.pub)}, nil
	}
	if !l.leases.hold(ctx, hashtrail.LeaseCheckpoint+tenant) {
		return signResult{}, nil
	}
	start := time.Now()
	root, err := merkle.TreeHash(size, hashReader(ctx, ls, tenant))
	if err != nil {
		l.metrics.signErrors.Inc()
		return signResult{}, err
	}
	keys := []crypto.Signer{s.key}
	if s.old != nil && latest != nil && !signedBy(latest.Note, origin, s.pub) {
		keys = []crypto.Signer{s.old, s.key} // the rotation checkpoint
	}
	msg, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: origin, Size: size, Root: root}, keys...)
	if err != nil {
		l.metrics.signErrors.Inc()
		return signResult{}, err
	}
	cp := &hashtrail.SignedCheckpoint{Tenant: tenant, Size: size, Root: root, Note: msg, CreatedAt: l.clock()}
	if err := ls.AddCheckpoint(ctx, cp); err != nil {
		l.metrics.signErrors.Inc()
		return signResult{}, err
	}
	l.metrics.signed.Inc()
	l.metrics.signSeconds.Observe(time.Since(start).Seconds())
	if len(keys) == 2 {
		l.log.Info("signed a rotation checkpoint", "tenant", tenant, "size", size)
	}
	return signResult{covered: true, rotated: true}, nil
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
