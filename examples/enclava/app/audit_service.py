"""Where Enclava's audit entries go: Hashtrail, through the Python SDK.

``log(db, entry)`` replaces ``db.add(entry)``: the entry is recorded when
the request's SQLAlchemy transaction commits and dropped when it rolls back
(``hashtrail.sqlalchemy.record_after_commit``). ``log_now(entry)`` records
an entry that belongs to no change (a failed sign-in). Reads go through the
query API: ``search(q)``, ``security_events()``, ``high_severity_events()``.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

import hashtrail
import hashtrail.sqlalchemy as hts

from .audit_log import HIGH_SEVERITY_QUERY, SECURITY_EVENTS_QUERY, AuditLog

TENANT = os.environ.get("ENCLAVA_HASHTRAIL_TENANT", "enclava")

_client: Optional[hashtrail.Client] = None
_reader: Optional[hashtrail.Reader] = None


def configure(url: str, ingest_key: str, read_key: str, *, tenant: str = TENANT) -> hashtrail.Client:
    """Build the client (tenant-scoped ingest key) and the reader (read key)."""
    global _client, _reader, TENANT
    TENANT = tenant
    _client = hashtrail.Client(url, ingest_key, tenant=tenant, service={"name": "enclava", "version": "0.9"},
                               flush_interval=0.05)
    _reader = hashtrail.Reader(url, read_key)
    return _client


def configured() -> bool:
    return _client is not None


def client() -> hashtrail.Client:
    if _client is None:
        raise RuntimeError("audit_service.configure() was not called")
    return _client


def _fill(entry: AuditLog) -> AuditLog:
    """Request context the constructors leave out (Enclava passed it by hand)."""
    ctx = hashtrail.get_context()
    entry.ip_address = entry.ip_address or ctx.get("ip")
    entry.user_agent = entry.user_agent or ctx.get("user_agent")
    entry.request_id = entry.request_id or ctx.get("request_id")
    entry.session_id = entry.session_id or ctx.get("session_id")
    return entry


def log(db: Any, entry: AuditLog) -> AuditLog:
    """Record ``entry`` once ``db``'s transaction commits (nothing if it rolls back)."""
    hts.record_after_commit(db, client(), _fill(entry).to_event())
    return entry


def log_now(entry: AuditLog) -> AuditLog:
    """Record ``entry`` at once (queued; for events that are not a database change)."""
    client().record(_fill(entry).to_event())
    return entry


def flush(timeout: float = 10.0) -> bool:
    return client().flush(timeout)


#: Hashtrail records its own acts on the tenant (keys created or revoked) in
#: the same log, with the key that acted as the actor; they are not Enclava's
#: entries, and Enclava never records an api_key actor.
APP_ENTRIES = "-actor.type:api_key"


def search(q: Optional[str] = None, limit: int = 100, **filters: Any) -> List[AuditLog]:
    """Entries matching a Hashtrail search, newest first, as Enclava's AuditLog objects."""
    assert _reader is not None
    try:
        evs = _reader.events(TENANT, q=_and(APP_ENTRIES, q), limit=limit, **filters)
    except hashtrail.APIError as e:
        if e.status == 404:  # nothing recorded yet: the tenant does not exist yet
            return []
        raise
    return [AuditLog.from_event(e) for e in evs]


def security_events(q: Optional[str] = None, limit: int = 100) -> List[AuditLog]:
    """Enclava's ``is_security_event()``, as one search."""
    return search(_and(SECURITY_EVENTS_QUERY, q), limit)


def high_severity_events(q: Optional[str] = None, limit: int = 100) -> List[AuditLog]:
    """Enclava's ``is_high_severity()``, as one search."""
    return search(_and(HIGH_SEVERITY_QUERY, q), limit)


def _and(a: str, b: Optional[str]) -> str:
    return a + (" " + b if b else "")


def as_dicts(entries: List[AuditLog]) -> List[Dict[str, Any]]:
    return [e.to_dict() for e in entries]
