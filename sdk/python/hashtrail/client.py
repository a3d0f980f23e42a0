"""The Hashtrail client: record audit events without slowing the app down.

``Client.record`` queues an event and returns at once; one background sender
thread batches, sends, retries and, with a spool, spools. It follows the Go
SDK (``client/``, docs/sdk.md): ids fixed before the first try, so a retry
never records an event twice; order kept; 429, 5xx and network errors retried
with exponential backoff, full jitter and ``Retry-After``; partial batches,
so valid events are written and rejected ones reach ``on_error``.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import functools
import logging
import os
import ssl
import threading
import time
import weakref
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Union

from . import context as _ctx
from .errors import APIError, ClientClosed, EventDropped, HashtrailError
from .sender import Flush, Pending, Sender, Waiter, wait_async
from .wire import Receipt, encode_event, format_time
from .spool import open_spool
from .transport import Transport, quote
from .ulid import ULID

log = logging.getLogger("hashtrail")

#: Most events in one request (the server's limit).
MAX_BATCH_EVENTS = 1000
#: Most encoded bytes in one request, a little under the server's 8 MiB.
MAX_BATCH_BYTES = 8 * 1024 * 1024 - 64


_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:  # pragma: no cover - runs at interpreter exit
    for c in list(_clients):
        try:
            c.close()
        except Exception:
            pass


def _after_fork_in_child() -> None:
    """A forked worker (gunicorn --preload, uWSGI, multiprocessing) inherits
    the client but not its sender thread: give each client a new one."""
    for c in list(_clients):
        c._restart_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Client(Sender):
    """Sends events to a Hashtrail server; safe for concurrent use.

    ``tenant`` names the tenant a tenant-scoped key writes to (events go to
    ``POST /v1/tenants/{tenant}/events``); without it the key is
    installation-wide and each event names its ``tenant`` (``POST
    /v1/events``). ``service`` (``{"name", "version", "environment",
    "host"}``) is stamped on events without one.

    Batching: up to ``batch_size`` events or ``batch_bytes`` bytes per
    request, waiting at most ``flush_interval`` seconds for a batch to fill.
    ``queue_size`` events wait in memory; when it is full, ``when_full``
    ``"block"`` waits up to ``block_timeout`` seconds for room, then drops,
    and ``"drop"`` drops at once (counted, reported to ``on_error``).

    Retries: 429, 5xx and network errors, forever (or ``max_attempts`` tries
    without a spool), waiting a random time in (0, min(max_backoff,
    min_backoff·2ⁿ⁻¹)] or the server's ``Retry-After`` (at most
    ``max_retry_after``). ``spool_path`` keeps what cannot be sent on disk
    (a SQLite file, or a directory to hold one) until it can, across
    restarts.

    ``on_error`` receives every event given up on (``APIError`` for a
    rejected one, ``EventDropped``), every failed try (``RetryError``) and
    spool errors, on the sender thread (the caller's for a drop); it must
    return quickly. ``trusted_proxies`` is kept for the framework
    integrations (``client_ip``). ``ssl_context`` and ``proxy`` configure
    the connection (see ``transport.Transport``; by default the environment's
    ``HTTPS_PROXY``/``NO_PROXY`` apply). The client closes itself at
    interpreter exit, waiting up to ``close_timeout`` seconds.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        tenant: Optional[str] = None,
        service: Optional[Mapping[str, Any]] = None,
        batch_size: int = 500,
        batch_bytes: int = 4 * 1024 * 1024,
        flush_interval: float = 0.2,
        queue_size: int = 10000,
        when_full: str = "block",
        block_timeout: float = 5.0,
        spool_path: Optional[str] = None,
        spool_limit: Optional[int] = None,
        on_error: Optional[Callable[[HashtrailError], None]] = None,
        timeout: float = 10.0,
        min_backoff: float = 0.1,
        max_backoff: float = 30.0,
        max_retry_after: float = 300.0,
        max_attempts: int = 0,
        close_timeout: float = 10.0,
        trusted_proxies: Sequence[Any] = (),
        ssl_context: Optional[ssl.SSLContext] = None,
        proxy: Optional[str] = None,
    ) -> None:
        if when_full not in ("block", "drop"):
            raise ValueError('hashtrail: when_full must be "block" or "drop"')
        if tenant is not None and not tenant:
            raise ValueError("hashtrail: tenant must not be empty")
        self.transport = Transport(url, api_key, timeout=timeout, ssl_context=ssl_context, proxy=proxy)
        self.url = self.transport.base_url
        self.tenant = tenant
        self.service = dict(service) if service else None
        self.batch_size = max(1, min(batch_size, MAX_BATCH_EVENTS))
        self.batch_bytes = max(1, min(batch_bytes, MAX_BATCH_BYTES))
        self.flush_interval = max(0.0, flush_interval)
        self.queue_size = max(1, queue_size)
        self.when_full = when_full
        self.block_timeout = block_timeout
        self.on_error = on_error
        self.min_backoff = max(min_backoff, 0.001)
        self.max_backoff = max(max_backoff, self.min_backoff)
        self.max_retry_after = max_retry_after
        self.max_attempts = max_attempts
        self.close_timeout = close_timeout
        self.spool_limit = spool_limit
        self.trusted_proxies = _ctx.parse_networks(trusted_proxies)
        if tenant:
            self.endpoint = "/v1/tenants/%s/events" % quote(tenant)
        else:
            self.endpoint = "/v1/events"
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._queue: Deque[Union[Pending, Flush]] = collections.deque()
        self._queued = 0  # events (not flush markers) in _queue
        self._closed = False
        self._stopping = False
        self._abort = threading.Event()
        self._counters = {"sent": 0, "retried": 0, "spooled": 0, "dropped": 0, "failed": 0}
        self._lost = 0
        self.spool = open_spool(spool_path)
        self._thread = threading.Thread(target=self._run, name="hashtrail-sender", daemon=True)
        self._thread.start()
        _clients.add(self)

    def _restart_after_fork(self) -> None:
        """In a forked child: fresh locks, an empty queue (what the parent
        queued is the parent's to send), new connections and a new sender.
        The spool stays with the parent (one spool, one client); the child
        runs without one."""
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._queue = collections.deque()
        self._queued = 0
        self._abort = threading.Event()
        self._counters = {k: 0 for k in self._counters}
        self._lost = 0
        if self.spool is not None:
            log.warning("hashtrail: a forked process does not share the spool %s; it runs without one",
                        self.spool.path)
            self.spool = None
        self.transport.reset_after_fork()
        if self._closed:
            return
        self._thread = threading.Thread(target=self._run, name="hashtrail-sender", daemon=True)
        self._thread.start()

    # ---- recording -------------------------------------------------------

    def record(self, event: Mapping[str, Any]) -> bool:
        """Queue ``event`` (a dict shaped as the wire event) and return at
        once. The event is copied and encoded now: later changes to it do
        not matter. It gets an ``id`` (a ULID) unless it has one, ``time``
        (now), the current actor and context fields it lacks
        (``hashtrail.set_actor``, ``request_context``) and ``service``.

        It never raises: a problem (no tenant, not JSON-encodable, closed,
        queue full) reaches ``on_error`` and the log, and it returns False.
        """
        try:
            p = self._prepare(event, None)
        except HashtrailError as e:
            self._count("dropped")
            self._report(e)
            return False
        except Exception as e:  # never raise into the app
            self._count("dropped")
            self._report(EventDropped("invalid", str(e), action=_action(event), cause=e))
            return False
        return self._enqueue(p, self.when_full == "block" and self.block_timeout > 0, self.block_timeout)

    def record_fan_out(self, tenants: Sequence[str], event: Mapping[str, Any]) -> bool:
        """Queue one action to be recorded in each of ``tenants`` (``POST
        /v1/events`` with ``"tenants"``): one id, one receipt per tenant.
        Needs an installation-wide key (a client without ``tenant``). Never
        raises, like ``record``."""
        try:
            p = self._prepare(event, list(tenants))
        except HashtrailError as e:
            self._count("dropped")
            self._report(e)
            return False
        except Exception as e:
            self._count("dropped")
            self._report(EventDropped("invalid", str(e), action=_action(event), cause=e))
            return False
        return self._enqueue(p, self.when_full == "block" and self.block_timeout > 0, self.block_timeout)

    def record_sync(self, event: Mapping[str, Any], timeout: Optional[float] = None) -> Receipt:
        """Record ``event`` and wait until the server has made it durable.

        It goes through the same queue as ``record`` (so it keeps the order
        of earlier events) but is sent at once. Raises ``APIError`` when the
        server rejects it (``status``, ``problem``, ``fields``),
        ``EventDropped`` when it cannot be sent, ``Spooled`` when the client
        closed while it waited in the spool, ``ClientClosed``, and
        ``TimeoutError`` when ``timeout`` seconds pass first (the event may
        still be recorded later, under its id).
        """
        rs = self._sync(self._prepare(event, None), timeout)
        if not rs:
            raise HashtrailError("hashtrail: the server answered no receipt for the event")
        return rs[0]

    def record_fan_out_sync(self, tenants: Sequence[str], event: Mapping[str, Any],
                            timeout: Optional[float] = None) -> List[Receipt]:
        """``record_fan_out`` that waits like ``record_sync``; one receipt
        per tenant."""
        return self._sync(self._prepare(event, list(tenants)), timeout)

    def _sync(self, p: Pending, timeout: Optional[float]) -> List[Receipt]:
        deadline = None if timeout is None else time.monotonic() + timeout
        p.waiter = Waiter()
        if not self._enqueue(p, True, timeout, wait_forever=timeout is None, raise_errors=True):
            raise TimeoutError("hashtrail: no room in the queue before the timeout")
        left = None if deadline is None else max(deadline - time.monotonic(), 0)
        if not p.waiter.done.wait(left):
            raise TimeoutError("hashtrail: event %s not answered within %ss (it may still be recorded)"
                               % (p.event_id, timeout))
        if p.waiter.error is not None:
            raise p.waiter.error
        return [Receipt.from_answer(r) for r in p.waiter.receipts]

    async def arecord_sync(self, event: Mapping[str, Any], timeout: Optional[float] = None) -> Receipt:
        """``record_sync`` for asyncio code: waits without blocking the event
        loop. Raises like ``record_sync`` (``TimeoutError`` after
        ``timeout`` seconds)."""
        rs = await self._async_sync(self._prepare(event, None), timeout)
        if not rs:
            raise HashtrailError("hashtrail: the server answered no receipt for the event")
        return rs[0]

    async def arecord_fan_out_sync(self, tenants: Sequence[str], event: Mapping[str, Any],
                                   timeout: Optional[float] = None) -> List[Receipt]:
        """``record_fan_out_sync`` for asyncio code."""
        return await self._async_sync(self._prepare(event, list(tenants)), timeout)

    async def aflush(self, timeout: Optional[float] = None) -> bool:
        """``flush`` for asyncio code."""
        f = Flush(Waiter())
        with self._lock:
            if self._closed:
                return self._queued == 0 and (self.spool is None or self.spool.count() == 0)
            self._queue.append(f)
            self._not_empty.notify()
        try:
            await wait_async(f.waiter, timeout)
        except TimeoutError:
            return False
        return f.waiter.error is None

    async def _async_sync(self, p: Pending, timeout: Optional[float]) -> List[Receipt]:
        deadline = None if timeout is None else time.monotonic() + timeout
        p.waiter = Waiter()
        if not self._enqueue(p, False, 0, raise_errors=True):
            # The queue is full: wait for room on a worker thread, not the loop.
            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(None, functools.partial(
                self._enqueue, p, True, timeout, wait_forever=timeout is None, raise_errors=True))
            if not ok:
                raise TimeoutError("hashtrail: no room in the queue before the timeout")
        left = None if deadline is None else max(deadline - time.monotonic(), 0)
        try:
            await wait_async(p.waiter, left)
        except TimeoutError:
            raise TimeoutError("hashtrail: event %s not answered within %ss (it may still be recorded)"
                               % (p.event_id, timeout)) from None
        if p.waiter.error is not None:
            raise p.waiter.error
        return [Receipt.from_answer(r) for r in p.waiter.receipts]

    def prepare(self, event: Mapping[str, Any], tenants: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        """The event as it would be sent: a copy with id, time, service,
        actor and context filled, its tenant checked (``EventDropped``
        otherwise). The outbox stores this form."""
        ev, _ = self._fill(event, list(tenants) if tenants is not None else None)
        return ev

    def _fill(self, event: Mapping[str, Any], tenants: Optional[List[str]]) -> "tuple[Dict[str, Any], Optional[str]]":
        if not isinstance(event, Mapping):
            raise EventDropped("invalid", "an event is a dict, not %s" % type(event).__name__)
        ev = dict(event)
        tenant = ev.get("tenant") or None
        if tenants is not None:
            if self.tenant:
                raise EventDropped("no_tenant", "fan-out needs an installation-wide key (a client without tenant)",
                                   action=_action(ev))
            if not tenants or tenant or ev.get("tenants"):
                raise EventDropped("no_tenant", "fan-out names one or more tenants and an event without tenant",
                                   action=_action(ev))
            ev["tenants"] = list(tenants)
        elif (self.tenant is None and not tenant and not ev.get("tenants")) or (
                self.tenant is not None and tenant is not None and tenant != self.tenant):
            raise EventDropped("no_tenant", "the event must name its tenant (installation-wide key) "
                               "or match the client's tenant %r" % self.tenant, action=_action(ev),
                               event_id=ev.get("id"))
        if not ev.get("id"):
            ev["id"] = ULID()
        t = ev.get("time")
        if not t:
            ev["time"] = format_time(time.time())
        elif not isinstance(t, str):
            ev["time"] = format_time(t)
        if not ev.get("service") and self.service:
            ev["service"] = dict(self.service)
        _ctx.fill_event(ev)
        return ev, tenant or self.tenant

    def _prepare(self, event: Mapping[str, Any], tenants: Optional[List[str]]) -> Pending:
        ev, tenant = self._fill(event, tenants)
        body = encode_event(ev)
        return Pending(body=body, event_id=str(ev["id"]), tenant=tenant, tenants=tenants,
                       action=_action(ev))

    def _enqueue(self, p: Pending, block: bool, timeout: Optional[float], *,
                 wait_forever: bool = False, raise_errors: bool = False) -> bool:
        with self._lock:
            if self._closed:
                err: HashtrailError = ClientClosed("hashtrail: the client is closed")
                if raise_errors:
                    raise err
                self._counters["dropped"] += 1
                drop = EventDropped("closed", "the client is closed", event_id=p.event_id,
                                    tenant=p.tenant, action=p.action)
            else:
                if self._queued >= self.queue_size and block:
                    deadline = None if wait_forever else time.monotonic() + (timeout or 0)
                    while self._queued >= self.queue_size and not self._closed:
                        left = None if deadline is None else deadline - time.monotonic()
                        if left is not None and left <= 0:
                            break
                        self._not_full.wait(left)
                    if self._closed and raise_errors:
                        raise ClientClosed("hashtrail: the client is closed")
                if self._queued < self.queue_size and not self._closed:
                    self._queue.append(p)
                    self._queued += 1
                    self._not_empty.notify()
                    return True
                if raise_errors:
                    return False
                self._counters["dropped"] += 1
                if self._closed:
                    drop = EventDropped("closed", "the client closed while the event waited for room",
                                        event_id=p.event_id, tenant=p.tenant, action=p.action)
                else:
                    drop = EventDropped("queue_full", "the queue is full", event_id=p.event_id,
                                        tenant=p.tenant, action=p.action)
        self._report(drop)
        return False

    # ---- flush, close, stats -------------------------------------------

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Wait until every event recorded before the call has been answered
        by the server (sent or rejected), spool included. Returns False when
        ``timeout`` seconds passed first or the client closed."""
        f = Flush(Waiter())
        with self._lock:
            if self._closed:
                return self._queued == 0 and (self.spool is None or self.spool.count() == 0)
            self._queue.append(f)
            self._not_empty.notify()
        if not f.waiter.done.wait(timeout):
            return False
        return f.waiter.error is None

    def close(self, timeout: Optional[float] = None) -> bool:
        """Stop accepting events, send what is queued and stop the sender.

        Waits up to ``timeout`` seconds (``close_timeout`` when None); then
        gives up: with a spool, what was not sent is spooled for the next
        client; without one it is dropped, counted and reported. Returns True
        when nothing was lost. Calling it again does nothing."""
        with self._lock:
            if self._closed:
                return True
            self._closed = True
            self._stopping = True
            self._not_empty.notify_all()
            self._not_full.notify_all()
        self._thread.join(self.close_timeout if timeout is None else timeout)
        if self._thread.is_alive():
            self._abort.set()
            with self._lock:
                self._not_empty.notify_all()
            self.transport.abort()  # a request in flight ends now
            self._thread.join()
        if self.spool is not None:
            self.spool.close()
        self.transport.close()
        _clients.discard(self)
        return self._lost == 0

    def stats(self) -> Dict[str, int]:
        """Counters since the client started: ``sent``, ``retried`` (events
        sent again), ``spooled``, ``dropped``, ``failed`` (rejected or
        unsendable), plus ``queued``, ``spool_events``, ``spool_bytes``."""
        with self._lock:
            s = dict(self._counters)
            s["queued"] = self._queued
        s["spool_events"] = self.spool.count() if self.spool else 0
        s["spool_bytes"] = self.spool.size() if self.spool else 0
        return s

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counters[name] += n

    def _report(self, err: BaseException) -> None:
        if isinstance(err, APIError):
            log.warning("hashtrail: event %s (%s) rejected: %s %s %s", err.event_id, err.action, err.status,
                        err.code, "; ".join("%s %s" % (f.get("field"), f.get("message")) for f in err.fields))
        else:
            log.warning("%s", err)
        if self.on_error is not None:
            try:
                self.on_error(err)  # type: ignore[arg-type]
            except Exception:
                log.exception("hashtrail: the on_error handler raised")


def _action(ev: Any) -> Optional[str]:
    try:
        a = ev.get("action")
        return str(a) if a is not None else None
    except Exception:
        return None
