"""Flask integration: request context for every event a request records.

::

    from flask import Flask
    from hashtrail.flask import Hashtrail

    app = Flask(__name__)
    app.config.update(HASHTRAIL_URL="https://audit.example.com",
                      HASHTRAIL_API_KEY="htk_...", HASHTRAIL_TENANT="acme",
                      HASHTRAIL_TRUSTED_PROXIES="10.0.0.0/8")
    audit = Hashtrail(app)

    @audit.actor_loader
    def current_actor():
        if current_user.is_authenticated:
            return {"type": "user", "id": str(current_user.id), "email": current_user.email}
        return None

    @app.post("/projects/<int:pid>/delete")
    def delete_project(pid):
        ...
        audit.client.record({"action": "project.delete",
                             "targets": [{"type": "project", "id": str(pid)}]})

While a request runs, every event recorded through the SDK (``record``,
``record_sync``, ``hashtrail.sqlalchemy.record_after_commit``) carries the
client IP (the peer, or the first untrusted address of ``Forwarded`` /
``X-Forwarded-For`` when the peer is a trusted proxy), the user agent, the
request id (``X-Request-ID`` when it is printable and at most 128 bytes,
else a new ULID; echoed on the response), method, path, ``source`` and the
actor. The actor loader runs when an event is recorded, not when the request
starts, so it sees whatever the app's own authentication hooks (Flask-Login,
a ``before_request``) set up; a view that learns the user itself (a login
view) calls ``hashtrail.set_actor(...)``. The context is cleared when the
request is torn down, whatever happened in it.

Configuration (``app.config``), read by ``init_app`` when no client is given:
``HASHTRAIL_URL``, ``HASHTRAIL_API_KEY``, ``HASHTRAIL_TENANT``,
``HASHTRAIL_SERVICE`` (a dict or a service name), ``HASHTRAIL_SPOOL_PATH``;
always: ``HASHTRAIL_TRUSTED_PROXIES`` (a list, or a string of addresses and
CIDRs separated by commas or spaces), ``HASHTRAIL_SOURCE`` (default
``web``), ``HASHTRAIL_REQUEST_ID_HEADER`` (default ``X-Request-ID``).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, Optional, Sequence

import flask

import hashtrail
from hashtrail.context import clear_context, client_ip, parse_networks, request_context, request_id_or_new

__all__ = ["Hashtrail", "request_id"]

ActorLoader = Callable[[], Optional[Dict[str, Any]]]

_ENVIRON_CM = "hashtrail.context"
_ENVIRON_RID = "hashtrail.request_id"


def request_id() -> Optional[str]:
    """The request id the extension gave the current request (None outside one)."""
    if not flask.has_request_context():
        return None
    return flask.request.environ.get(_ENVIRON_RID)


def _proxies(value: Any) -> Sequence[str]:
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(p for p in re.split(r"[\s,]+", value) if p)
    return tuple(str(p) for p in value)


class _State:
    """What one app's requests need: its client and its settings."""

    def __init__(self, client: Any, trusted: Sequence[str], networks: Sequence[Any], source: Optional[str],
                 header: str) -> None:
        self.client = client
        self.trusted = trusted
        self.networks = networks  # parsed once
        self.source = source
        self.header = header
        self.header_key = "HTTP_" + header.upper().replace("-", "_")  # its WSGI environ key


class Hashtrail:
    """The Flask extension. ``Hashtrail(app)``, or ``Hashtrail()`` then
    ``init_app(app)`` (one extension may serve several apps, each with its
    own client).

    ``client``: a :class:`hashtrail.Client` to use; without one, ``init_app``
    makes one from the app's ``HASHTRAIL_*`` config (the client closes itself
    when the process exits), or leaves it None when ``HASHTRAIL_URL`` is unset
    (the request context is still kept, for a client made elsewhere).
    ``actor_loader``: a function of no arguments returning the actor dict of
    the current request, or None; also settable with :meth:`actor_loader`.
    ``trusted_proxies``, ``source``, ``request_id_header`` override the config.
    """

    def __init__(
        self,
        app: Optional[flask.Flask] = None,
        client: Any = None,
        *,
        actor_loader: Optional[ActorLoader] = None,
        trusted_proxies: Optional[Sequence[str]] = None,
        source: Optional[str] = None,
        request_id_header: Optional[str] = None,
    ) -> None:
        self._client = client
        self._actor_loader = actor_loader
        self._trusted = trusted_proxies
        self._source = source
        self._header = request_id_header
        if app is not None:
            self.init_app(app)

    def init_app(self, app: flask.Flask) -> None:
        """Register the request hooks on ``app`` and set up its client."""
        cfg = app.config
        trusted = _proxies(self._trusted if self._trusted is not None else cfg.get("HASHTRAIL_TRUSTED_PROXIES"))
        networks = parse_networks(trusted)  # a bad entry fails now, not on the first request
        client = self._client
        if client is None and cfg.get("HASHTRAIL_URL"):
            if not cfg.get("HASHTRAIL_API_KEY"):
                raise ValueError("hashtrail.flask: HASHTRAIL_URL is set but HASHTRAIL_API_KEY is not")
            service = cfg.get("HASHTRAIL_SERVICE")
            if isinstance(service, str):
                service = {"name": service}
            client = hashtrail.Client(
                cfg["HASHTRAIL_URL"],
                cfg["HASHTRAIL_API_KEY"],
                tenant=cfg.get("HASHTRAIL_TENANT"),
                service=service,
                spool_path=cfg.get("HASHTRAIL_SPOOL_PATH"),
                trusted_proxies=trusted,
            )
        source = self._source if self._source is not None else cfg.get("HASHTRAIL_SOURCE", "web")
        header = self._header or cfg.get("HASHTRAIL_REQUEST_ID_HEADER", "X-Request-ID")
        app.extensions["hashtrail"] = _State(client, trusted, networks, source, header)
        app.before_request(self._before_request)
        app.after_request(self._after_request)
        app.teardown_request(self._teardown_request)

    def actor_loader(self, fn: ActorLoader) -> ActorLoader:
        """Decorator: set the function that returns the current request's actor."""
        self._actor_loader = fn
        return fn

    @property
    def client(self) -> Any:
        """The current app's client (inside an app context), else the one given."""
        if flask.has_app_context():
            state = flask.current_app.extensions.get("hashtrail")
            if state is not None:
                return state.client
        return self._client

    def record(self, event: Dict[str, Any]) -> None:
        """Queue ``event`` on the current app's client (``Client.record``)."""
        client = self.client
        if client is None:
            raise RuntimeError("hashtrail.flask: no client (set HASHTRAIL_URL or pass client=)")
        client.record(event)

    def _actor(self) -> Optional[Dict[str, Any]]:
        loader = self._actor_loader
        return loader() if loader is not None else None

    def _before_request(self) -> None:
        state: _State = flask.current_app.extensions["hashtrail"]
        req = flask.request
        environ = req.environ  # read directly: cheaper than req.headers
        rid = request_id_or_new(environ.get(state.header_key))
        environ[_ENVIRON_RID] = rid
        fields: Dict[str, Any] = {"request_id": rid, "method": req.method, "path": req.path}
        ip = client_ip(
            environ.get("REMOTE_ADDR") or "",
            environ.get("HTTP_X_FORWARDED_FOR"),
            state.networks,
            forwarded=environ.get("HTTP_FORWARDED"),
        )
        if ip:
            fields["ip"] = ip
        ua = environ.get("HTTP_USER_AGENT")
        if ua:
            fields["user_agent"] = ua
        if state.source:
            fields["source"] = state.source
        actor = self._actor if self._actor_loader is not None else None
        cm = request_context(actor=actor, **fields)
        cm.__enter__()
        req.environ[_ENVIRON_CM] = cm

    def _after_request(self, response: flask.Response) -> flask.Response:
        rid = flask.request.environ.get(_ENVIRON_RID)
        if rid:
            state: _State = flask.current_app.extensions["hashtrail"]
            response.headers[state.header] = rid
        return response

    def _teardown_request(self, exc: Optional[BaseException]) -> None:
        cm = flask.request.environ.pop(_ENVIRON_CM, None)
        if cm is None:
            return
        try:
            cm.__exit__(None, None, None)
        except ValueError:
            # The request ran its hooks in another contextvars.Context (a
            # server copying contexts between hooks): reset by hand.
            clear_context()
