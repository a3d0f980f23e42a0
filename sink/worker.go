package sink

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
)

// worker delivers one tenant's log to one sink.
type worker struct {
	d      *Dispatcher
	cfg    *hashtrail.SinkConfig
	tenant string
	lease  string
	filter *hashtrail.Query // nil sends every event
	batch  int
	max    int // failures in a row that pause the sink

	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	after  chan struct{} // the previous worker of this key, or nil
	done   chan struct{}

	sink     hashtrail.Sink
	renewAt  time.Time // when the lease must be renewed; zero: not held
	loaded   bool      // next, saved and the status come from the store
	next     int64     // the next seq to consider
	saved    int64     // the Next the store holds
	lastSave time.Time
	lagAt    time.Time            // when the log size was last read for the lag metric
	cursor   hashtrail.SinkCursor // status: LastDelivery, LastError, Failures

	// For the metrics, read by the collector at any time.
	active    atomic.Bool  // holds the lease and has loaded the cursor
	lagEvents atomic.Int64 // log size - next, as last seen
	oldest    atomic.Int64 // received_at (µs) of the oldest undelivered event seen; 0 when caught up
}

// errReload says that the cursor moved in the store (a replay, another
// node) or the lease was lost: the worker reads its position again.
var errReload = errors.New("sink: cursor moved")

// errStop says that the worker must stop: the dispatcher stops, or the
// sink was paused.
var errStop = errors.New("sink: stop")

func (d *Dispatcher) newWorker(s *hashtrail.SinkConfig, tenant string) (*worker, error) {
	w := &worker{
		d: d, cfg: s, tenant: tenant,
		lease: hashtrail.LeaseSink + s.ID + "/" + tenant,
		batch: d.cfg.Registry.batchSize(s),
		max:   s.MaxFailures,
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	if w.max <= 0 {
		w.max = d.cfg.MaxFailures
	}
	if s.Filter != "" {
		search, err := query.ParseField("filter", s.Filter)
		if err != nil {
			return nil, err
		}
		w.filter = &hashtrail.Query{}
		search.Apply(w.filter)
	}
	w.ctx, w.cancel = context.WithCancel(d.ctx)
	return w, nil
}

// poke wakes the worker if it waits for events; it never blocks.
func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) start() {
	defer w.d.wg.Done()
	defer close(w.done)
	if w.after != nil {
		select {
		case <-w.after:
		case <-w.ctx.Done():
			return
		}
	}
	w.run()
	w.stop()
}

func (w *worker) run() {
	ctx := w.ctx
	for ctx.Err() == nil {
		if !w.holdLease(ctx) {
			w.active.Store(false)
			w.loaded = false // another node may move the cursor meanwhile
			w.sleep(ctx, w.d.cfg.LeaseTTL/3, false)
			continue
		}
		if !w.loaded {
			if err := w.load(ctx); err != nil {
				if ctx.Err() == nil {
					w.d.log.Warn("sinks: reading a cursor", "sink", w.cfg.ID, "tenant", w.tenant, "err", err)
					w.sleep(ctx, w.d.cfg.PollInterval, false)
				}
				continue
			}
		}
		caughtUp, err := w.step(ctx)
		switch {
		case errors.Is(err, errStop):
			return
		case errors.Is(err, errReload):
			w.loaded = false
			continue
		case err != nil:
			if ctx.Err() == nil {
				w.d.log.Warn("sinks: reading the log", "sink", w.cfg.ID, "tenant", w.tenant, "err", err)
				w.sleep(ctx, w.d.cfg.PollInterval, false)
			}
			continue
		}
		if time.Since(w.lagAt) >= w.d.cfg.PollInterval {
			w.updateLag(ctx)
		}
		if caughtUp {
			w.lagEvents.Store(0)
			w.oldest.Store(0)
			if err := w.save(ctx); errors.Is(err, errReload) {
				w.loaded = false
				continue
			}
			w.sleep(ctx, w.d.cfg.PollInterval, true)
		}
	}
}

// stop saves the cursor, closes the sink and releases the lease, unless
// the dispatcher was killed (as by a crash).
func (w *worker) stop() {
	w.active.Store(false)
	if w.sink != nil {
		if err := w.sink.Close(); err != nil {
			w.d.log.Warn("sinks: closing a destination", "sink", w.cfg.ID, "err", err)
		}
	}
	if w.d.isKilled() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if w.loaded {
		_ = w.save(ctx)
	}
	if !w.renewAt.IsZero() {
		if err := w.d.cfg.Store.ReleaseLease(ctx, w.lease, w.d.cfg.Holder); err != nil {
			w.d.log.Warn("sinks: releasing a lease", "lease", w.lease, "err", err)
		}
	}
}

// holdLease takes or renews the worker's lease as needed and reports
// whether the worker holds it.
func (w *worker) holdLease(ctx context.Context) bool {
	now := time.Now()
	if !w.renewAt.IsZero() && now.Before(w.renewAt) {
		return true
	}
	got, err := w.d.cfg.Store.AcquireLease(ctx, w.lease, w.d.cfg.Holder, w.d.cfg.LeaseTTL)
	if err != nil && ctx.Err() == nil {
		w.d.log.Warn("sinks: taking a lease", "lease", w.lease, "err", err)
	}
	if err != nil || !got {
		w.renewAt = time.Time{}
		return false
	}
	w.renewAt = now.Add(w.d.cfg.LeaseTTL / 2)
	return true
}

// load reads the worker's cursor from the store.
func (w *worker) load(ctx context.Context) error {
	cs, err := w.d.cfg.Store.SinkCursors(ctx, w.cfg.ID)
	if err != nil {
		return err
	}
	w.cursor = hashtrail.SinkCursor{Sink: w.cfg.ID, Tenant: w.tenant}
	for _, c := range cs {
		if c.Tenant == w.tenant {
			w.cursor = *c
		}
	}
	w.next, w.saved = w.cursor.Next, w.cursor.Next
	w.lastSave = time.Now()
	w.loaded = true
	w.active.Store(true)
	w.oldest.Store(0)
	return nil
}

// save writes the cursor if it moved or its status changed, unless
// another writer moved it meanwhile (errReload).
func (w *worker) save(ctx context.Context) error {
	c := w.cursor
	c.Next = w.next
	err := w.d.cfg.Store.SetSinkCursor(ctx, &c, w.saved)
	switch {
	case hashtrail.ErrorCode(err) == hashtrail.ECONFLICT:
		return errReload
	case hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND:
		return errStop // the sink was deleted
	case err != nil:
		if ctx.Err() == nil {
			w.d.log.Warn("sinks: saving a cursor", "sink", w.cfg.ID, "tenant", w.tenant, "err", err)
		}
		return nil // kept in memory; saved next time
	}
	w.saved = w.next
	w.lastSave = time.Now()
	return nil
}

// step reads up to one batch of events after the cursor, delivers the
// ones the filter keeps, and moves the cursor past them. It reports
// whether it reached the end of the log.
func (w *worker) step(ctx context.Context) (caughtUp bool, err error) {
	var batch []*hashtrail.Event
	scanned := w.next
	for len(batch) < w.batch && !caughtUp {
		limit := min(hashtrail.MaxLimit, w.batch-len(batch))
		if w.filter != nil {
			limit = hashtrail.MaxLimit
		}
		q := &hashtrail.Query{Tenant: w.tenant, Order: hashtrail.OrderAsc, Limit: limit}
		if scanned > 0 {
			after := scanned - 1
			q.AfterSeq = &after
		}
		page, err := w.d.cfg.Store.Events(ctx, q)
		if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			page, err = nil, nil // no such tenant (yet)
		}
		if err != nil {
			return false, err
		}
		if len(page) > 0 && w.oldest.Load() == 0 {
			w.oldest.Store(page[0].ReceivedAt.Micros())
		}
		caughtUp = len(page) < limit
		for _, e := range page {
			if len(batch) == w.batch {
				caughtUp = false
				break
			}
			scanned = e.Seq + 1
			if w.filter == nil || w.filter.Match(e) {
				batch = append(batch, e)
			}
		}
	}
	if len(batch) > 0 {
		if err := w.deliver(ctx, batch); err != nil {
			return false, err
		}
		w.d.metrics.delivered.WithLabelValues(w.cfg.ID).Add(float64(len(batch)))
	}
	if scanned != w.next {
		w.next = scanned
		w.oldest.Store(0)
		if lag := w.lagEvents.Load() - int64(len(batch)); lag >= 0 {
			w.lagEvents.Store(lag)
		}
	}
	if time.Since(w.lastSave) >= w.d.cfg.CursorInterval {
		if err := w.save(ctx); err != nil {
			return false, err
		}
	}
	return caughtUp, nil
}

// deliver sends batch until the destination accepts it, backing off
// between tries. It returns errStop when the dispatcher stops or the sink
// is paused, and errReload when the cursor moved meanwhile or the lease was
// lost.
func (w *worker) deliver(ctx context.Context, batch []*hashtrail.Event) error {
	for {
		err := w.try(ctx, batch)
		if err == nil {
			w.cursor.Failures, w.cursor.LastError = 0, ""
			w.cursor.LastDelivery = hashtrail.NewTime(w.d.cfg.Now())
			return nil
		}
		if ctx.Err() != nil {
			return errStop
		}
		w.cursor.Failures++
		w.cursor.LastError = trimError(err)
		w.d.metrics.failures.WithLabelValues(w.cfg.ID).Inc()
		w.d.log.Warn("sinks: delivery failed", "sink", w.cfg.ID, "type", w.cfg.Type, "tenant", w.tenant,
			"events", len(batch), "failures", w.cursor.Failures, "err", w.cursor.LastError)
		if hashtrail.IsPermanent(err) || w.cursor.Failures >= w.max {
			reason := fmt.Sprintf("%d failed deliveries in a row; the last: %s", w.cursor.Failures, w.cursor.LastError)
			if hashtrail.IsPermanent(err) {
				reason = "the destination refused for good: " + w.cursor.LastError
			}
			return w.pause(ctx, reason)
		}
		if err := w.save(ctx); err != nil {
			return err
		}
		if !w.sleep(ctx, w.retryWait(w.cursor.Failures, err), false) {
			return errStop
		}
		if !w.holdLease(ctx) {
			return errReload
		}
	}
}

// try builds the sink if needed and delivers batch once.
func (w *worker) try(ctx context.Context, batch []*hashtrail.Event) error {
	if w.sink == nil {
		s, err := w.d.cfg.Registry[w.cfg.Type].New(w.cfg, w.d.cfg.Env)
		if err != nil {
			return err
		}
		w.sink = s
	}
	dctx, cancel := context.WithTimeout(ctx, w.d.cfg.DeliverTimeout)
	defer cancel()
	return w.sink.Deliver(dctx, batch)
}

// pause saves the cursor and pauses the sink with reason.
func (w *worker) pause(ctx context.Context, reason string) error {
	if err := w.save(ctx); errors.Is(err, errReload) {
		return err
	}
	s, err := w.d.cfg.Store.Sink(ctx, w.cfg.ID)
	if err == nil {
		if s.State != hashtrail.SinkActive {
			return errStop
		}
		s.State, s.PausedReason = hashtrail.SinkPaused, reason
		err = w.d.cfg.Store.UpdateSink(ctx, s)
	}
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return errStop
	}
	if err != nil {
		return err
	}
	w.d.log.Error("sinks: sink paused", "sink", w.cfg.ID, "type", w.cfg.Type, "tenant", w.tenant, "reason", reason)
	if w.d.cfg.Paused != nil {
		w.d.cfg.Paused(ctx, s, w.tenant, reason)
	}
	w.d.Changed()
	return errStop
}

// backoff is the wait before retry n (n >= 1): MinBackoff doubled n-1
// times, capped at MaxBackoff, between half and all of it (jitter).
func (w *worker) backoff(n int) time.Duration {
	d := w.d.cfg.MinBackoff
	for i := 1; i < n && d < w.d.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.d.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// retryWait is the wait before retry n after err: the backoff, or longer
// if the destination asked for longer (hashtrail.RetryAfter), up to
// MaxBackoff.
func (w *worker) retryWait(n int, err error) time.Duration {
	return max(w.backoff(n), min(hashtrail.RetryAfter(err), w.d.cfg.MaxBackoff))
}

// sleep waits for d, or, with wakeable, until poked; it reports false when
// the worker must stop.
func (w *worker) sleep(ctx context.Context, d time.Duration, wakeable bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var wake chan struct{}
	if wakeable {
		wake = w.wake
	}
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

// updateLag reads the log size for the lag metric.
func (w *worker) updateLag(ctx context.Context) {
	w.lagAt = time.Now()
	t, err := w.d.cfg.Store.Tenant(ctx, w.tenant)
	if err != nil {
		return
	}
	w.lagEvents.Store(max(0, t.Size-w.next))
	if t.Size <= w.next {
		w.oldest.Store(0)
	}
}

// trimError is err's text on one line, at most 500 bytes.
func trimError(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}
