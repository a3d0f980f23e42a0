"""The read and management side of the HTTP API, for apps, examples and
tests: ``Reader`` lists and fetches events, ``Admin`` creates tenants and
keys. Errors raise ``APIError`` (and ``transport.NetworkError`` when the
server cannot be reached)."""

from __future__ import annotations

import ssl
from typing import Any, Dict, Iterator, List, Optional, Sequence

from .errors import APIError
from .transport import Transport, quote
from .verify import verify_event


class Reader:
    """Reads events with a ``read`` or ``admin`` key (or a viewer token)."""

    def __init__(self, url: str, api_key: str, *, timeout: float = 30.0,
                 ssl_context: Optional[ssl.SSLContext] = None, proxy: Optional[str] = None) -> None:
        self.transport = Transport(url, api_key, timeout=timeout, ssl_context=ssl_context, proxy=proxy)

    def close(self) -> None:
        """Close the connections."""
        self.transport.close()

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def events(self, tenant: str, q: Optional[str] = None, limit: int = 100, **filters: Any) -> List[Dict[str, Any]]:
        """Events of ``tenant`` matching the search ``q`` and the filters of
        ``GET /v1/tenants/{t}/events`` (``action``, ``category``,
        ``severity``, ``outcome``, ``actor``, ``target``, ``ip``, ``since``,
        ``until``, ``order``...), newest first unless ``order="asc"``,
        following cursors until ``limit`` events."""
        out: List[Dict[str, Any]] = []
        for ev in self.iter_events(tenant, q, page_size=min(1000, max(1, limit)), **filters):
            out.append(ev)
            if len(out) >= limit:
                break
        return out

    def iter_events(self, tenant: str, q: Optional[str] = None, page_size: int = 1000,
                    **filters: Any) -> Iterator[Dict[str, Any]]:
        """Every event matching, page by page (cursors are keyset positions:
        a walk never skips or repeats an event while others are written)."""
        cursor = None
        while True:
            params = dict(filters)
            params.update({"q": q, "limit": page_size, "cursor": cursor})
            ans = _obj(self.transport.call("GET", "/v1/tenants/%s/events" % quote(tenant), params=params))
            page = ans.get("events") or []
            yield from page
            cursor = ans.get("next_cursor")
            if not cursor or not page:
                return

    def event(self, tenant: str, id: str, proof: bool = False, wait: Optional[str] = None) -> Dict[str, Any]:
        """One event; ``proof=True`` adds its leaf, inclusion proof and
        checkpoint (``wait="2s"`` waits for a checkpoint that covers it)."""
        params = {"proof": "true" if proof else None, "wait": wait}
        return _obj(self.transport.call("GET", "/v1/tenants/%s/events/%s" % (quote(tenant), quote(id)), params=params))

    def stats(self, tenant: str, **params: Any) -> Dict[str, Any]:
        """``GET /v1/tenants/{t}/stats`` (``group_by``, ``bucket`` and the
        event filters)."""
        return _obj(self.transport.call("GET", "/v1/tenants/%s/stats" % quote(tenant), params=params))

    def create_viewer_token(self, tenant: str, filter: str, hidden_fields: Optional[Sequence[str]] = None,
                            expires_in: str = "15m", allowed_origins: Optional[Sequence[str]] = None
                            ) -> Dict[str, Any]:
        """Mint a viewer token for an end user: ``{"token", "token_id",
        "expires_at"}``. ``hidden_fields`` None keeps the server's default
        (``context.ip``, ``context.user_agent``)."""
        body: Dict[str, Any] = {"filter": filter, "expires_in": expires_in}
        if hidden_fields is not None:
            body["hidden_fields"] = list(hidden_fields)
        if allowed_origins is not None:
            body["allowed_origins"] = list(allowed_origins)
        return _obj(self.transport.call("POST", "/v1/tenants/%s/viewer-tokens" % quote(tenant), json_body=body))

    def log_key(self) -> str:
        """The installation's current checkpoint verifier key, ``GET
        /v1/log/key`` (pin it rather than fetching it when verifying)."""
        return str(self.transport.call("GET", "/v1/log/key", auth=False)).strip()

    def verify_event(self, tenant: str, id: str, log_key: str, wait: str = "5s") -> Dict[str, Any]:
        """Fetch an event with its proof (waiting up to ``wait`` for a
        checkpoint that covers it) and verify it against ``log_key``
        (``hashtrail.verify.verify_event``); returns the event, raises
        ``VerificationError``."""
        ev = self.event(tenant, id, proof=True, wait=wait)
        verify_event(ev, log_key)
        return ev

    def catalog(self) -> Dict[str, Any]:
        """The standard event catalog, ``GET /v1/catalog``."""
        return _obj(self.transport.call("GET", "/v1/catalog", auth=False))


class Admin(Reader):
    """Manages tenants, keys and retention with an ``admin`` key (an
    installation-wide one for tenants)."""

    def create_tenant(self, id: str, name: Optional[str] = None, *, exist_ok: bool = False) -> Dict[str, Any]:
        """Create tenant ``id``; with ``exist_ok``, an existing one is
        answered as it is (``GET /v1/tenants/{id}``)."""
        body = {"id": id}
        if name:
            body["name"] = name
        try:
            return _obj(self.transport.call("POST", "/v1/tenants", json_body=body))
        except APIError as e:
            if exist_ok and e.status == 409:
                return _obj(self.transport.call("GET", "/v1/tenants/%s" % quote(id)))
            raise

    def new_key(self, tenant: str, role: str, name: Optional[str] = None,
                scope: Optional[Dict[str, Any]] = None, expires_in: Optional[str] = None) -> Dict[str, Any]:
        """Create a key for ``tenant`` (``"*"`` for an installation-wide
        one) with ``role`` ``ingest``, ``read`` or ``admin``; returns the
        whole answer: ``id``, ``role``, ``secret`` (shown only this once)..."""
        body: Dict[str, Any] = {"role": role}
        if name:
            body["name"] = name
        if scope:
            body["scope"] = scope
        if expires_in:
            body["expires_in"] = expires_in
        path = "/v1/keys" if tenant == "*" else "/v1/tenants/%s/keys" % quote(tenant)
        return _obj(self.transport.call("POST", path, json_body=body))

    def create_key(self, tenant: str, role: str, name: Optional[str] = None,
                   scope: Optional[Dict[str, Any]] = None, expires_in: Optional[str] = None) -> str:
        """``new_key``, returning only the key's secret."""
        return str(self.new_key(tenant, role, name, scope, expires_in)["secret"])

    def get_retention(self, tenant: str) -> Dict[str, Any]:
        """The tenant's retention policy."""
        return _obj(self.transport.call("GET", "/v1/tenants/%s/retention" % quote(tenant)))

    def put_retention(self, tenant: str, rules: Sequence[Dict[str, Any]], default: str = "forever",
                      version: Optional[int] = None) -> Dict[str, Any]:
        """Replace the tenant's retention policy: ``rules`` such as
        ``[{"name": "users", "filter": "action:user.*", "keep": "90d"}]``.
        ``version`` is the version replaced (read it first when None)."""
        if version is None:
            version = int(self.get_retention(tenant).get("version", 0))
        body = {"rules": list(rules), "default": default, "version": version}
        return _obj(self.transport.call("PUT", "/v1/tenants/%s/retention" % quote(tenant), json_body=body))

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """Any other API call: the JSON answer, APIError otherwise."""
        return self.transport.call(method, path, json_body=body, params=params or None)


def _obj(ans: Any) -> Dict[str, Any]:
    """A JSON object answer (an empty one when the server sent none)."""
    if ans is None:
        return {}
    if not isinstance(ans, dict):
        raise ValueError("hashtrail: expected a JSON object from the server, got %s" % type(ans).__name__)
    return ans
