package ledger

import (
	"context"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// pending is one request's group waiting for a commit.
type pending struct {
	group *hashtrail.AppendGroup
	done  chan error
}

// append queues a group for the next commit and waits until it is durable.
// Concurrent callers share store transactions: while one commit runs, the
// groups that arrive meanwhile queue up and go into the next one together.
func (l *Ledger) append(ctx context.Context, g *hashtrail.AppendGroup) error {
	n := int64(len(g.Entries))
	if q := l.queued.Add(n); q > int64(l.cfg.MaxQueuedEvents) && q != n {
		l.queued.Add(-n)
		l.metrics.rejected.Inc()
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "ingest queue is full; retry later")
	}
	p := &pending{group: g, done: make(chan error, 1)}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		l.queued.Add(-n)
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "shutting down")
	}
	l.queue <- p
	l.mu.RUnlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// The commit may still happen; a retry with the same ids is idempotent.
		return ctx.Err()
	}
}

// commitLoop takes everything queued, up to MaxCommitEvents, and writes it in
// one store transaction, until the queue is closed and drained.
func (l *Ledger) commitLoop() {
	defer l.wg.Done()
	defer close(l.committed)
	var batch []*pending
	for first := range l.queue {
		batch = append(batch[:0], first)
		events := len(first.group.Entries)
	fill:
		for events < l.cfg.MaxCommitEvents {
			select {
			case p, ok := <-l.queue:
				if !ok {
					break fill
				}
				batch = append(batch, p)
				events += len(p.group.Entries)
			default:
				break fill
			}
		}
		l.commit(batch, events)
	}
}

func (l *Ledger) commit(batch []*pending, events int) {
	start := l.now()
	received := hashtrail.NewTime(start)
	groups := make([]*hashtrail.AppendGroup, len(batch))
	for i, p := range batch {
		groups[i] = p.group
		for _, e := range p.group.Entries {
			e.Event.ReceivedAt = received
			e.Event.ApplyDefaults(received)
		}
	}
	// The commit must not be abandoned half-way because one caller went
	// away: it has its own context.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err := l.store.Append(ctx, groups)
	cancel()
	l.queued.Add(-int64(events))
	l.metrics.commitSeconds.Observe(time.Since(start).Seconds())
	l.metrics.commitEvents.Observe(float64(events))
	if err != nil {
		l.log.Error("commit failed", "events", events, "groups", len(groups), "err", err)
		err = hashtrail.Errorf(hashtrail.EUNAVAILABLE, "the store could not commit; retry later")
	} else {
		l.markGrown(groups)
	}
	for _, p := range batch {
		perr := err
		if perr == nil {
			perr = p.group.Err
			if perr == nil {
				l.metrics.ingested.Add(float64(countNew(p.group)))
			}
		}
		p.done <- perr
	}
}

func countNew(g *hashtrail.AppendGroup) int {
	n := 0
	for _, e := range g.Entries {
		if !e.Replayed {
			n++
		}
	}
	return n
}
