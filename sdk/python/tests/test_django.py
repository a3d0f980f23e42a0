"""hashtrail.django: middleware context, sign-in receivers, on-commit recording, model audit.

Runs Django (Debian's python3-django) in-process with an in-memory SQLite
database; events go to a recording client, and, when HASHTRAIL_URL is set
(scripts/with-server), once through a real server and back.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, List

import pytest

try:
    import django
except ImportError:
    if os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") == "1":
        raise
    pytest.skip("Django is not installed (Debian: python3-django)", allow_module_level=True)

from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-only",
        ALLOWED_HOSTS=["*"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "hashtrail.django.HashtrailConfig",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "hashtrail.django.HashtrailMiddleware",
        ],
        ROOT_URLCONF=__name__,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        HASHTRAIL={
            "URL": "http://127.0.0.1:9",  # never used: the tests set a client
            "API_KEY": "unused",
            "TENANT": "acme",
            "TRUSTED_PROXIES": ["10.0.0.0/8"],
        },
    )
    django.setup()

from django.contrib.auth import authenticate, get_user_model, login, logout  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import Client as HTTPClient  # noqa: E402
from django.urls import path  # noqa: E402

import hashtrail  # noqa: E402
import hashtrail.django as hd  # noqa: E402
from hashtrail.context import fill_event  # noqa: E402

call_command("migrate", run_syncdb=True, verbosity=0)
User = get_user_model()


class Recorder:
    """Stands in for hashtrail.Client: keeps what it is asked to record."""

    def __init__(self) -> None:
        self.events: List[Dict[str, Any]] = []
        self.fan_outs: List[Any] = []
        self.lock = threading.Lock()

    def record(self, event: Dict[str, Any]) -> None:
        ev = dict(event)
        fill_event(ev)  # as Client.record does
        with self.lock:
            self.events.append(ev)

    def record_fan_out(self, tenants: List[str], event: Dict[str, Any]) -> None:
        with self.lock:
            self.fan_outs.append((list(tenants), dict(event)))

    def actions(self) -> List[str]:
        return [e["action"] for e in self.events]


# ---------------------------------------------------------------- views


def whoami(request: Any) -> JsonResponse:
    hd.get_client().record({"action": "page.view"})
    return JsonResponse({"request_id": request.hashtrail_request_id})


def do_login(request: Any) -> JsonResponse:
    if request.POST.get("method"):
        hd.set_login_method(request, request.POST["method"])
    user = authenticate(request, username=request.POST["username"], password=request.POST["password"])
    if user is None:
        return JsonResponse({"ok": False}, status=401)
    login(request, user)
    hd.get_client().record({"action": "settings.view"})
    return JsonResponse({"ok": True})


def do_logout(request: Any) -> JsonResponse:
    logout(request)
    return JsonResponse({"ok": True})


def rename(request: Any) -> JsonResponse:
    u = request.user
    try:
        with transaction.atomic():
            u.first_name = request.POST["first_name"]
            u.set_password(request.POST["password"])
            u.save()
            if request.POST.get("fail"):
                raise RuntimeError("the change rolls back")
    except RuntimeError:
        return JsonResponse({"ok": False}, status=500)
    return JsonResponse({"ok": True})


urlpatterns = [
    path("whoami", whoami),
    path("login", do_login),
    path("logout", do_logout),
    path("rename", rename),
]


@pytest.fixture()
def rec():
    r = Recorder()
    old = hd.set_client(r)
    yield r
    hd.set_client(old)


@pytest.fixture()
def alice(db_reset):
    return User.objects.create_user("alice", "alice@example.com", "correct horse", first_name="Alice")


@pytest.fixture()
def db_reset():
    User.objects.all().delete()
    yield


# ---------------------------------------------------------------- middleware


def test_middleware_context_through_trusted_proxy_only(rec):
    c = HTTPClient()
    r = c.get("/whoami", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.5", REMOTE_ADDR="10.1.2.3",
              HTTP_USER_AGENT="pytest-agent", HTTP_X_REQUEST_ID="req-123")
    assert r.status_code == 200
    assert r["X-Request-ID"] == "req-123"
    ev = rec.events[-1]
    assert ev["context"]["ip"] == "203.0.113.5"  # the first address left of the trusted proxy
    assert ev["context"]["user_agent"] == "pytest-agent"
    assert ev["context"]["request_id"] == "req-123"
    assert ev["context"]["method"] == "GET" and ev["context"]["path"] == "/whoami"
    assert "actor" not in ev  # anonymous

    # An untrusted peer's X-Forwarded-For is never believed.
    c.get("/whoami", HTTP_X_FORWARDED_FOR="198.51.100.7", REMOTE_ADDR="192.0.2.50")
    assert rec.events[-1]["context"]["ip"] == "192.0.2.50"


def test_middleware_generates_request_id_when_missing_or_invalid(rec):
    c = HTTPClient()
    r1 = c.get("/whoami")
    r2 = c.get("/whoami", HTTP_X_REQUEST_ID="bad id with spaces")
    ids = {r1["X-Request-ID"], r2["X-Request-ID"]}
    assert len(ids) == 2 and "bad id with spaces" not in ids
    assert rec.events[-2]["context"]["request_id"] == r1["X-Request-ID"]
    assert r1.json()["request_id"] == r1["X-Request-ID"]


def test_logged_in_user_is_the_actor(rec, alice):
    c = HTTPClient()
    c.force_login(alice)
    c.get("/whoami")
    actor = rec.events[-1]["actor"]
    assert actor == {"type": "user", "id": str(alice.pk), "name": "Alice", "email": "alice@example.com"}


# ---------------------------------------------------------------- sign-in receivers


def test_login_logout_and_failed_login_signals(rec, alice):
    c = HTTPClient()
    assert c.post("/login", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="192.0.2.1").status_code == 401
    assert c.post("/login", {"username": "nobody@example.com", "password": "x"}).status_code == 401
    assert c.post("/login", {"username": "alice", "password": "correct horse", "method": "password+totp"},
                  REMOTE_ADDR="192.0.2.9").status_code == 200
    session_key = c.session.session_key
    c.post("/logout")
    assert rec.actions() == ["user.login_failed", "user.login_failed", "user.login", "settings.view", "user.logout"]
    failed, unknown, ok, after, out = rec.events
    assert failed["outcome"] == "failure" and failed["severity"] == "medium"
    assert failed["error"] == "invalid_credentials"
    assert failed["actor"]["id"] == str(alice.pk) and failed["context"]["ip"] == "192.0.2.1"
    assert "wrong" not in repr(failed)  # the password tried never travels
    assert unknown["error"] == "unknown_user" and unknown["actor"] == {
        "type": "user", "email": "nobody@example.com", "auth": {"method": "password", "mfa": False}}
    assert ok["actor"]["auth"] == {"method": "password+totp", "mfa": True}
    assert ok["targets"] == [{"type": "user", "id": str(alice.pk), "name": "alice"}]
    assert ok["context"]["ip"] == "192.0.2.9"
    # The rest of the login request records as the user who just signed in, in the session it got.
    assert after["actor"]["id"] == str(alice.pk)
    assert out["actor"]["id"] == str(alice.pk)
    sid = ok["context"]["session_id"]
    assert sid.startswith("s_") and after["context"]["session_id"] == out["context"]["session_id"] == sid
    assert session_key and session_key not in repr(rec.events)  # an identifier of the session, never its key


def test_installation_key_sends_sign_ins_to_each_tenant_of_the_user(rec, alice, settings_override):
    settings_override(TENANT=None, USER_TENANTS=lambda u: ["org-1", "org-2"], FALLBACK_TENANT="platform")
    c = HTTPClient()
    c.post("/login", {"username": "alice", "password": "correct horse"})
    c.post("/login", {"username": "ghost", "password": "x"})
    (tenants, ev), = rec.fan_outs
    assert tenants == ["org-1", "org-2"] and ev["action"] == "user.login"
    ghost = rec.events[-1]
    assert ghost["tenant"] == "platform" and ghost["actor"]["id"] == "username:ghost"


@pytest.fixture()
def settings_override():
    saved = dict(settings.HASHTRAIL)

    def apply(**kw: Any) -> None:
        conf = dict(saved)
        for k, v in kw.items():
            if v is None:
                conf.pop(k, None)
            else:
                conf[k] = v
        settings.HASHTRAIL = conf

    yield apply
    settings.HASHTRAIL = saved


# ---------------------------------------------------------------- on commit and model changes


def test_record_on_commit_only_after_commit(rec, db_reset):
    with transaction.atomic():
        ev = hd.record_on_commit({"action": "project.create"})
        assert rec.events == []  # not before the commit
    assert [e["id"] for e in rec.events] == [ev["id"]]

    with pytest.raises(RuntimeError):
        with transaction.atomic():
            hd.record_on_commit({"action": "project.delete"})
            raise RuntimeError("rolled back")
    assert rec.actions() == ["project.create"]

    # A savepoint that rolls back drops its events; the outer commit keeps the rest.
    with transaction.atomic():
        hd.record_on_commit({"action": "a.kept"})
        try:
            with transaction.atomic():
                hd.record_on_commit({"action": "b.dropped"})
                raise ValueError
        except ValueError:
            pass
    assert rec.actions() == ["project.create", "a.kept"]


def test_record_on_commit_keeps_the_context_of_the_call(rec, db_reset):
    with transaction.atomic():
        with hashtrail.request_context(actor={"type": "user", "id": "7"}, ip="192.0.2.7"):
            hd.record_on_commit({"action": "project.create"})
    ev = rec.events[-1]
    assert ev["actor"] == {"type": "user", "id": "7"} and ev["context"]["ip"] == "192.0.2.7"


def test_audit_model_diffs_with_password_redacted_and_nothing_on_rollback(rec, alice):
    undo = hd.audit_model(User, object_type="user", fields=["username", "email", "first_name", "last_name", "password"])
    try:
        c = HTTPClient()
        c.force_login(alice)
        assert c.post("/rename", {"first_name": "Al", "password": "new secret", "fail": "1"}).status_code == 500
        assert "user.update" not in rec.actions()
        assert c.post("/rename", {"first_name": "Al", "password": "new secret"}).status_code == 200
        ev = [e for e in rec.events if e["action"] == "user.update"][-1]
        assert ev["changes"] == [
            {"field": "password", "redacted": True},
            {"field": "first_name", "old": "Alice", "new": "Al"},
        ]
        assert ev["targets"][0] == {"type": "user", "id": str(alice.pk), "name": "alice"}
        assert ev["actor"]["id"] == str(alice.pk)
        assert "new secret" not in repr(ev) and alice.password not in repr(ev)

        bob = User.objects.create_user("bob", "bob@example.com", "pw")
        pk = bob.pk
        bob.save()  # nothing audited changed: no event
        bob.delete()
        tail = rec.events[-2:]
        assert [e["action"] for e in tail] == ["user.create", "user.delete"]
        assert tail[1]["targets"][0]["id"] == str(pk)
    finally:
        undo()
    User.objects.create_user("carol", "carol@example.com", "pw")
    assert rec.actions()[-1] == "user.delete"  # no longer audited


def test_audit_m2m_from_either_side_with_clear_and_rollback(rec, alice):
    from django.contrib.auth.models import Group

    # User.groups is the field; Group.user_set its reverse side: either descriptor works.
    undo = hd.audit_m2m(Group.user_set, add="member.add", remove="member.remove",
                        targets=lambda user, group: [{"type": "group", "id": str(group.pk)},
                                                     {"type": "user", "id": str(user.pk)}])
    try:
        ops = Group.objects.create(name="ops")
        bob = User.objects.create_user("bob", "bob@example.com", "pw")
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                ops.user_set.add(alice)
                raise RuntimeError("rolled back")
        assert rec.actions() == []
        with hashtrail.request_context(actor={"type": "user", "id": "admin"}):
            ops.user_set.add(alice, bob)  # from the reverse side: one event per member
            alice.groups.remove(ops)      # from the field's side
            ops.user_set.clear()          # names nobody: the members are read first
        pairs = [(e["action"], e["targets"][1]["id"]) for e in rec.events]
        assert pairs == [("member.add", str(alice.pk)), ("member.add", str(bob.pk)),
                         ("member.remove", str(alice.pk)), ("member.remove", str(bob.pk))]
        assert all(e["targets"][0] == {"type": "group", "id": str(ops.pk)} for e in rec.events)
        assert all(e["actor"] == {"type": "user", "id": "admin"} for e in rec.events)
    finally:
        undo()
    Group.objects.get(name="ops").user_set.add(alice)
    assert len(rec.events) == 4  # no longer audited


def test_model_changes_rules():
    got = hd.model_changes({"a": 1, "api_key": "x", "gone": 2, "same": 3},
                           {"a": 2, "api_key": "y", "same": 3, "added": [1]}, secret=["ssn"])
    assert got == [
        {"field": "a", "old": 1, "new": 2},
        {"field": "api_key", "redacted": True},
        {"field": "gone", "old": 2},
        {"field": "added", "new": [1]},
    ]
    assert hd.model_changes({"ssn": "1"}, {"ssn": "2"}, secret=["ssn"]) == [{"field": "ssn", "redacted": True}]


# ---------------------------------------------------------------- against a real server


@pytest.mark.skipif(not os.environ.get("HASHTRAIL_URL"), reason="HASHTRAIL_URL unset: run under scripts/with-server")
def test_round_trip_through_a_real_server(alice):
    url, admin = os.environ["HASHTRAIL_URL"], os.environ["HASHTRAIL_ADMIN_KEY"]
    tenant = "django-" + hashtrail.ULID().lower()[-10:]
    adm = hashtrail.Admin(url, admin)
    adm.create_tenant(tenant)
    key = adm.create_key(tenant, "ingest")
    client = hashtrail.Client(url, key, tenant=tenant, flush_interval=0.05)
    old = hd.set_client(client)
    saved = settings.HASHTRAIL
    settings.HASHTRAIL = dict(saved, TENANT=tenant)
    try:
        c = HTTPClient()
        c.post("/login", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="192.0.2.44")
        c.post("/login", {"username": "alice", "password": "correct horse"}, REMOTE_ADDR="192.0.2.44")
        assert client.flush(10)
    finally:
        hd.set_client(old)
        settings.HASHTRAIL = saved
        client.close()
    got = hashtrail.Reader(url, admin).events(tenant, q="actor:user:%s action:user.*" % alice.pk, order="asc")
    assert [e["action"] for e in got] == ["user.login_failed", "user.login"]
    assert got[0]["outcome"] == "failure" and got[1]["actor"]["auth"]["method"] == "password"
    assert all(e["context"]["ip"] == "192.0.2.44" and e["leaf_hash"] for e in got)
