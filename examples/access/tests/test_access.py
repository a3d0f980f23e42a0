"""Acceptance test of the Access example against a real Hashtrail server.

Drives Access's JSON API as its users would (through the identity proxy's
header), then checks through Hashtrail's query API that each of the 21
state-changing operations was recorded exactly once, after its commit, with
who, why, from where and what changed; that failed operations (constraint
violations, failed checks, refused permissions) recorded nothing; and that a
webhook sink streamed every event, signed per Standard Webhooks, to an
external receiver this test runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List

import pytest

import hashtrail
from access_app import create_app
from access_app.models import OktaGroup, OktaUser, Tag, db
from access_app.streaming import add_webhook_stream
from access_app.views import IDENTITY_HEADER

URL = os.environ.get("HASHTRAIL_URL")
ADMIN_KEY = os.environ.get("HASHTRAIL_ADMIN_KEY")
pytestmark = pytest.mark.skipif(not URL or not ADMIN_KEY,
                                reason="HASHTRAIL_URL/HASHTRAIL_ADMIN_KEY unset: run under scripts/with-server")

CLIENT_IP = "203.0.113.10"  # the user's address, as Cloudflare forwards it

ALL_ACTIONS = {
    "access_request.create", "access_request.approve", "access_request.reject",
    "role_request.create", "role_request.approve", "role_request.reject",
    "member.add", "member.remove", "owner.add", "owner.remove",
    "role.assign", "role.unassign",
    "group.create", "group.update", "group.delete",
    "app.create", "app.update", "app.delete",
    "tag.create", "tag.update", "tag.delete",
}


class Receiver:
    """The external system: a Standard Webhooks receiver keeping what it gets."""

    def __init__(self, secret: str) -> None:
        self.key = base64.b64decode(secret[len("whsec_"):])
        self.requests: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the sink's HTTP client expects

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hooks/hashtrail" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified_events(self) -> List[Dict[str, Any]]:
        """Every event received, each request's signature checked."""
        out = []
        with self.lock:
            reqs = list(self.requests)
        for r in reqs:
            h = {k.lower(): v for k, v in r["headers"].items()}
            msg_id, ts, sigs = h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]
            assert abs(int(ts) - time.time()) < 300
            expected = base64.b64encode(hmac.new(self.key, f"{msg_id}.{ts}.".encode() + r["body"],
                                                 hashlib.sha256).digest()).decode()
            assert f"v1,{expected}" in sigs.split(" "), "bad Standard Webhooks signature"
            events = json.loads(r["body"])
            tenant, _, span = msg_id.partition(":")
            first, last = (int(x) for x in span.split("-"))
            assert all(e["tenant"] == tenant for e in events)
            assert first <= min(e["seq"] for e in events) and max(e["seq"] for e in events) <= last
            out.extend(events)
        return out


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    admin = hashtrail.Admin(URL, ADMIN_KEY)
    tenant = "access-" + uuid.uuid4().hex[:10]
    admin.create_tenant(tenant)
    tenant_admin = admin.create_key(tenant, "admin", name="access-ops")
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    receiver = Receiver(secret)
    sink = add_webhook_stream(URL, tenant_admin, tenant, receiver.url, secret, filter="-category:system")
    assert sink["type"] == "webhook" and secret not in json.dumps(sink)  # the secret is never shown back
    db_path = tmp_path_factory.mktemp("access") / "access.db"
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "HASHTRAIL_URL": URL,
        "HASHTRAIL_API_KEY": admin.create_key(tenant, "ingest", name="access-app"),
        "HASHTRAIL_READ_KEY": admin.create_key(tenant, "read", name="access-ui"),
        "HASHTRAIL_TENANT": tenant,
        "HASHTRAIL_TRUSTED_PROXIES": "127.0.0.1",
    })
    with app.app_context():
        db.session.add_all([
            OktaUser(id="00u-admin", email="admin@discord.example", display_name="Ada Admin", is_admin=True),
            OktaUser(id="00u-alice", email="alice@discord.example", display_name="Alice"),
            OktaUser(id="00u-bob", email="bob@discord.example", display_name="Bob"),
            OktaUser(id="00u-carol", email="carol@discord.example", display_name="Carol"),
        ])
        db.session.commit()
    yield {"app": app, "tenant": tenant, "admin": admin, "receiver": receiver}
    receiver.server.shutdown()


class As:
    """Access's API as one signed-in user sees it."""

    def __init__(self, app, email: str) -> None:
        self.c = app.test_client()
        # The browser sent a forged X-Forwarded-For; the proxy appended the real address.
        self.headers = {IDENTITY_HEADER: email, "X-Forwarded-For": f"6.6.6.6, {CLIENT_IP}",
                        "User-Agent": "access-ui/1"}

    def __call__(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        r = self.c.open(path, method=method, json=body, headers=self.headers)
        assert r.status_code == status, (method, path, r.status_code, r.get_data(as_text=True))
        return r.get_json(silent=True)


def events(env, **filters) -> List[Dict[str, Any]]:
    with env["app"].app_context():
        assert env["app"].extensions["hashtrail"].client.flush(timeout=30)
    return env["admin"].events(env["tenant"], limit=1000, order="asc", **filters)


def test_every_operation_recorded_after_commit_and_streamed(env):
    app = env["app"]
    admin, alice, bob = (As(app, f"{u}@discord.example") for u in ("admin", "alice", "bob"))

    # Tags, apps, groups (admins).
    tag = admin("POST", "/api/tags", {"name": "prod", "constraints": {"member_time_limit": 86400}}, 201)
    temp_tag = admin("POST", "/api/tags", {"name": "temp"}, 201)
    admin("PUT", f"/api/tags/{tag['id']}", {"description": "production access", "constraints": {"member_time_limit": 3600}})
    gh = admin("POST", "/api/apps", {"name": "GitHub", "description": "source", "tags": [tag["id"]]}, 201)
    admin("PUT", f"/api/apps/{gh['id']}", {"description": "source code", "tags": [tag["id"], temp_tag["id"]]})
    eng = admin("POST", "/api/groups", {"name": "Engineering"}, 201)
    oncall = admin("POST", "/api/groups", {"name": "Oncall"}, 201)
    role = admin("POST", "/api/groups", {"name": "Role-SRE", "type": "role_group"}, 201)
    admin("PUT", f"/api/groups/{eng['id']}", {"description": "all engineers", "tags": [tag["id"]]})

    # Members and owners.
    admin("PUT", f"/api/groups/{eng['id']}/members",
          {"owners_to_add": ["00u-bob"], "members_to_add": ["00u-carol"], "created_reason": "team lead"})
    admin("PUT", f"/api/groups/{role['id']}/members", {"owners_to_add": ["00u-bob"], "created_reason": "SRE lead"})

    # Access requests: alice asks, bob (owner of Engineering) approves one, rejects another.
    r1 = alice("POST", "/api/requests", {"group_id": eng["id"], "reason": "joining the platform team"}, 201)
    r2 = alice("POST", "/api/requests", {"group_id": eng["id"], "group_owner": True, "reason": "please"}, 201)
    bob("PUT", f"/api/requests/{r1['id']}", {"approved": True, "reason": "welcome"})
    bob("PUT", f"/api/requests/{r2['id']}", {"approved": False, "reason": "ownership needs a manager"})

    # Role requests: bob (owner of Role-SRE) asks for Oncall; admin approves; a second is rejected.
    rr1 = bob("POST", "/api/role-requests", {"role_id": role["id"], "group_id": oncall["id"], "reason": "SREs page"}, 201)
    rr2 = bob("POST", "/api/role-requests", {"role_id": role["id"], "group_id": eng["id"], "group_owner": True,
                                             "reason": "SREs own eng"}, 201)
    admin("PUT", f"/api/role-requests/{rr1['id']}", {"approved": True, "reason": "ok"})
    admin("PUT", f"/api/role-requests/{rr2['id']}", {"approved": False, "reason": "too broad"})

    # Role groups directly, then removals and deletions.
    admin("PUT", f"/api/roles/{role['id']}/groups", {"groups_to_add": [eng["id"]], "created_reason": "SREs are engineers"})
    admin("PUT", f"/api/roles/{role['id']}/groups", {"groups_to_remove": [oncall["id"]]})
    bob("PUT", f"/api/groups/{eng['id']}/members", {"members_to_remove": ["00u-carol"]})
    admin("PUT", f"/api/groups/{eng['id']}/members", {"owners_to_remove": ["00u-bob"]})
    admin("DELETE", f"/api/tags/{temp_tag['id']}", status=204)
    admin("DELETE", f"/api/groups/{oncall['id']}", status=204)
    admin("DELETE", f"/api/apps/{gh['id']}", status=204)

    # --- Failures: each must leave no event behind. -------------------------
    # A constraint violation at flush: a second tag named "prod".
    admin("POST", "/api/tags", {"name": "prod"}, 409)
    # A constraint violation at commit, after the operation queued its event:
    # renaming Engineering to an existing name (with a tag change besides).
    admin("PUT", f"/api/groups/{eng['id']}", {"name": "Role-SRE", "tags": []}, 409)
    # A check failing after one change of the batch was made and queued:
    # carol is added, then the unknown user fails the whole operation.
    admin("PUT", f"/api/groups/{eng['id']}/members", {"members_to_add": ["00u-carol", "00u-nobody"]}, 404)
    # Permission refused, and a request resolved twice.
    alice("POST", "/api/apps", {"name": "Shadow"}, 403)
    bob("PUT", f"/api/requests/{r1['id']}", {"approved": False, "reason": "changed my mind"}, 409)
    alice("POST", "/api/requests", {"group_id": eng["id"], "reason": ""}, 400)

    with app.app_context():
        g = db.session.get(OktaGroup, eng["id"])
        assert g.name == "Engineering" and [t.name for t in g.tags] == ["prod"]  # the failed rename rolled back
        assert Tag.query.count() == 1

    evs = events(env)
    app_events = [e for e in evs if e["category"] != "system"]
    counts = Counter(e["action"] for e in app_events)
    assert set(counts) == ALL_ACTIONS, sorted(set(counts) ^ ALL_ACTIONS)
    assert counts == Counter({
        "tag.create": 2, "tag.update": 1, "tag.delete": 1,
        "app.create": 1, "app.update": 1, "app.delete": 1,
        "group.create": 3, "group.update": 1, "group.delete": 1,
        "owner.add": 2, "member.add": 2, "member.remove": 1, "owner.remove": 1,
        "access_request.create": 2, "access_request.approve": 1, "access_request.reject": 1,
        "role_request.create": 2, "role_request.approve": 1, "role_request.reject": 1,
        "role.assign": 2, "role.unassign": 1,
    })
    # Nothing of the failed operations: no second "prod", no rename, no carol re-added.
    assert not [e for e in app_events if e["action"] == "group.update"
                and any(c["field"] == "name" for c in e.get("changes", []))]
    assert [e["action"] for e in app_events if e["action"] in ("member.add", "owner.add")].count("member.add") == 2

    # Who, why, from where: every event carries the signed-in user and the request.
    for e in app_events:
        assert e["actor"]["type"] == "user" and e["actor"]["email"].endswith("@discord.example")
        assert e["context"]["ip"] == CLIENT_IP and e["context"]["user_agent"] == "access-ui/1"
        assert e["context"]["request_id"] and e["context"]["method"] in ("POST", "PUT", "DELETE")
        assert e["service"]["name"] == "access"
    approve = events(env, action="access_request.approve")[0]
    assert approve["actor"]["email"] == "bob@discord.example" and approve["reason"] == "welcome"
    assert {"type": "user", "id": "00u-alice", "name": "alice@discord.example"} in approve["targets"]
    # The approval's side effect was recorded by the same request, after the same commit.
    joined = [e for e in events(env, action="member.add", target="user:00u-alice")]
    assert len(joined) == 1 and joined[0]["context"]["request_id"] == approve["context"]["request_id"]
    reject = events(env, action="access_request.reject")[0]
    assert reject["reason"] == "ownership needs a manager" and reject["metadata"]["request_ownership"] is True
    role_ok = events(env, action="role_request.approve")[0]
    assigned = [e for e in events(env, action="role.assign") if e["context"]["request_id"] == role_ok["context"]["request_id"]]
    assert len(assigned) == 1 and assigned[0]["targets"][1]["name"] == "Oncall"
    tag_upd = events(env, action="tag.update")[0]
    assert {c["field"]: (c.get("old"), c.get("new")) for c in tag_upd["changes"]} == {
        "description": ("", "production access"),
        "constraints": ({"member_time_limit": 86400}, {"member_time_limit": 3600})}
    app_upd = events(env, action="app.update")[0]
    assert {"field": "tags", "old": ["prod"], "new": ["prod", "temp"]} in app_upd["changes"]

    # The group's audit page, read back from Hashtrail by a group owner.
    page = bob("GET", f"/api/audit/groups/{role['id']}")["events"]
    assert {e["action"] for e in page} >= {"group.create", "owner.add", "role_request.create", "role.assign"}
    alice("GET", f"/api/audit/groups/{role['id']}", status=403)

    # The external system got every committed event, signed, exactly the same set.
    want = {e["id"] for e in app_events}
    deadline = time.time() + 30
    got: Dict[str, Dict[str, Any]] = {}
    while time.time() < deadline:
        got = {e["id"]: e for e in env["receiver"].verified_events()}
        if want <= set(got):
            break
        time.sleep(0.2)
    assert set(got) == want, f"missing {len(want - set(got))}, extra {len(set(got) - want)}"
    for e in app_events:
        assert got[e["id"]]["leaf_hash"] == e["leaf_hash"] and got[e["id"]]["seq"] == e["seq"]
