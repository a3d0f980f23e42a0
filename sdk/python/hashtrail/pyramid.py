"""Pyramid integration: a client on ``request.hashtrail`` and request context
for every event a request records.

::

    # development.ini
    [app:main]
    pyramid.includes = hashtrail.pyramid
    hashtrail.url = https://audit.example.com
    hashtrail.api_key = htk_...
    hashtrail.tenant = pypi
    hashtrail.trusted_proxies = 10.0.0.0/8 127.0.0.1

    # a view
    request.hashtrail.record({"action": "project.delete",
                              "targets": [{"type": "project", "id": str(project.id)}]})

``config.include("hashtrail.pyramid")`` reads these settings:

- ``hashtrail.url``, ``hashtrail.api_key``, ``hashtrail.tenant`` (omit it for
  an installation-wide key), ``hashtrail.service`` (the app's name),
  ``hashtrail.spool_path``: the client, made unless one was given with
  ``config.set_hashtrail_client(client)`` after the include (a client closes
  itself when the process exits). Without ``hashtrail.url`` and without a
  client, ``request.hashtrail`` is None.
- ``hashtrail.trusted_proxies``: addresses and CIDRs of the app's own
  proxies, separated by spaces, commas or new lines;
- ``hashtrail.actor_loader``: a dotted name of ``request -> actor dict or
  None`` (or ``config.set_hashtrail_actor_loader(fn)``). The default makes a
  ``user`` actor of ``request.authenticated_userid``. It runs when an event is
  recorded, so it sees the identity the security policy finds then;
- ``hashtrail.source`` (default ``web``), ``hashtrail.request_id_header``
  (default ``X-Request-ID``).

The tween sits first, under ``INGRESS`` (outside ``pyramid_tm`` and the
exception view), so events recorded after a commit (``hashtrail.sqlalchemy``)
still carry the context. While a request runs, events carry the client IP
(the peer, or the first untrusted address of ``Forwarded`` /
``X-Forwarded-For`` when the peer is a trusted proxy), the user agent, the
request id (the header when printable and at most 128 bytes, else a new
ULID; echoed on the response), method, path, ``source`` and the actor. The
context is restored when the request ends, whatever happened in it.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, Optional, Sequence

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.tweens import INGRESS

import hashtrail
from hashtrail.context import client_ip, parse_networks, request_context, request_id_or_new

__all__ = ["includeme", "tween_factory", "default_actor", "request_id"]

ActorLoader = Callable[[Request], Optional[Dict[str, Any]]]

_ENVIRON_RID = "hashtrail.request_id"


def default_actor(request: Request) -> Optional[Dict[str, Any]]:
    """A ``user`` actor of ``request.authenticated_userid``, or None."""
    userid = request.authenticated_userid
    if userid is None:
        return None
    return {"type": "user", "id": str(userid)}


def request_id(request: Request) -> Optional[str]:
    """The request id the tween gave ``request`` (None if it did not run)."""
    return request.environ.get(_ENVIRON_RID)


class _Settings:
    """The tween's settings, kept on the registry."""

    def __init__(self, trusted: Sequence[str], source: Optional[str], header: str, actor_loader: ActorLoader):
        self.trusted = trusted
        self.networks = parse_networks(trusted)  # parsed once; a bad entry fails at start-up
        self.source = source
        self.header = header
        self.header_key = "HTTP_" + header.upper().replace("-", "_")  # its WSGI environ key
        self.actor_loader = actor_loader


def _proxies(value: Any) -> Sequence[str]:
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(p for p in re.split(r"[\s,]+", value) if p)
    return tuple(str(p) for p in value)


def _set_client(config: Configurator, client: Any) -> None:
    config.registry.hashtrail_client = client


def _set_actor_loader(config: Configurator, loader: Any) -> None:
    config.registry.hashtrail_settings.actor_loader = config.maybe_dotted(loader)


def _request_client(request: Request) -> Any:
    return getattr(request.registry, "hashtrail_client", None)


def includeme(config: Configurator) -> None:
    """Set up the client, ``request.hashtrail``, the directives and the tween."""
    settings = config.get_settings()
    if settings.get("hashtrail.url") and not settings.get("hashtrail.api_key"):
        raise ValueError("hashtrail.pyramid: hashtrail.url is set but hashtrail.api_key is not")
    trusted = _proxies(settings.get("hashtrail.trusted_proxies"))
    loader = config.maybe_dotted(settings.get("hashtrail.actor_loader")) or default_actor
    config.registry.hashtrail_settings = _Settings(
        trusted,
        settings.get("hashtrail.source", "web") or None,
        settings.get("hashtrail.request_id_header", "X-Request-ID"),
        loader,
    )
    config.add_directive("set_hashtrail_client", _set_client)
    config.add_directive("set_hashtrail_actor_loader", _set_actor_loader)
    config.add_request_method(_request_client, "hashtrail", reify=True)
    config.add_tween("hashtrail.pyramid.tween_factory", under=INGRESS)

    registry = config.registry

    def make_client() -> None:
        # Runs when the configuration is committed, after every directive.
        url = settings.get("hashtrail.url")
        if not url or getattr(registry, "hashtrail_client", None) is not None:
            return
        service = settings.get("hashtrail.service")
        client = hashtrail.Client(
            url,
            settings["hashtrail.api_key"],
            tenant=settings.get("hashtrail.tenant") or None,
            service={"name": service} if service else None,
            spool_path=settings.get("hashtrail.spool_path") or None,
            trusted_proxies=trusted,
        )
        registry.hashtrail_client = client

    config.action(("hashtrail", "client"), make_client)


def tween_factory(handler: Callable[[Request], Any], registry: Any) -> Callable[[Request], Any]:
    """The tween: runs each request inside :func:`hashtrail.request_context`."""

    def hashtrail_tween(request: Request) -> Any:
        st: _Settings = registry.hashtrail_settings
        environ = request.environ  # read directly: cheaper than request.headers
        rid = request_id_or_new(environ.get(st.header_key))
        environ[_ENVIRON_RID] = rid
        fields: Dict[str, Any] = {"request_id": rid, "method": request.method, "path": request.path}
        ip = client_ip(
            environ.get("REMOTE_ADDR") or "",
            environ.get("HTTP_X_FORWARDED_FOR"),
            st.networks,
            forwarded=environ.get("HTTP_FORWARDED"),
        )
        if ip:
            fields["ip"] = ip
        ua = environ.get("HTTP_USER_AGENT")
        if ua:
            fields["user_agent"] = ua
        if st.source:
            fields["source"] = st.source
        loader = st.actor_loader
        with request_context(actor=lambda: loader(request), **fields):
            response = handler(request)
        response.headers[st.header] = rid
        return response

    return hashtrail_tween
