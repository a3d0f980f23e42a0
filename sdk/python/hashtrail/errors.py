"""Errors of the Hashtrail SDK.

Everything the server says reaches the application as one of these: raised by
``record_sync`` and the read side, or handed to the client's ``on_error``
callback for events recorded with ``record``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class HashtrailError(Exception):
    """Base class of every error the SDK raises or reports."""


class APIError(HashtrailError):
    """The server refused a request or an event (RFC 9457 problem details).

    ``status`` is the HTTP status (400 for an event rejected inside a partial
    batch), ``problem`` the problem body as a dict, ``fields`` its field
    errors (``[{"field": "events[0].severity", "message": ...}]``). For an
    event, ``event_id``, ``tenant`` and ``action`` name it.
    """

    def __init__(
        self,
        status: int,
        problem: Optional[Dict[str, Any]] = None,
        fields: Optional[List[Dict[str, str]]] = None,
        *,
        event_id: Optional[str] = None,
        tenant: Optional[str] = None,
        tenants: Optional[List[str]] = None,
        action: Optional[str] = None,
        message: Optional[str] = None,
    ) -> None:
        self.status = status
        self.problem: Dict[str, Any] = dict(problem or {})
        if fields is None:
            fields = list(self.problem.get("errors") or [])
        self.fields: List[Dict[str, str]] = fields
        self.event_id = event_id
        self.tenant = tenant
        self.tenants = tenants
        self.action = action
        self._message = message
        super().__init__(str(self))

    @property
    def code(self) -> str:
        """The problem's ``code`` (``invalid``, ``unauthorized``, ...)."""
        return str(self.problem.get("code") or "")

    @property
    def detail(self) -> str:
        """The problem's ``detail`` (or ``title``)."""
        return str(self.problem.get("detail") or self.problem.get("title") or "")

    @property
    def request_id(self) -> str:
        """The server's request id, to quote in a report."""
        return str(self.problem.get("request_id") or "")

    def field_errors(self) -> Dict[str, str]:
        """The field errors as ``{field: message}``."""
        return {str(f.get("field")): str(f.get("message")) for f in self.fields}

    def __str__(self) -> str:
        head = ""
        if self.event_id is not None or self.action is not None:
            head = "event %r (%s" % (self.event_id, self.action)
            if self.tenant:
                head += ", tenant %s" % self.tenant
            head += ") not recorded: "
        msg = self._message or self.detail
        text = "%s%d %s: %s" % (head, self.status, self.code, msg)
        for f in self.fields:
            text += "; %s %s" % (f.get("field"), f.get("message"))
        return text


class EventDropped(HashtrailError):
    """An event the client gave up on without the server refusing it.

    ``reason`` is ``"queue_full"`` (the queue stayed full), ``"closed"``
    (recorded after ``close``), ``"no_tenant"`` (no tenant to send it to),
    ``"invalid"`` (not JSON-encodable, or too large), ``"gave_up"`` (``close``
    ran out of time without a spool) or ``"max_attempts"``.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        event_id: Optional[str] = None,
        tenant: Optional[str] = None,
        action: Optional[str] = None,
        cause: Optional[BaseException] = None,
    ) -> None:
        self.reason = reason
        self.event_id = event_id
        self.tenant = tenant
        self.action = action
        self.cause = cause
        super().__init__("hashtrail: event %r (%s) dropped: %s" % (event_id, action, message))


class RetryError(HashtrailError):
    """A try that failed with a retryable answer (429, 5xx or a network
    error): ``events`` events are sent again after ``wait`` seconds.
    ``status`` is 0 for a network error."""

    def __init__(
        self, attempt: int, events: int, status: int, wait: float, cause: Optional[BaseException]
    ) -> None:
        self.attempt = attempt
        self.events = events
        self.status = status
        self.wait = wait
        self.cause = cause
        super().__init__(
            "hashtrail: try %d of %d events failed, retrying in %.3fs: %s"
            % (attempt, events, wait, cause if cause is not None else "status %d" % status)
        )


class ClientClosed(HashtrailError):
    """The client is closed."""


class Spooled(HashtrailError):
    """``record_sync``'s client closed while the event waited in the spool;
    the next client on the same spool sends it."""


class SpoolError(HashtrailError):
    """The on-disk spool could not be read or written."""
