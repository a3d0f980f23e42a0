"""SQLAlchemy integration: record events only when the app's transaction
commits (seeds 001 and 002), and an outbox for exactly-once delivery with the
app's own database.

``record_after_commit(session, client, event)`` keeps the event on the
session; the session's ``after_commit`` hook records it (``client.record``),
and a rollback drops it. A SAVEPOINT (``session.begin_nested()``) that rolls
back drops the events recorded inside it; one that is released hands them to
its parent. The event's id, time, actor and context are fixed when it is
recorded, so they describe the request that made the change.

``Outbox`` goes further: the event is written into a table of the app's own
database in the app's transaction, and a relay sends committed rows and
deletes them, so an event exists exactly when its change committed, even if
the process dies between the commit and the send.

Works with SQLAlchemy 1.4 and 2.0.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, event, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session

from .client import Client
from .diff import diff, is_secret_name
from .wire import encode_event
from .errors import HashtrailError, RetryError
from .sender import Pending, Waiter

log = logging.getLogger("hashtrail")

_PENDING = "hashtrail_pending"
_HOOKED = "hashtrail_hooked"
_CLIENT = "hashtrail_client"
_OUTCOME = "hashtrail_outcome"


def _current_transaction(session: Any) -> Any:
    """The innermost transaction of the session, or None before it begins."""
    nested = session.get_nested_transaction()
    return nested if nested is not None else session.get_transaction()


def record_after_commit(session: Any, client: Optional[Client], event: Mapping[str, Any]) -> None:
    """Record ``event`` with ``client`` once the session's transaction
    commits; drop it if it rolls back. ``client`` None uses the one given
    to ``install``. Never raises for a bad event: it reaches the client's
    ``on_error`` at commit."""
    session = _resolve(session)
    if client is None:
        client = session.info.get(_CLIENT)
        if client is None:
            raise ValueError("hashtrail.sqlalchemy: no client (pass one, or call install(factory, client))")
    _hook(session)
    try:
        ev: Mapping[str, Any] = client.prepare(event)
    except HashtrailError:
        ev = dict(event)  # record() reports the problem at commit
    session.info.setdefault(_PENDING, []).append((_current_transaction(session), client, ev))


def pending_events(session: Any) -> List[Dict[str, Any]]:
    """The events waiting for the session's commit (for tests and debugging)."""
    return [dict(ev) for _, _, ev in _resolve(session).info.get(_PENDING, [])]


def _resolve(session: Any) -> Any:
    """The current Session of a scoped_session (Flask-SQLAlchemy's
    ``db.session``), or session itself."""
    if hasattr(session, "registry") and callable(session) and not hasattr(session, "get_transaction"):
        return session()
    return session


def _hook(session: Any) -> None:
    if session.info.get(_HOOKED):
        return
    for name, fn in _HOOKS:
        if not event.contains(session, name, fn):
            event.listen(session, name, fn)
    session.info[_HOOKED] = True


def _after_commit(session: Any) -> None:
    session.info[_OUTCOME] = "commit"


def _after_rollback(session: Any) -> None:
    session.info[_OUTCOME] = "rollback"


def _after_soft_rollback(session: Any, previous_transaction: Any) -> None:
    # A rollback of the whole session transaction drops whatever is left.
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def _after_transaction_end(session: Any, transaction: Any) -> None:
    outcome = session.info.pop(_OUTCOME, None)
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if transaction.parent is None:
        # The root transaction: send its events if it committed, else drop
        # them (rolled back, or closed without a commit).
        mine = [p for p in pending if p[0] is None or _within(p[0], transaction)]
        session.info[_PENDING] = [p for p in pending if not (p[0] is None or _within(p[0], transaction))]
        if outcome == "commit":
            for _, client, ev in mine:
                client.record(ev)
        return
    if outcome == "rollback":
        # A SAVEPOINT rolled back: its events (and its children's) go.
        session.info[_PENDING] = [p for p in pending if not _within(p[0], transaction)]
        return
    # A released SAVEPOINT hands its events to its parent.
    session.info[_PENDING] = [(transaction.parent if t is transaction else t, c, ev) for t, c, ev in pending]


def _within(t: Any, ancestor: Any) -> bool:
    while t is not None:
        if t is ancestor:
            return True
        t = t.parent
    return False


_HOOKS = (
    ("after_commit", _after_commit),
    ("after_rollback", _after_rollback),
    ("after_soft_rollback", _after_soft_rollback),
    ("after_transaction_end", _after_transaction_end),
)


def install(session_factory_or_class: Any, client: Client) -> None:
    """Register the hooks once on a ``sessionmaker``, ``scoped_session`` or
    ``Session`` class, and make ``client`` the default of
    ``record_after_commit(session, None, event)`` for its sessions."""
    target = session_factory_or_class
    factory = getattr(target, "session_factory", None)  # scoped_session
    if factory is not None:
        target = factory
    for name, fn in _HOOKS:
        if not event.contains(target, name, fn):
            event.listen(target, name, fn)

    def _begin(session: Any, transaction: Any) -> None:
        session.info.setdefault(_CLIENT, client)
        session.info[_HOOKED] = True

    event.listen(target, "after_transaction_create", _begin)
    kw = getattr(target, "kw", None)  # sessionmaker: default info for new sessions
    if isinstance(kw, dict):
        info = dict(kw.get("info") or {})
        info[_CLIENT] = client
        info[_HOOKED] = True
        kw["info"] = info


_AUDITED: Dict[Any, bool] = {}


def audit_model(cls: Any, client: Optional[Client] = None, *, type: Optional[str] = None,
                fields: Optional[Sequence[str]] = None, exclude: Sequence[str] = (),
                secret: Callable[[str], bool] = is_secret_name, name_attr: Optional[str] = None,
                tenant: Union[str, Callable[[Any], Optional[str]], None] = None,
                verbs: Sequence[str] = ("create", "update", "delete")) -> None:
    """Record creates, updates and deletes of the mapped class ``cls``, each
    only once its transaction commits (``record_after_commit``).

    Events are ``<type>.create``, ``<type>.update`` with the changed columns
    as ``changes`` (secret ones redacted: ``secret``, by default
    ``hashtrail.is_secret_name``) and ``<type>.delete``; the target is
    ``{type, id, name}`` (``id`` the primary key, ``name`` from
    ``name_attr``). ``type`` defaults to the class name in lower case;
    ``fields`` limits the columns looked at and ``exclude`` leaves some out.
    ``tenant`` (a tenant id, or a function of the object) names the tenant
    for an installation-wide key. ``client`` None uses the one given to
    ``install``. An update that changes nothing records nothing. Calling it
    again for the same class does nothing.
    """
    if _AUDITED.get(cls):
        return
    _AUDITED[cls] = True
    mapper = sa_inspect(cls)
    kind = type or cls.__name__.lower()
    cols = [a.key for a in mapper.column_attrs if (fields is None or a.key in fields) and a.key not in exclude]
    for key in cols:  # load the old value when a column is set, so updates can show it
        event.listen(getattr(cls, key), "set", _noop_set, active_history=True)

    def base(target: Any, verb: str) -> Dict[str, Any]:
        pk = mapper.primary_key_from_instance(target)
        ref: Dict[str, Any] = {"type": kind, "id": ":".join(str(v) for v in pk)}
        if name_attr:
            name = getattr(target, name_attr, None)
            if name:
                ref["name"] = str(name)
        ev: Dict[str, Any] = {"action": "%s.%s" % (kind, verb), "targets": [ref]}
        t = tenant(target) if callable(tenant) else tenant
        if t:
            ev["tenant"] = t
        return ev

    def emit(target: Any, ev: Dict[str, Any]) -> None:
        session = object_session(target)
        if session is not None:
            record_after_commit(session, client, ev)

    def on_insert(mapper_: Any, connection: Any, target: Any) -> None:
        emit(target, base(target, "create"))

    def on_update(mapper_: Any, connection: Any, target: Any) -> None:
        state = sa_inspect(target)
        before: Dict[str, Any] = {}
        after: Dict[str, Any] = {}
        for key in cols:
            h = state.attrs[key].history
            if not h.has_changes():
                continue
            old = h.deleted[0] if h.deleted else None
            new = h.added[0] if h.added else None
            if old != new:
                before[key], after[key] = old, new
        changes = diff(before, after, secret=secret)
        if changes:
            ev = base(target, "update")
            ev["changes"] = changes
            emit(target, ev)

    def on_delete(mapper_: Any, connection: Any, target: Any) -> None:
        emit(target, base(target, "delete"))

    for verb, name, fn in (("create", "after_insert", on_insert), ("update", "after_update", on_update),
                           ("delete", "after_delete", on_delete)):
        if verb in verbs:
            event.listen(cls, name, fn)


def _noop_set(target: Any, value: Any, oldvalue: Any, initiator: Any) -> Any:
    return value


class Outbox:
    """A transactional outbox in the app's database.

    ``add(session, event)`` inserts the event's wire JSON in the session's
    transaction; ``relay()`` sends committed rows oldest first with the
    client's key, tenant and error handler (not its queue) and deletes each
    once the server answered (written, or rejected: retrying would not help;
    rejected events reach ``on_error``). A retryable failure ends the pass
    and the rows stay. A relay that dies after sending and before deleting
    sends those rows again; the server answers their ids with the original
    receipts, so each event is recorded exactly once.

    Several relays (threads or processes) are safe: a relay works only while
    it holds the lease row (``<table>_lease``), renewed after each batch.
    """

    def __init__(self, engine: Any, client: Client, table_name: str = "hashtrail_outbox", *,
                 batch_size: int = 100, poll_interval: float = 1.0, lease_ttl: float = 30.0,
                 create: bool = True) -> None:
        self.engine = engine
        self.client = client
        self.batch_size = max(1, min(batch_size, 1000))
        self.poll_interval = poll_interval
        self.lease_ttl = lease_ttl
        self.holder = "%s:%d:%s" % (socket.gethostname(), os.getpid(), uuid.uuid4().hex[:8])
        md = MetaData()
        self.table = Table(table_name, md,
                           Column("id", Integer, primary_key=True, autoincrement=True),
                           Column("event_id", String(128), nullable=False),
                           Column("body", Text, nullable=False),
                           Column("created_at", Float, nullable=False))
        self.lease = Table(table_name + "_lease", md,
                           Column("name", String(64), primary_key=True),
                           Column("holder", String(200), nullable=False),
                           Column("expires_at", Float, nullable=False))
        self.metadata = md
        if create:
            self.create_tables()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def create_tables(self) -> None:
        """Create the outbox and lease tables if missing."""
        self.metadata.create_all(self.engine, checkfirst=True)

    def add(self, session: Any, event: Mapping[str, Any], tenants: Optional[Sequence[str]] = None) -> str:
        """Write ``event`` (to ``tenants`` for a fan-out) into the outbox in
        the session's transaction; returns its id. Raises ``EventDropped``
        for an event without a tenant the client can send to, and
        ``TypeError`` for one that is not JSON-encodable."""
        ev = self.client.prepare(event, tenants)
        body = encode_event(ev).decode("utf-8")
        session.execute(self.table.insert().values(event_id=str(ev["id"]), body=body, created_at=time.time()))
        return str(ev["id"])

    def _acquire(self) -> bool:
        now = time.time()
        lease = self.lease
        with self.engine.begin() as conn:
            r = conn.execute(lease.update()
                             .where(lease.c.name == "relay")
                             .where((lease.c.holder == self.holder) | (lease.c.expires_at < now))
                             .values(holder=self.holder, expires_at=now + self.lease_ttl))
            if r.rowcount:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(lease.insert().values(name="relay", holder=self.holder, expires_at=now + self.lease_ttl))
            return True
        except IntegrityError:
            return False

    def release(self) -> None:
        """Give the lease up so another relay may start at once."""
        with self.engine.begin() as conn:
            conn.execute(self.lease.update().where(self.lease.c.name == "relay")
                         .where(self.lease.c.holder == self.holder).values(expires_at=0.0))

    def _delete(self, ids: List[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.table.delete().where(self.table.c.id.in_(ids)))

    def pending(self) -> int:
        """Rows waiting to be sent."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.table)).scalar() or 0)

    def relay(self) -> int:
        """Send committed rows until the outbox is empty; returns how many
        events the server answered for. Raises ``RetryError`` when a try
        fails with a retryable answer (the rest stay for the next pass).
        Returns 0 at once when another relay holds the lease."""
        done = 0
        while True:
            if not self._acquire():
                return done
            with self.engine.connect() as conn:
                rows = conn.execute(select(self.table.c.id, self.table.c.body)
                                    .order_by(self.table.c.id).limit(self.batch_size)).fetchall()
            if not rows:
                return done
            ps = []
            for rid, body in rows:
                ev = json.loads(body)
                ps.append(Pending(body.encode("utf-8"), str(ev.get("id", "")), ev.get("tenant"),
                                  ev.get("tenants"), ev.get("action"), waiter=Waiter(), num=int(rid)))
            rest, why = self.client._attempt(ps)
            answered = ps[: len(ps) - len(rest)]
            if answered:
                self._delete([p.num for p in answered])
                done += len(answered)
            if rest:
                assert why is not None
                err = RetryError(1, len(rest), why.status, self.poll_interval, why.cause)
                self.client._report(err)
                raise err

    def start(self) -> "Outbox":
        """Relay in a background thread: polls every ``poll_interval``
        seconds when empty, backs off after failures."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="hashtrail-outbox", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.relay()
                failures = 0
                wait = self.poll_interval
            except Exception as e:  # keep relaying; the rows stay
                failures += 1
                if not isinstance(e, RetryError):
                    log.warning("hashtrail outbox: %s", e)
                wait = min(self.poll_interval * (2 ** min(failures, 6)), 30.0)
            self._stop.wait(wait)

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stop the background relay (after its current pass)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.release()
        except Exception:
            pass

    def __enter__(self) -> "Outbox":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
