package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// leases are the background-job leases this node holds (DESIGN §5): each
// is taken in the store and renewed once half its ttl has passed, so a
// node asks the store about a lease it holds only every ttl/2, and another
// node takes the job over within ttl of this one stopping.
//
// Leases make exactly one node do each job in normal operation; no job's
// correctness depends on them. A node that was paused past its lease and
// still believes it holds one can at worst do the job twice: checkpoints
// of one log at one size agree (the tree is the store's), and the
// installation log is appended with compare-and-set (AppendInstallation's
// from), so the store itself fences a stale holder.
type leases struct {
	store  hashtrail.LeaseStore
	holder string
	ttl    time.Duration
	log    *slog.Logger

	mu   sync.Mutex
	held map[string]time.Time // lease name -> when to renew it
}

func newLeases(store hashtrail.LeaseStore, holder string, ttl time.Duration, log *slog.Logger) *leases {
	if holder == "" {
		holder = defaultHolder()
	}
	return &leases{store: store, holder: holder, ttl: ttl, log: log, held: map[string]time.Time{}}
}

// defaultHolder names this process uniquely among the nodes of one store.
func defaultHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// hold reports whether this node holds the lease name, taking or renewing
// it as needed. An error of the store counts as not holding it.
func (ls *leases) hold(ctx context.Context, name string) bool {
	start := time.Now()
	ls.mu.Lock()
	renew, ok := ls.held[name]
	ls.mu.Unlock()
	if ok && start.Before(renew) {
		return true
	}
	got, err := ls.store.AcquireLease(ctx, name, ls.holder, ls.ttl)
	if err != nil && ctx.Err() == nil {
		ls.log.Warn("taking a lease", "lease", name, "err", err)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if err != nil || !got {
		delete(ls.held, name)
		return false
	}
	if !ok {
		ls.log.Debug("took a lease", "lease", name)
	}
	ls.held[name] = start.Add(ls.ttl / 2)
	return true
}

// holds reports whether this node held the lease name when it last asked,
// without asking the store.
func (ls *leases) holds(name string) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	renew, ok := ls.held[name]
	return ok && time.Now().Before(renew.Add(ls.ttl/2))
}

// releaseAll gives up every lease, so other nodes take the jobs over at
// once rather than after the ttl.
func (ls *leases) releaseAll(ctx context.Context) {
	ls.mu.Lock()
	names := make([]string, 0, len(ls.held))
	for n := range ls.held {
		names = append(names, n)
	}
	clear(ls.held)
	ls.mu.Unlock()
	for _, n := range names {
		if err := ls.store.ReleaseLease(ctx, n, ls.holder); err != nil {
			ls.log.Warn("releasing a lease", "lease", n, "err", err)
		}
	}
}

// upkeepLoop runs the store's upkeep on the node that holds LeaseUpkeep:
// when it takes the lease and then every UpkeepInterval while it keeps it
// (renewing it meanwhile), until the ledger stops.
func (l *Ledger) upkeepLoop(up hashtrail.Upkeeper) {
	defer l.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-l.stop
		cancel()
	}()
	var last time.Time // of this node's last good run while holding the lease
	tick := time.NewTicker(min(l.cfg.UpkeepInterval, l.cfg.LeaseTTL/2))
	defer tick.Stop()
	for {
		if !l.leases.hold(ctx, hashtrail.LeaseUpkeep) {
			last = time.Time{}
		} else if last.IsZero() || time.Since(last) >= l.cfg.UpkeepInterval {
			start := time.Now()
			if err := up.Upkeep(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				l.log.Error("store upkeep", "err", err)
			} else {
				last = start
				l.log.Debug("store upkeep done", "took", time.Since(start))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
