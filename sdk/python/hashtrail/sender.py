"""The background sender of ``hashtrail.Client``: one thread, so events
leave in the order they were queued.

It works in one of two modes. In memory, it takes a batch from the queue and
sends it, retrying in place (without a spool the queue fills meanwhile and
the full policy applies). With a spool, a batch that fails with a retryable
answer goes to the spool, and so does everything queued behind it, until
the spool has been sent from its head, in order, and is empty again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, Union

from .errors import APIError, EventDropped, HashtrailError, RetryError, Spooled, SpoolError
from .spool import Spool
from .transport import NetworkError, Transport, split_answer

_SPLITTABLE = (400, 409, 413, 422)


class Waiter:
    """What a ``record_sync`` or ``flush`` caller waits for: a thread on
    ``done``, or a coroutine through a callback."""

    __slots__ = ("done", "receipts", "error", "_callbacks", "_lock")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.receipts: List[Dict[str, Any]] = []
        self.error: Optional[BaseException] = None
        self._callbacks: List[Callable[[], None]] = []
        self._lock = threading.Lock()

    def resolve(self, receipts: Optional[List[Dict[str, Any]]] = None, error: Optional[BaseException] = None) -> None:
        with self._lock:
            if self.done.is_set():
                return
            self.receipts, self.error = list(receipts or []), error
            self.done.set()
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            _call(cb)

    def add_callback(self, cb: Callable[[], None]) -> None:
        """Call cb once resolved (at once if it is): on the resolving
        thread, so it must be quick."""
        with self._lock:
            if not self.done.is_set():
                self._callbacks.append(cb)
                return
        _call(cb)


def _call(cb: Callable[[], None]) -> None:
    try:
        cb()
    except Exception:  # a waiter gone (its event loop closed) must not stop the sender
        pass


async def wait_async(w: Waiter, timeout: Optional[float]) -> None:
    """Wait for w in the running event loop; TimeoutError after timeout."""
    loop = asyncio.get_running_loop()
    fut: "asyncio.Future[None]" = loop.create_future()

    def done() -> None:
        loop.call_soon_threadsafe(_settle, fut)
    w.add_callback(done)
    try:
        await asyncio.wait_for(fut, timeout)
    except asyncio.TimeoutError:  # a builtin TimeoutError only from 3.11 on
        raise TimeoutError() from None


def _settle(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


class Pending:
    """One encoded event on its way: its bytes never change between tries."""

    __slots__ = ("body", "event_id", "tenant", "tenants", "action", "waiter", "num")

    def __init__(self, body: bytes, event_id: str, tenant: Optional[str], tenants: Optional[List[str]],
                 action: Optional[str], waiter: Optional[Waiter] = None, num: int = 0) -> None:
        self.body = body
        self.event_id = event_id
        self.tenant = tenant
        self.tenants = tenants
        self.action = action
        self.waiter = waiter
        self.num = num  # its number in the spool, when it came from there


class Flush:
    """A flush marker in the queue."""

    __slots__ = ("waiter",)

    def __init__(self, waiter: Waiter) -> None:
        self.waiter = waiter


class _Why:
    """Why a try left events to retry."""

    __slots__ = ("status", "retry_after", "cause")

    def __init__(self, status: int, retry_after: float, cause: Optional[BaseException]) -> None:
        self.status, self.retry_after, self.cause = status, retry_after, cause


class Sender:
    """The sender's half of Client (a mixin over the client's state)."""

    spool: Optional[Spool]
    transport: Transport
    endpoint: str
    batch_size: int
    batch_bytes: int
    flush_interval: float
    spool_limit: Optional[int]
    max_attempts: int
    min_backoff: float
    max_backoff: float
    max_retry_after: float
    _lock: threading.Lock
    _not_empty: threading.Condition
    _not_full: threading.Condition
    _queue: Deque[Union[Pending, Flush]]
    _queued: int
    _stopping: bool
    _abort: threading.Event
    _lost: int
    _carry: Optional[Pending]
    _flushes: List[Tuple[int, Waiter]]
    _spool_wait: Dict[int, Waiter]

    def _count(self, name: str, n: int = 1) -> None:
        raise NotImplementedError

    def _report(self, err: BaseException) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        self._carry = None
        self._flushes = []
        self._spool_wait = {}
        while True:
            try:
                if self._step():
                    continue
                return
            except Exception as e:  # a bug must neither kill the sender nor spin
                logging.getLogger("hashtrail").exception("hashtrail: unexpected error in the sender")
                self._report(HashtrailError("hashtrail: unexpected error in the sender: %r" % (e,)))
                if self._abort.wait(1.0) or (self._stopping and not self._queue):
                    self._give_up([])
                    return

    def _step(self) -> bool:
        """One round of the sender; False when it is done."""
        if self._abort.is_set():  # close ran out of time: no more requests
            self._give_up([])
            return False
        if self.spool is not None and self.spool.count() > 0:
            return self._drain_spool()
        batch, flush, more = self._collect()
        if self._abort.is_set():
            if flush is not None:
                with self._lock:
                    self._queue.appendleft(Flush(flush))
            self._give_up(batch)
            return False
        if batch and not self._deliver_memory(batch):
            return False
        if flush is not None:
            self._flushed(flush)
        return more or (self.spool is not None and self.spool.count() > 0)

    def _take(self) -> Union[Pending, Flush]:
        """Pop the queue's head (the lock is held)."""
        e = self._queue.popleft()
        if isinstance(e, Pending):
            self._queued -= 1
            self._not_full.notify()
        return e

    def _collect(self) -> Tuple[List[Pending], Optional[Waiter], bool]:
        """The next batch: wait for a first event, then take events until
        the batch is full, flush_interval has passed or an entry asks to
        send now (record_sync, flush). Returns the batch, a flush marker that
        ended it, and False once close asked to stop and the queue is empty."""
        ps: List[Pending] = []
        size = 0
        if self._carry is not None:
            ps, size, self._carry = [self._carry], len(self._carry.body), None
        deadline: Optional[float] = time.monotonic() + self.flush_interval if ps else None
        with self._lock:
            while len(ps) < self.batch_size and not self._abort.is_set():
                if not self._queue:
                    if self._stopping or self._abort.is_set():
                        return ps, None, bool(ps) or bool(self._queue)
                    if deadline is None:
                        self._not_empty.wait()
                        continue
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return ps, None, True
                    self._not_empty.wait(left)
                    continue
                e = self._take()
                if isinstance(e, Flush):
                    return ps, e.waiter, True
                if size + len(e.body) > self.batch_bytes and ps:
                    self._carry = e
                    return ps, None, True
                ps.append(e)
                size += len(e.body)
                if deadline is None:
                    deadline = time.monotonic() + self.flush_interval
                if e.waiter is not None:
                    return ps, None, True
        return ps, None, True

    def _flushed(self, w: Waiter) -> None:
        if self.spool is None or self.spool.count() == 0:
            w.resolve()
        else:
            self._flushes.append((self.spool.tail(), w))

    def _deliver_memory(self, ps: List[Pending]) -> bool:
        """Send a batch taken from the queue until every event is answered;
        with a spool, a retryable failure moves it to the spool. Returns
        False when close gave up."""
        attempt = 0
        while True:
            attempt += 1
            rest, why = self._attempt(ps)
            if not rest:
                return True
            assert why is not None
            if self.spool is not None:
                self._to_spool(rest)
                return True
            if self.max_attempts > 0 and attempt >= self.max_attempts:
                for p in rest:
                    self._fail(p, EventDropped("max_attempts", "gave up after %d tries: %s" % (attempt, why.cause),
                                               event_id=p.event_id, tenant=p.tenant, action=p.action))
                return True
            wait = self._backoff(attempt, why)
            self._count("retried", len(rest))
            self._report(RetryError(attempt, len(rest), why.status, wait, why.cause))
            if not self._sleep(wait, False):
                self._give_up(rest)
                return False
            ps = rest

    def _sleep(self, d: float, spooling: bool) -> bool:
        """Wait d seconds; with a spool, move what is queued into it
        meanwhile. Returns False if close gave up."""
        deadline = time.monotonic() + d
        while True:
            if self._abort.is_set():
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            if spooling and self._queue and not self._spool_full():
                self._top_up()
                continue
            with self._lock:
                if self._abort.is_set() or (spooling and self._queue and not self._spool_full()):
                    continue
                self._not_empty.wait(left)

    def _spool_full(self) -> bool:
        return self.spool is not None and self.spool_limit is not None and self.spool.size() >= self.spool_limit

    def _drain_spool(self) -> bool:
        """Send the spool from its head until it is empty, moving what is
        queued into it meanwhile. Returns False if close gave up."""
        assert self.spool is not None
        attempt = 0
        while self.spool.count() > 0:
            if self._abort.is_set():
                self._give_up([])
                return False
            self._top_up()
            try:
                rows = self.spool.peek(self.batch_size, self.batch_bytes)
            except SpoolError as e:
                self._report(e)
                attempt += 1
                if not self._sleep(self._backoff(attempt, None), True):
                    self._give_up([])
                    return False
                continue
            ps = []
            for num, body in rows:
                ps.append(Pending(body, "", None, None, None, waiter=self._spool_wait.get(num), num=num))
            _describe(ps)
            rest, why = self._attempt(ps)
            done = len(ps) - len(rest)
            if done > 0:
                for p in ps[:done]:
                    self._spool_wait.pop(p.num, None)
                try:
                    self.spool.ack(ps[done - 1].num)
                except SpoolError as e:
                    self._report(e)
                attempt = 0
                self._resolve_flushes()
            if not rest:
                continue
            assert why is not None
            attempt += 1
            wait = self._backoff(attempt, why)
            self._count("retried", len(rest))
            self._report(RetryError(attempt, len(rest), why.status, wait, why.cause))
            if not self._sleep(wait, True):
                self._give_up([])
                return False
        self._resolve_flushes()
        return True

    def _resolve_flushes(self) -> None:
        assert self.spool is not None
        head_done = self.spool.count() == 0
        first = None if head_done else self.spool.peek(1, 1 << 30)
        head = first[0][0] if first else None
        kept = []
        for upto, w in self._flushes:
            if head is None or upto < head:
                w.resolve()
            else:
                kept.append((upto, w))
        self._flushes = kept

    def _top_up(self) -> None:
        """Move what is queued into the spool, until the queue is empty or
        the spool is full."""
        ps: List[Pending] = []
        if self._carry is not None:
            ps.append(self._carry)
            self._carry = None
        while not self._spool_full():
            with self._lock:
                if not self._queue:
                    break
                e = self._take()
            if isinstance(e, Flush):
                self._to_spool(ps)
                ps = []
                assert self.spool is not None
                self._flushes.append((self.spool.tail(), e.waiter))
                continue
            ps.append(e)
            if len(ps) >= self.batch_size:
                self._to_spool(ps)
                ps = []
        self._to_spool(ps)

    def _to_spool(self, ps: List[Pending]) -> None:
        if not ps:
            return
        assert self.spool is not None
        try:
            nums = self.spool.append([p.body for p in ps])
        except SpoolError as e:
            for p in ps:
                self._fail(p, e)
            return
        self._count("spooled", len(ps))
        for p, n in zip(ps, nums):
            if p.waiter is not None:
                self._spool_wait[n] = p.waiter

    def _give_up(self, ps: List[Pending]) -> None:
        """End the sender when close ran out of time: what was not sent is
        spooled, or dropped and counted without a spool. Waiting callers are
        told."""
        if self._carry is not None:
            ps = [self._carry] + ps
            self._carry = None
        flushes: List[Waiter] = []
        with self._lock:
            while self._queue:
                e = self._take()
                if isinstance(e, Flush):
                    flushes.append(e.waiter)
                else:
                    ps.append(e)
        if self.spool is not None:
            self._to_spool(ps)
        else:
            for p in ps:
                self._count("dropped")
                self._lost += 1
                err = EventDropped("gave_up", "close gave up before the event was sent",
                                   event_id=p.event_id, tenant=p.tenant, action=p.action)
                if p.waiter is not None:
                    p.waiter.resolve(None, err)
                self._report(err)
        for w in self._spool_wait.values():
            w.resolve(None, Spooled("hashtrail: the client closed while the event waited in the spool"))
        self._spool_wait.clear()
        flushes.extend(w for _, w in self._flushes)
        self._flushes = []
        for w in flushes:
            w.resolve(None, EventDropped("closed", "the client closed before the flush completed"))

    # ---- one try ---------------------------------------------------------

    def _attempt(self, ps: List[Pending]) -> Tuple[List[Pending], Optional[_Why]]:
        """Send ps once (splitting the batch when one event makes the server
        refuse the whole request) and settle every event the server answered
        for. Returns the suffix still to send, and why."""
        body = b'{"events":[' + b",".join(p.body for p in ps) + b"]}"
        try:
            r = self.transport.request("POST", self.endpoint, params={"partial": "true"}, body=body)
        except NetworkError as e:
            return ps, _Why(0, 0.0, e)
        if r.status == 200:
            try:
                receipts, rejected = split_answer(r.json())
            except (ValueError, TypeError, AttributeError) as e:
                # A garbled answer: the events may be durable; resending the
                # same bytes is answered with the original receipts.
                return ps, _Why(0, 0.0, e)
            self._resolve_answer(ps, receipts, rejected)
            return [], None
        if r.status == 429 or r.status >= 500:
            return ps, _Why(r.status, r.retry_after(), r.error())
        if len(ps) > 1 and r.status in _SPLITTABLE:
            half = len(ps) // 2
            rest, why = self._attempt(ps[:half])
            if rest:
                return rest + ps[half:], why
            return self._attempt(ps[half:])
        problem = r.problem()
        for p in ps:
            self._fail(p, APIError(r.status, problem, event_id=p.event_id, tenant=p.tenant,
                                   tenants=p.tenants, action=p.action))
        return [], None

    def _resolve_answer(self, ps: List[Pending], receipts: Dict[int, List[Dict[str, Any]]],
                        rejected: Dict[int, List[Dict[str, str]]]) -> None:
        for i, p in enumerate(ps):
            if receipts.get(i):
                self._count("sent")
                if p.waiter is not None:
                    p.waiter.resolve(receipts[i])
            elif i in rejected:
                self._fail(p, APIError(400, {"status": 400, "code": "invalid", "title": "Bad Request",
                                             "detail": "the server rejected the event", "errors": rejected[i]},
                                       event_id=p.event_id, tenant=p.tenant, tenants=p.tenants, action=p.action))
            else:
                self._fail(p, EventDropped("invalid", "the server's answer has no receipt for the event",
                                           event_id=p.event_id, tenant=p.tenant, action=p.action))

    def _fail(self, p: Pending, err: BaseException) -> None:
        self._count("failed")
        if p.waiter is not None:
            p.waiter.resolve(None, err)
        self._report(err)

    def _backoff(self, attempt: int, why: Optional[_Why]) -> float:
        """Full jitter over an exponentially growing cap, or Retry-After
        when longer (capped by max_retry_after)."""
        ceiling = min(self.min_backoff * (2 ** min(max(attempt - 1, 0), 40)), self.max_backoff)
        wait = random.uniform(0, ceiling) or ceiling
        if why is not None and why.retry_after > wait:
            wait = min(why.retry_after, self.max_retry_after)
        return wait


def _describe(ps: List[Pending]) -> None:
    """Recover id, tenant and action of spooled events for error reports."""
    import json

    for p in ps:
        try:
            ev = json.loads(p.body)
        except ValueError:
            continue
        p.event_id = str(ev.get("id", ""))
        p.tenant = ev.get("tenant")
        p.tenants = ev.get("tenants")
        p.action = ev.get("action")
