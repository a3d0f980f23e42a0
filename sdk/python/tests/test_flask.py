"""hashtrail.flask: request context per request, lazy actor, teardown, config.

Runs Flask (Debian's python3-flask) in-process through its test client;
events go to a recording client, and, when HASHTRAIL_URL is set
(scripts/with-server), once through a real server and back.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any, Dict, List

import pytest

if os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") == "1":  # CI: a missing framework fails
    import flask
else:
    flask = pytest.importorskip("flask", reason="Flask is not installed (Debian: python3-flask)")

import hashtrail  # noqa: E402
from hashtrail.context import fill_event, get_actor, get_context  # noqa: E402
from hashtrail.flask import Hashtrail, request_id  # noqa: E402


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


def make_app(recorder: Recorder, **kwargs: Any) -> flask.Flask:
    app = flask.Flask("flask_test")
    ext = Hashtrail(app, client=recorder, trusted_proxies=["10.0.0.0/8"], **kwargs)

    @ext.actor_loader
    def load_actor():
        user = flask.g.get("user")
        return {"type": "user", "id": user} if user else None

    # Registered after the extension's hook: the loader must still see it,
    # because it runs when an event is recorded.
    @app.before_request
    def authenticate():
        flask.g.user = flask.request.headers.get("X-User")

    @app.post("/projects/<pid>/delete")
    def delete_project(pid):
        ext.record({"action": "project.delete", "targets": [{"type": "project", "id": pid}]})
        return {"request_id": request_id(), "context": get_context()}

    @app.post("/login")
    def login():
        hashtrail.set_actor({"type": "user", "id": "alice", "auth": {"method": "password"}})
        ext.record({"action": "user.login"})
        return "ok"

    @app.get("/boom")
    def boom():
        ext.record({"action": "job.fail"})
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def test_context_fields_and_request_id(rec):
    c = make_app(rec).test_client()
    r = c.post("/projects/7/delete", headers={"User-Agent": "pytest/1", "X-User": "42"},
               environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert r.status_code == 200
    (ev,) = rec.events
    ctx = ev["context"]
    assert ctx["ip"] == "198.51.100.7"
    assert ctx["user_agent"] == "pytest/1"
    assert ctx["method"] == "POST" and ctx["path"] == "/projects/7/delete"
    assert ctx["source"] == "web"
    rid = r.headers["X-Request-ID"]
    assert len(rid) == 26 and ctx["request_id"] == rid == r.get_json()["request_id"]
    assert ev["actor"] == {"type": "user", "id": "42"}
    assert ev["targets"] == [{"type": "project", "id": "7"}]


def test_client_ip_through_trusted_proxies_only(rec):
    c = make_app(rec).test_client()
    # The peer is a trusted proxy: the first untrusted hop from the right wins,
    # whatever the client put on the left.
    c.post("/projects/1/delete", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 10.1.2.3"},
           environ_base={"REMOTE_ADDR": "10.0.0.5"})
    # An untrusted peer's X-Forwarded-For is never believed.
    c.post("/projects/2/delete", headers={"X-Forwarded-For": "6.6.6.6"},
           environ_base={"REMOTE_ADDR": "198.51.100.1"})
    # RFC 7239 Forwarded is read when present.
    c.post("/projects/3/delete", headers={"Forwarded": 'for="[2001:db8::1]:443"', "X-Forwarded-For": "6.6.6.6"},
           environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert [e["context"]["ip"] for e in rec.events] == ["203.0.113.9", "198.51.100.1", "2001:db8::1"]


def test_request_id_header_kept_or_replaced(rec):
    c = make_app(rec).test_client()
    r = c.post("/projects/1/delete", headers={"X-Request-ID": "req-123"})
    assert r.headers["X-Request-ID"] == "req-123"
    for bad in ("has space", "x" * 129, "\u00e9t\u00e9"):
        r = c.post("/projects/1/delete", headers={"X-Request-ID": bad.encode().decode("latin-1")})
        assert r.headers["X-Request-ID"] != bad and len(r.headers["X-Request-ID"]) == 26
    assert [e["context"]["request_id"] for e in rec.events][0] == "req-123"
    # A trailing new line (which a lax server might pass on) is never echoed.
    r = c.post("/projects/1/delete", environ_base={"HTTP_X_REQUEST_ID": "ok\n"})
    assert len(r.headers["X-Request-ID"]) == 26 and rec.events[-1]["context"]["request_id"] != "ok\n"


def test_custom_header_and_source(rec):
    c = make_app(rec, request_id_header="X-Correlation-ID", source="api").test_client()
    r = c.post("/projects/1/delete", headers={"X-Correlation-ID": "corr-1"})
    assert r.headers["X-Correlation-ID"] == "corr-1"
    assert rec.events[0]["context"]["source"] == "api"


def test_view_sets_actor_and_no_actor_without_user(rec):
    c = make_app(rec).test_client()
    c.post("/login")
    c.post("/projects/9/delete")
    assert rec.events[0]["actor"]["id"] == "alice"
    assert "actor" not in rec.events[1]


def test_teardown_clears_context_even_after_an_error(rec):
    app = make_app(rec)
    c = app.test_client()
    assert c.get("/boom", headers={"X-User": "7"}).status_code == 500
    assert rec.events[0]["actor"] == {"type": "user", "id": "7"}
    assert get_context() == {} and get_actor() is None
    c.post("/projects/1/delete", headers={"X-User": "8"})
    assert get_context() == {} and get_actor() is None
    # With an app context pushed around several requests (as CLI commands
    # and tests do), nothing leaks from one request into the next either.
    with app.app_context():
        c.post("/projects/1/delete", headers={"X-User": "9", "User-Agent": "a"})
        c.post("/projects/2/delete")
    assert "actor" not in rec.events[-1] and rec.events[-1]["context"].get("user_agent") != "a"
    assert get_context() == {}


def test_concurrent_requests_keep_their_own_context(rec):
    app = make_app(rec)
    errors: List[str] = []

    def worker(n: int) -> None:
        c = app.test_client()
        for i in range(20):
            r = c.post(f"/projects/{n}/delete", headers={"X-User": f"u{n}", "X-Request-ID": f"r{n}-{i}"})
            if r.get_json()["context"]["request_id"] != f"r{n}-{i}":
                errors.append(f"worker {n} request {i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(rec.events) == 80
    for ev in rec.events:
        n = ev["targets"][0]["id"]
        assert ev["actor"]["id"] == f"u{n}" and ev["context"]["request_id"].startswith(f"r{n}-")


def test_init_app_per_app_clients_and_config():
    ext = Hashtrail()
    a, b = flask.Flask("a"), flask.Flask("b")
    b.config.update(HASHTRAIL_URL="http://127.0.0.1:9", HASHTRAIL_API_KEY="k", HASHTRAIL_TENANT="acme",
                    HASHTRAIL_SERVICE="billing", HASHTRAIL_TRUSTED_PROXIES="10.0.0.0/8, 192.168.0.1")
    ext.init_app(a)
    ext.init_app(b)
    with a.app_context():
        assert ext.client is None
        with pytest.raises(RuntimeError):
            ext.record({"action": "x.y"})
    with b.app_context():
        client = ext.client
        assert isinstance(client, hashtrail.Client)
        assert client.tenant == "acme" and client.service == {"name": "billing"}
        assert b.extensions["hashtrail"].trusted == ("10.0.0.0/8", "192.168.0.1")
    client.close(timeout=0)


def test_url_without_key_fails_at_init():
    app = flask.Flask("nokey")
    app.config["HASHTRAIL_URL"] = "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="HASHTRAIL_API_KEY"):
        Hashtrail(app)


def test_bad_trusted_proxy_fails_at_init():
    app = flask.Flask("bad")
    app.config["HASHTRAIL_TRUSTED_PROXIES"] = "10.0.0.0/8 not-an-address"
    with pytest.raises(ValueError):
        Hashtrail(app)


@pytest.mark.server
def test_round_trip_through_a_real_server():
    url, admin_key = os.environ.get("HASHTRAIL_URL"), os.environ.get("HASHTRAIL_ADMIN_KEY")
    if not url or not admin_key:
        pytest.skip("HASHTRAIL_URL and HASHTRAIL_ADMIN_KEY unset (run under scripts/with-server)")
    admin = hashtrail.Admin(url, admin_key)
    tenant = "flask-" + uuid.uuid4().hex[:10]
    admin.create_tenant(tenant)
    app = flask.Flask("real")
    app.config.update(HASHTRAIL_URL=url, HASHTRAIL_API_KEY=admin.create_key(tenant, "ingest"),
                      HASHTRAIL_TENANT=tenant, HASHTRAIL_SERVICE="flask-test")
    ext = Hashtrail(app, actor_loader=lambda: {"type": "user", "id": "42", "email": "u42@example.com"})

    @app.post("/delete")
    def delete():
        ext.client.record({"action": "project.delete", "targets": [{"type": "project", "id": "7"}]})
        return "ok"

    r = app.test_client().post("/delete", headers={"User-Agent": "ua/1"}, environ_base={"REMOTE_ADDR": "203.0.113.4"})
    with app.app_context():
        assert ext.client.flush(timeout=30)
    (ev,) = admin.events(tenant, action="project.delete")
    assert ev["actor"]["id"] == "42" and ev["actor"]["email"] == "u42@example.com"
    assert ev["context"]["ip"] == "203.0.113.4" and ev["context"]["user_agent"] == "ua/1"
    assert ev["context"]["request_id"] == r.headers["X-Request-ID"]
    assert ev["service"]["name"] == "flask-test"
    with app.app_context():
        ext.client.close(timeout=10)
