"""hashtrail.pyramid: settings, request.hashtrail, the tween's request context.

Runs Pyramid (Debian's python3-pyramid) in-process through WebTest
(python3-webtest); events go to a recording client, and, when
HASHTRAIL_URL is set (scripts/with-server), once through a real server.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any, Dict, List

import pytest

if os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") == "1":  # CI: a missing framework fails
    import pyramid  # noqa: F401
    import webtest
else:
    pytest.importorskip("pyramid", reason="Pyramid is not installed (Debian: python3-pyramid)")
    webtest = pytest.importorskip("webtest", reason="WebTest is not installed (Debian: python3-webtest)")

from pyramid.config import Configurator  # noqa: E402
from pyramid.response import Response  # noqa: E402
from pyramid.tweens import EXCVIEW  # noqa: E402

import hashtrail  # noqa: E402
from hashtrail.context import fill_event, get_actor, get_context  # noqa: E402
from hashtrail.pyramid import request_id  # noqa: E402


class Recorder:
    """Stands in for hashtrail.Client: keeps what it is asked to record."""

    def __init__(self) -> None:
        self.events: List[Dict[str, Any]] = []
        self.lock = threading.Lock()

    def record(self, event: Dict[str, Any]) -> bool:
        ev = dict(event)
        fill_event(ev)  # as Client.record does
        with self.lock:
            self.events.append(ev)
        return True


class HeaderPolicy:
    """A security policy trusting an X-User header (tests only)."""

    def identity(self, request):
        return request.headers.get("X-User")

    def authenticated_userid(self, request):
        return self.identity(request)

    def permits(self, request, context, permission):
        return True


def delete_project(request):
    request.hashtrail.record({"action": "project.delete",
                              "targets": [{"type": "project", "id": request.matchdict["pid"]}]})
    return Response(json_body={"request_id": request_id(request), "context": get_context()})


def login(request):
    hashtrail.set_actor({"type": "user", "id": "alice", "auth": {"method": "password"}})
    request.hashtrail.record({"action": "user.login"})
    return Response("ok")


def boom(request):
    request.hashtrail.record({"action": "job.fail"})
    raise RuntimeError("boom")


def error_view(exc, request):
    return Response("failed", status=500)


def make_app(rec: Any, settings: Dict[str, Any] = None, loader: Any = None) -> webtest.TestApp:
    s = {"hashtrail.trusted_proxies": "10.0.0.0/8\n192.168.1.1"}
    s.update(settings or {})
    with Configurator(settings=s) as config:
        config.set_security_policy(HeaderPolicy())
        config.include("hashtrail.pyramid")
        if rec is not None:
            config.set_hashtrail_client(rec)
        if loader is not None:
            config.set_hashtrail_actor_loader(loader)
        config.add_route("delete", "/projects/{pid}/delete")
        config.add_view(delete_project, route_name="delete")
        config.add_route("login", "/login")
        config.add_view(login, route_name="login")
        config.add_route("boom", "/boom")
        config.add_view(boom, route_name="boom")
        config.add_view(error_view, context=RuntimeError)
        app = config.make_wsgi_app()
    return webtest.TestApp(app)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def test_context_fields_actor_and_request_id(rec):
    app = make_app(rec)
    r = app.post("/projects/7/delete", headers={"User-Agent": "pytest/1", "X-User": "42"},
                 extra_environ={"REMOTE_ADDR": "198.51.100.7"})
    (ev,) = rec.events
    ctx = ev["context"]
    assert ctx["ip"] == "198.51.100.7" and ctx["user_agent"] == "pytest/1"
    assert ctx["method"] == "POST" and ctx["path"] == "/projects/7/delete" and ctx["source"] == "web"
    rid = r.headers["X-Request-ID"]
    assert len(rid) == 26 and ctx["request_id"] == rid == r.json["request_id"]
    assert ev["actor"] == {"type": "user", "id": "42"}  # default loader: authenticated_userid


def test_trusted_proxies_setting(rec):
    app = make_app(rec)
    app.post("/projects/1/delete", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"},
             extra_environ={"REMOTE_ADDR": "192.168.1.1"})
    app.post("/projects/2/delete", headers={"X-Forwarded-For": "6.6.6.6"},
             extra_environ={"REMOTE_ADDR": "192.168.1.2"})
    app.post("/projects/3/delete", headers={"Forwarded": "for=203.0.113.50;proto=https"},
             extra_environ={"REMOTE_ADDR": "10.0.0.1"})
    assert [e["context"]["ip"] for e in rec.events] == ["203.0.113.9", "192.168.1.2", "203.0.113.50"]


def test_request_id_kept_or_replaced(rec):
    app = make_app(rec, {"hashtrail.request_id_header": "X-Correlation-ID", "hashtrail.source": "api"})
    assert app.post("/projects/1/delete", headers={"X-Correlation-ID": "c-1"}).headers["X-Correlation-ID"] == "c-1"
    r = app.post("/projects/1/delete", headers={"X-Correlation-ID": "bad id"})
    assert len(r.headers["X-Correlation-ID"]) == 26
    r = app.post("/projects/1/delete", extra_environ={"HTTP_X_CORRELATION_ID": "ok\n"})
    assert len(r.headers["X-Correlation-ID"]) == 26
    assert rec.events[0]["context"]["request_id"] == "c-1" and rec.events[0]["context"]["source"] == "api"


def test_actor_loader_directive_and_view_set_actor(rec):
    app = make_app(rec, loader=lambda request: {"type": "service", "id": request.headers.get("X-Svc", "none")})
    app.post("/projects/1/delete", headers={"X-Svc": "ci"})
    app.post("/login")
    assert rec.events[0]["actor"] == {"type": "service", "id": "ci"}
    assert rec.events[1]["actor"]["id"] == "alice"


def test_actor_loader_dotted_setting(rec):
    app = make_app(rec, {"hashtrail.actor_loader": "hashtrail.pyramid.default_actor"})
    app.post("/projects/1/delete", headers={"X-User": "5"})
    app.post("/projects/1/delete")
    assert rec.events[0]["actor"] == {"type": "user", "id": "5"} and "actor" not in rec.events[1]


def test_context_restored_after_an_error(rec):
    app = make_app(rec)
    r = app.get("/boom", headers={"X-User": "7"}, status=500)
    assert r.text == "failed"
    assert rec.events[0]["actor"] == {"type": "user", "id": "7"}
    assert "X-Request-ID" in r.headers  # the tween is outside the exception view
    assert get_context() == {} and get_actor() is None


def test_tween_is_outermost(rec):
    app = make_app(rec)
    tweens = app.app.registry.queryUtility(__import__("pyramid.interfaces", fromlist=["ITweens"]).ITweens)
    names = [name for name, _ in tweens.implicit()]
    assert names[0] == "hashtrail.pyramid.tween_factory"
    assert names.index("hashtrail.pyramid.tween_factory") < names.index(EXCVIEW)


def test_client_from_settings():
    app = make_app(None, {"hashtrail.url": "http://127.0.0.1:9", "hashtrail.api_key": "k",
                          "hashtrail.tenant": "pypi", "hashtrail.service": "warehouse"})
    client = app.app.registry.hashtrail_client
    assert isinstance(client, hashtrail.Client)
    assert client.tenant == "pypi" and client.service == {"name": "warehouse"}
    client.close(timeout=0)
    # Without a URL there is no client, and request.hashtrail is None.
    with Configurator(settings={}) as config:
        config.include("hashtrail.pyramid")
        config.add_route("x", "/x")
        config.add_view(lambda r: Response(str(r.hashtrail)), route_name="x")
        bare = webtest.TestApp(config.make_wsgi_app())
    assert bare.get("/x").text == "None"


def test_a_given_client_wins_over_settings(rec):
    app = make_app(rec, {"hashtrail.url": "http://127.0.0.1:9", "hashtrail.api_key": "k"})
    assert app.app.registry.hashtrail_client is rec  # no second client made from the settings
    app.post("/projects/1/delete")
    assert len(rec.events) == 1


def test_url_without_key_fails_at_include():
    with pytest.raises(ValueError, match="hashtrail.api_key"):
        with Configurator(settings={"hashtrail.url": "http://127.0.0.1:9"}) as config:
            config.include("hashtrail.pyramid")


def test_bad_trusted_proxy_fails_at_include():
    with pytest.raises(ValueError):
        with Configurator(settings={"hashtrail.trusted_proxies": "nope"}) as config:
            config.include("hashtrail.pyramid")


@pytest.mark.server
def test_round_trip_through_a_real_server():
    url, admin_key = os.environ.get("HASHTRAIL_URL"), os.environ.get("HASHTRAIL_ADMIN_KEY")
    if not url or not admin_key:
        pytest.skip("HASHTRAIL_URL and HASHTRAIL_ADMIN_KEY unset (run under scripts/with-server)")
    admin = hashtrail.Admin(url, admin_key)
    tenant = "pyramid-" + uuid.uuid4().hex[:10]
    admin.create_tenant(tenant)
    app = make_app(None, {"hashtrail.url": url, "hashtrail.api_key": admin.create_key(tenant, "ingest"),
                          "hashtrail.tenant": tenant, "hashtrail.service": "pyramid-test"})
    r = app.post("/projects/7/delete", headers={"User-Agent": "ua/1", "X-User": "42"},
                 extra_environ={"REMOTE_ADDR": "203.0.113.4"})
    client = app.app.registry.hashtrail_client
    assert client.flush(timeout=30)
    (ev,) = admin.events(tenant, action="project.delete")
    assert ev["actor"] == {"type": "user", "id": "42"}
    assert ev["context"]["ip"] == "203.0.113.4" and ev["context"]["request_id"] == r.headers["X-Request-ID"]
    assert ev["service"]["name"] == "pyramid-test"
    client.close(timeout=10)
