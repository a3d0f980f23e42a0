package client

import (
	"errors"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// errGaveUp is why an event was lost when Close gave up without a spool.
var errGaveUp = errors.New("Close gave up before the event was sent")

// The sender is one goroutine, so events leave in the order they were
// queued. It works in one of two modes:
//
//   - memory: it takes a batch from the queue and sends it, retrying in
//     place; without a spool it keeps retrying (the queue fills meanwhile
//     and the full policy applies);
//   - spool: once a batch fails with a retryable answer and there is a
//     spool, the batch goes to the spool, and so does everything queued
//     after it, until the spool has been sent and is empty again.

// flushWait is a Flush caller waiting for the spool to be sent up to upto.
type flushWait struct {
	upto uint64
	w    *waiter
}

// senderState is what only the sender goroutine touches.
type senderState struct {
	carry     *pending // taken from the queue but left for the next batch
	timer     *time.Timer
	flushes   []flushWait
	spoolWait map[uint64]*waiter // RecordSync callers of spooled events
}

func (c *Client) run() {
	defer close(c.done)
	if c.cfg.discard {
		c.runDiscard()
		return
	}
	s := &senderState{timer: time.NewTimer(time.Hour), spoolWait: map[uint64]*waiter{}}
	s.timer.Stop()
	for {
		if c.spool != nil && c.spool.count() > 0 {
			if !c.drainSpool(s) {
				return
			}
			continue
		}
		ps, flush, ok := c.collect(s)
		if len(ps) > 0 && !c.deliverMemory(s, ps) {
			return
		}
		if flush != nil {
			c.flushed(s, flush)
		}
		if !ok && (c.spool == nil || c.spool.count() == 0) {
			return
		}
	}
}

// runDiscard takes entries and drops them unseen (WithDiscard, for
// benchmarks of Record alone).
func (c *Client) runDiscard() {
	for {
		select {
		case e := <-c.queue:
			c.discardEntry(e)
		case <-c.stop:
			for {
				select {
				case e := <-c.queue:
					c.discardEntry(e)
				default:
					return
				}
			}
		}
	}
}

func (c *Client) discardEntry(e entry) {
	switch {
	case e.flush != nil:
		e.flush.resolve(nil, nil)
	case e.wait != nil:
		e.wait.resolve([]hashtrail.Receipt{{ID: e.ev.ID}}, nil)
	}
}

// collect gathers the next batch: it waits for a first entry, then takes
// entries until the batch is full, the batch delay has passed or an entry
// asks to send now (RecordSync, Flush). It returns a Flush marker that ended
// the batch, if any, and ok=false once Close has asked to stop and the queue
// is empty.
func (c *Client) collect(s *senderState) (ps []*pending, flush *waiter, ok bool) {
	size := 0
	if s.carry != nil {
		ps, size, s.carry = append(ps, s.carry), len(s.carry.body), nil
	}
	stopping := false
	select {
	case <-c.stop:
		stopping = true
	default:
	}
	armed := false
	defer s.timer.Stop()
	for len(ps) < c.cfg.batchSize {
		var e entry
		switch {
		case stopping:
			select {
			case e = <-c.queue:
			default:
				return ps, nil, len(ps) > 0
			}
		case len(ps) == 0:
			select {
			case e = <-c.queue:
			case <-c.stop:
				stopping = true
				continue
			}
		default:
			if !armed {
				s.timer.Reset(c.cfg.batchDelay)
				armed = true
			}
			select {
			case e = <-c.queue:
			case <-s.timer.C:
				armed = false
				return ps, nil, true
			case <-c.stop:
				stopping = true
				continue
			}
		}
		if e.flush != nil {
			return ps, e.flush, true
		}
		p, err := c.encode(e)
		if err != nil {
			c.fail(p, 0, nil, err)
			continue
		}
		if size+len(p.body) > c.cfg.batchBytes && len(ps) > 0 {
			s.carry = p
			return ps, nil, true
		}
		ps, size = append(ps, p), size+len(p.body)
		if e.wait != nil {
			return ps, nil, true
		}
	}
	return ps, nil, true
}

// flushed answers a Flush marker that the sender reached: at once, or once
// the spool has been sent up to where it stands now.
func (c *Client) flushed(s *senderState, w *waiter) {
	if c.spool == nil || c.spool.count() == 0 {
		w.resolve(nil, nil)
		return
	}
	s.flushes = append(s.flushes, flushWait{upto: c.spool.tail(), w: w})
}

// deliverMemory sends a batch taken from the queue until every event is
// answered; with a spool, a retryable failure moves the batch to the spool
// instead. It returns false when Close gave up.
func (c *Client) deliverMemory(s *senderState, ps []*pending) bool {
	for attempt := 1; ; attempt++ {
		rest, why := c.attempt(c.runCtx, ps)
		if len(rest) == 0 {
			return true
		}
		if c.spool != nil {
			c.toSpool(s, rest)
			return true
		}
		if c.cfg.maxAttempts > 0 && attempt >= c.cfg.maxAttempts {
			for _, p := range rest {
				c.fail(p, why.status, nil, why.err)
			}
			return true
		}
		wait := c.backoff(attempt, why)
		c.retried.Add(uint64(len(rest)))
		c.report(retryError(attempt, len(rest), wait, why))
		if !c.sleep(s, wait, false) {
			c.giveUp(s, rest)
			return false
		}
		ps = rest
	}
}

// sleep waits d. In spool mode it moves what is queued into the spool
// meanwhile. It returns false if Close gave up.
func (c *Client) sleep(s *senderState, d time.Duration, spooling bool) bool {
	s.timer.Reset(d)
	defer s.timer.Stop()
	for {
		var q chan entry
		if spooling && !c.spool.full(c.cfg.spoolLimit) {
			q = c.queue
		}
		select {
		case <-s.timer.C:
			return true
		case <-c.abort:
			return false
		case e := <-q:
			c.topUp(s, &e)
		}
	}
}

// drainSpool sends the spool from its head until it is empty, moving what
// is queued into it meanwhile. It returns false if Close gave up.
func (c *Client) drainSpool(s *senderState) bool {
	attempt := 0
	for c.spool.count() > 0 {
		select {
		case <-c.abort:
			c.giveUp(s, nil)
			return false
		default:
		}
		c.topUp(s, nil)
		ps, err := c.spool.peek(c.cfg.batchSize, c.cfg.batchBytes)
		if err != nil {
			c.report(err)
			if !c.sleep(s, c.backoff(max(attempt, 1), nil), true) {
				c.giveUp(s, nil)
				return false
			}
			continue
		}
		for _, p := range ps {
			p.wait = s.spoolWait[p.num]
		}
		rest, why := c.attempt(c.runCtx, ps)
		if done := len(ps) - len(rest); done > 0 {
			for _, p := range ps[:done] {
				delete(s.spoolWait, p.num)
			}
			if err := c.spool.ack(done); err != nil {
				c.report(err)
			}
			attempt = 0
			c.resolveFlushes(s)
		}
		if len(rest) == 0 {
			continue
		}
		attempt++
		wait := c.backoff(attempt, why)
		c.retried.Add(uint64(len(rest)))
		c.report(retryError(attempt, len(rest), wait, why))
		if !c.sleep(s, wait, true) {
			c.giveUp(s, nil)
			return false
		}
	}
	c.resolveFlushes(s)
	return true
}

// resolveFlushes answers the Flush callers whose part of the spool is sent.
func (c *Client) resolveFlushes(s *senderState) {
	head := c.spool.head()
	kept := s.flushes[:0]
	for _, f := range s.flushes {
		if f.upto <= head {
			f.w.resolve(nil, nil)
		} else {
			kept = append(kept, f)
		}
	}
	s.flushes = kept
}

// topUp moves what is queued into the spool, starting with first if not
// nil, until the queue is empty or the spool is full.
func (c *Client) topUp(s *senderState, first *entry) {
	var ps []*pending
	take := func(e entry) {
		if e.flush != nil {
			c.toSpool(s, ps)
			ps = ps[:0]
			s.flushes = append(s.flushes, flushWait{upto: c.spool.tail(), w: e.flush})
			return
		}
		p, err := c.encode(e)
		if err != nil {
			c.fail(p, 0, nil, err)
			return
		}
		ps = append(ps, p)
		if len(ps) >= c.cfg.batchSize {
			c.toSpool(s, ps)
			ps = ps[:0]
		}
	}
	if s.carry != nil {
		ps = append(ps, s.carry)
		s.carry = nil
	}
	if first != nil {
		take(*first)
	}
	for !c.spool.full(c.cfg.spoolLimit) {
		select {
		case e := <-c.queue:
			take(e)
			continue
		default:
		}
		break
	}
	c.toSpool(s, ps)
}

// toSpool appends ps to the spool, remembering their RecordSync callers.
func (c *Client) toSpool(s *senderState, ps []*pending) {
	if len(ps) == 0 {
		return
	}
	bodies := make([][]byte, len(ps))
	for i, p := range ps {
		bodies[i] = p.body
	}
	first, err := c.spool.append(bodies)
	if err != nil {
		for _, p := range ps {
			c.fail(p, 0, nil, err)
		}
		return
	}
	c.spooled.Add(uint64(len(ps)))
	for i, p := range ps {
		if p.wait != nil {
			s.spoolWait[first+uint64(i)] = p.wait
		}
	}
}

// giveUp ends the sender when Close's context has ended: what was not sent
// goes to the spool, or is dropped and counted without one. Callers still
// waiting are told.
func (c *Client) giveUp(s *senderState, ps []*pending) {
	if s.carry != nil {
		ps = append([]*pending{s.carry}, ps...)
		s.carry = nil
	}
	var flushes []*waiter
	for {
		select {
		case e := <-c.queue:
			if e.flush != nil {
				flushes = append(flushes, e.flush)
				continue
			}
			p, err := c.encode(e)
			if err != nil {
				c.fail(p, 0, nil, err)
				continue
			}
			ps = append(ps, p)
			continue
		default:
		}
		break
	}
	if c.spool != nil {
		c.toSpool(s, ps)
	} else {
		for _, p := range ps {
			c.dropped.Add(1)
			c.lost.Add(1)
			ee := p.eventError(0, nil, errGaveUp)
			if p.wait != nil {
				p.wait.resolve(nil, ee)
			}
			c.report(ee)
		}
	}
	for _, w := range s.spoolWait {
		w.resolve(nil, ErrSpooled)
	}
	clear(s.spoolWait)
	for _, f := range s.flushes {
		flushes = append(flushes, f.w)
	}
	s.flushes = nil
	for _, w := range flushes {
		w.resolve(nil, ErrClosed)
	}
}
