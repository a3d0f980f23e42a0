"""ASGI middleware (FastAPI, Starlette, any ASGI app): request context for events.

::

    from fastapi import FastAPI
    from hashtrail.asgi import HashtrailMiddleware

    app = FastAPI()
    app.add_middleware(
        HashtrailMiddleware,
        trusted_proxies=["10.0.0.0/8"],
        actor=lambda scope: actor_from_session(scope),   # optional
    )

While a request runs, every event the app records (``client.record(...)``)
carries the client IP (the peer, or the first untrusted address of
``X-Forwarded-For`` when the peer is a trusted proxy), the user agent, the
request id (``X-Request-ID`` when valid, else a new ULID; echoed on the
response), method, path, ``source`` and the actor.

The actor: ``actor(scope)`` (sync or async) runs once when the request
starts; an endpoint or an **async** dependency that learns the user later
calls ``hashtrail.set_actor(...)``. FastAPI runs sync dependencies in a
worker thread on a copy of the context, so an actor set there does not
reach the endpoint; set it in an async dependency or in the endpoint.
The context lives in ``contextvars``: concurrent requests never see each
other's.
"""

from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable, Dict, Iterable, List, MutableMapping, Optional, Tuple, Union, cast

import hashtrail
from hashtrail.context import parse_networks

__all__ = ["HashtrailMiddleware", "request_id"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ActorFn = Callable[[Scope], Union[Optional[Dict[str, Any]], Awaitable[Optional[Dict[str, Any]]]]]



def _nobody() -> None:
    return None


def request_id(scope: Scope) -> Optional[str]:
    """The request id the middleware gave this request (None outside it)."""
    state = scope.get("state")
    if isinstance(state, dict):
        return state.get("hashtrail_request_id")
    return getattr(state, "hashtrail_request_id", None) if state is not None else None


def _headers(scope: Scope) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for k, v in scope.get("headers") or ():
        name = k.decode("latin-1").lower()
        val = v.decode("latin-1")
        # Repeated X-Forwarded-For headers are one list, in order.
        out[name] = out[name] + ", " + val if name in out else val
    return out


class HashtrailMiddleware:
    """Pure ASGI middleware; wraps HTTP and WebSocket scopes, passes lifespan through.

    ``trusted_proxies``: addresses or CIDR prefixes of the app's own proxies;
    ``actor``: ``scope -> actor dict or None`` (sync or async);
    ``request_id_header``: read and echoed (default ``X-Request-ID``);
    ``source``: ``context.source`` (default ``api``; None leaves it out).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_proxies: Iterable[str] = (),
        actor: Optional[ActorFn] = None,
        request_id_header: str = "X-Request-ID",
        source: Optional[str] = "api",
    ) -> None:
        self.app = app
        # Parsed once: a bad entry fails at start-up, and each request saves the parsing.
        self.trusted = parse_networks(tuple(trusted_proxies))
        self.actor = actor
        self.header = request_id_header
        self.header_lc = request_id_header.lower()
        self.source = source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        rid = hashtrail.request_id_or_new(headers.get(self.header_lc))
        peer = scope.get("client")
        remote = peer[0] if peer else ""
        ip = hashtrail.client_ip(remote or "", headers.get("x-forwarded-for"), self.trusted)
        ctx: Dict[str, Any] = {"request_id": rid, "path": scope.get("path", "")}
        if scope["type"] == "http":
            ctx["method"] = scope.get("method", "")
        if ip:
            ctx["ip"] = ip
        if headers.get("user-agent"):
            ctx["user_agent"] = headers["user-agent"]
        if self.source:
            ctx["source"] = self.source
        state = scope.setdefault("state", {})
        if isinstance(state, dict):
            state["hashtrail_request_id"] = rid
        actor: Optional[Dict[str, Any]] = None
        if self.actor is not None:
            got = self.actor(scope)
            actor = cast(Optional[Dict[str, Any]], await got if inspect.isawaitable(got) else got)
        header = (self.header_lc.encode("latin-1"), rid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message.get("type") == "http.response.start":
                hs: List[Tuple[bytes, bytes]] = [
                    (k, v) for k, v in message.get("headers") or () if k.lower() != header[0]
                ]
                hs.append(header)
                message = dict(message)
                message["headers"] = hs
            await send(message)

        # No actor is "nobody", never an actor from outside the request.
        with hashtrail.request_context(actor=actor if actor is not None else _nobody, **ctx):
            await self.app(scope, receive, send_with_id)
