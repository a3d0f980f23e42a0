"""hashtrail.asgi: request context for FastAPI/Starlette apps.

Drives a FastAPI app (Debian's python3-fastapi) through Starlette's
TestClient; a small shim in front sets the connection's peer address from a
test header, since the TestClient always reports "testclient".
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Dict, List

import pytest

try:
    import fastapi  # noqa: F401
    import httpx  # noqa: F401  (FastAPI's TestClient)
except ImportError as exc:
    if os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") == "1":
        raise
    pytest.skip("%s is not installed (Debian: python3-fastapi, python3-httpx)" % exc.name, allow_module_level=True)

from fastapi import Depends, FastAPI, Request, WebSocket  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import hashtrail  # noqa: E402
from hashtrail.asgi import HashtrailMiddleware, request_id  # noqa: E402
from hashtrail.context import fill_event  # noqa: E402


class Recorder:
    """Stands in for hashtrail.Client.record: fills the event from the context, keeps it."""

    def __init__(self) -> None:
        self.events: List[Dict[str, Any]] = []

    def record(self, event: Dict[str, Any]) -> None:
        ev = dict(event)
        fill_event(ev)
        self.events.append(ev)


class PeerShim:
    """Sets scope["client"] from the x-test-peer header (the TestClient's is fixed)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        for k, v in scope.get("headers") or ():
            if k == b"x-test-peer":
                scope = dict(scope, client=(v.decode(), 40000))
        await self.app(scope, receive, send)


def make_app(rec: Recorder, **mw: Any) -> Any:
    app = FastAPI()

    async def current_user(request: Request) -> Dict[str, Any]:
        # An async dependency that learns the user sets the actor for the endpoint.
        uid = request.headers.get("x-user")
        if uid:
            hashtrail.set_actor({"type": "user", "id": uid})
        return {"id": uid}

    @app.post("/projects")
    async def create_project(request: Request, user: Dict[str, Any] = Depends(current_user)) -> Dict[str, Any]:
        rec.record({"action": "project.create", "targets": [{"type": "project", "id": "7"}]})
        return {"request_id": request_id(request.scope)}

    @app.get("/sync")
    def sync_endpoint() -> Dict[str, Any]:  # runs in a worker thread with a copy of the context
        rec.record({"action": "data.read"})
        return {}

    app.add_middleware(HashtrailMiddleware, **mw)
    return PeerShim(app)


def test_context_actor_and_request_id():
    rec = Recorder()
    app = make_app(rec, trusted_proxies=["10.0.0.0/8"])
    with TestClient(app) as c:
        r = c.post("/projects", headers={"x-test-peer": "10.0.0.5", "x-forwarded-for": "198.51.100.1, 203.0.113.9",
                                         "user-agent": "ua/1", "x-request-id": "abc-1", "x-user": "42"})
        assert r.status_code == 200
        assert r.headers["x-request-id"] == "abc-1" and r.json()["request_id"] == "abc-1"
        ev = rec.events[-1]
        assert ev["actor"] == {"type": "user", "id": "42"}
        assert ev["context"] == {"ip": "203.0.113.9", "user_agent": "ua/1", "request_id": "abc-1",
                                 "method": "POST", "path": "/projects", "source": "api"}

        # An untrusted peer: its X-Forwarded-For is ignored; a bad request id is replaced.
        r = c.post("/projects", headers={"x-test-peer": "192.0.2.8", "x-forwarded-for": "198.51.100.1",
                                         "x-request-id": "has space"})
        ev = rec.events[-1]
        assert ev["context"]["ip"] == "192.0.2.8"
        assert ev["context"]["request_id"] == r.headers["x-request-id"] != "has space"
        assert "actor" not in ev  # the previous request's actor never leaks

        c.get("/sync", headers={"x-test-peer": "192.0.2.9"})
        assert rec.events[-1]["context"]["ip"] == "192.0.2.9"  # sync endpoints see it too


def test_actor_callable_sync_and_async():
    for fn in (lambda scope: {"type": "service", "id": "cron"},):
        rec = Recorder()
        with TestClient(make_app(rec, actor=fn, source=None)) as c:
            c.post("/projects")
        assert rec.events[-1]["actor"] == {"type": "service", "id": "cron"}
        assert "source" not in rec.events[-1]["context"]

    async def from_header(scope: Any) -> Any:
        for k, v in scope["headers"]:
            if k == b"authorization":
                return {"type": "api_key", "id": v.decode().split()[-1]}
        return None

    rec = Recorder()
    with TestClient(make_app(rec, actor=from_header)) as c:
        c.post("/projects", headers={"authorization": "Bearer key_9"})
        c.post("/projects")
    assert rec.events[0]["actor"] == {"type": "api_key", "id": "key_9"}
    assert "actor" not in rec.events[1]


def test_concurrent_requests_keep_their_own_context():
    seen: Dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0.01 if scope["path"] == "/a" else 0)
        ev: Dict[str, Any] = {"action": "x.y"}
        fill_event(ev)
        seen[scope["path"]] = ev["context"]
        await send({"type": "http.response.start", "status": 204, "headers": [(b"x-request-id", b"old")]})
        await send({"type": "http.response.body", "body": b""})

    mw = HashtrailMiddleware(app)

    async def call(path: str, rid: bytes) -> List[Any]:
        sent: List[Any] = []

        async def send(m: Any) -> None:
            sent.append(m)

        async def receive() -> Any:
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "method": "GET", "path": path, "client": ("192.0.2.1", 1),
                 "headers": [(b"x-request-id", rid)]}
        await mw(scope, receive, send)
        return sent

    async def both() -> Any:
        return await asyncio.gather(call("/a", b"rid-a"), call("/b", b"rid-b"))

    sent_a, sent_b = asyncio.run(both())
    assert seen["/a"]["request_id"] == "rid-a" and seen["/b"]["request_id"] == "rid-b"
    # The response carries exactly one request id header: the middleware's.
    assert [h for h in sent_a[0]["headers"] if h[0].lower() == b"x-request-id"] == [(b"x-request-id", b"rid-a")]
    assert [h for h in sent_b[0]["headers"] if h[0].lower() == b"x-request-id"] == [(b"x-request-id", b"rid-b")]
    assert hashtrail.get_context() == {}


def test_websocket_context():
    rec = Recorder()
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        rec.record({"action": "session.open"})
        await websocket.send_text("ok")
        await websocket.close()

    app.add_middleware(HashtrailMiddleware, trusted_proxies=["10.0.0.0/8"])
    with TestClient(PeerShim(app)) as c:
        with c.websocket_connect("/ws", headers={"x-test-peer": "10.0.0.9", "x-forwarded-for": "198.51.100.3",
                                                 "x-request-id": "ws-1"}) as s:
            assert s.receive_text() == "ok"
    ctx = rec.events[-1]["context"]
    assert ctx["ip"] == "198.51.100.3" and ctx["request_id"] == "ws-1" and ctx["path"] == "/ws"
    assert "method" not in ctx


def test_lifespan_passes_through():
    calls: List[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])

    asyncio.run(HashtrailMiddleware(app)({"type": "lifespan"}, None, None))
    assert calls == ["lifespan"]


@pytest.mark.skipif(not os.environ.get("HASHTRAIL_URL"), reason="HASHTRAIL_URL unset: run under scripts/with-server")
def test_round_trip_through_a_real_server():
    url, admin = os.environ["HASHTRAIL_URL"], os.environ["HASHTRAIL_ADMIN_KEY"]
    tenant = "asgi-" + hashtrail.ULID().lower()[-10:]
    adm = hashtrail.Admin(url, admin)
    adm.create_tenant(tenant)
    client = hashtrail.Client(url, adm.create_key(tenant, "ingest"), tenant=tenant, flush_interval=0.05)
    try:
        with TestClient(make_app(client, trusted_proxies=["10.0.0.0/8"])) as c:
            c.post("/projects", headers={"x-test-peer": "10.9.9.9", "x-forwarded-for": "203.0.113.77",
                                         "x-user": "5", "x-request-id": "rt-1"})
        assert client.flush(10)
    finally:
        client.close()
    ev, = hashtrail.Reader(url, admin).events(tenant, q="action:project.create")
    assert ev["actor"]["id"] == "5" and ev["context"]["ip"] == "203.0.113.77"
    assert ev["context"]["request_id"] == "rt-1" and ev["leaf_hash"]


def test_a_bad_trusted_proxy_fails_at_start_up():
    with pytest.raises(ValueError):
        HashtrailMiddleware(lambda s, r, se: None, trusted_proxies=["10.0.0.0/8", "not-an-address"])
