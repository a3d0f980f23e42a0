"""Acceptance test of the Warehouse example against a real Hashtrail server.

Drives the Pyramid app over WSGI (WebTest) as PyPI's users would: sign-up,
sign-in with a password and with TOTP, failed sign-ins, 2FA, API tokens,
uploads with a token, collaborators, yanks. Then checks, through
Hashtrail's query API and through the app's own pages, seed 001's asks:
user events and project events; which API token made a release and whether
the publisher has 2FA; the user's security history; a public project
history that hides IP addresses through a viewer token (which cannot see
other projects nor search by IP either); and user events kept 400 days
while project events are kept forever.
"""

from __future__ import annotations

import base64
import os
import subprocess
import urllib.request
import uuid
from typing import Any, Dict, List

import pytest

webtest = pytest.importorskip("webtest", reason="WebTest is not installed (Debian: python3-webtest)")

import hashtrail  # noqa: E402
from warehouse_app import main  # noqa: E402
from warehouse_app.history import RETENTION_RULES, configure_retention  # noqa: E402
from warehouse_app.security import totp  # noqa: E402

URL = os.environ.get("HASHTRAIL_URL")
ADMIN_KEY = os.environ.get("HASHTRAIL_ADMIN_KEY")
pytestmark = pytest.mark.skipif(not URL or not ADMIN_KEY,
                                reason="HASHTRAIL_URL/HASHTRAIL_ADMIN_KEY unset: run under scripts/with-server")

ALICE_IP, BOB_IP, CI_IP = "198.51.100.23", "203.0.113.77", "192.0.2.200"
TOTP_SECRET = base64.b32encode(b"alice-totp-secret-01").decode()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    admin = hashtrail.Admin(URL, ADMIN_KEY)
    tenant = "pypi-" + uuid.uuid4().hex[:10]
    admin.create_tenant(tenant)
    tenant_admin = admin.create_key(tenant, "admin", name="warehouse-viewer-tokens")
    db = tmp_path_factory.mktemp("warehouse") / "warehouse.db"
    app = main({}, **{
        "sqlalchemy.url": f"sqlite:///{db}",
        "hashtrail.url": URL,
        "hashtrail.api_key": admin.create_key(tenant, "ingest", name="warehouse"),
        "hashtrail.tenant": tenant,
        "hashtrail.service": "warehouse",
        "hashtrail.trusted_proxies": "127.0.0.1",
        "warehouse.hashtrail_read_key": admin.create_key(tenant, "read", name="warehouse-ui"),
        "warehouse.hashtrail_admin_key": tenant_admin,
        "warehouse.session_secret": "test-secret",
        "warehouse.admins": "ernest",
    })
    yield {"app": app, "tenant": tenant, "admin": admin, "tenant_admin": hashtrail.Admin(URL, tenant_admin)}
    app.registry.hashtrail_client.close(timeout=10)


def browser(env, ip: str) -> webtest.TestApp:
    """One person's browser (cookies), behind PyPI's proxy which forwards their IP."""
    return webtest.TestApp(env["app"], extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": ip,
                                                      "HTTP_USER_AGENT": "Mozilla/5.0 (test)"})


def twine(env, token: str, name: str, version: str, status: int = 200) -> Any:
    """``twine upload`` with an API token, from a CI machine."""
    auth = "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()
    app = webtest.TestApp(env["app"], extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": CI_IP,
                                                     "HTTP_USER_AGENT": "twine/4.0.2"})
    return app.post("/legacy/", {":action": "file_upload", "name": name, "version": version},
                    headers={"Authorization": auth}, status=status)


def events(env, **filters) -> List[Dict[str, Any]]:
    assert env["app"].registry.hashtrail_client.flush(timeout=30)
    return env["admin"].events(env["tenant"], limit=1000, order="asc", **filters)


@pytest.fixture(scope="module")
def scenario(env):
    alice, bob = browser(env, ALICE_IP), browser(env, BOB_IP)
    ids = {}
    ids["alice"] = alice.post_json("/account/register/", {"username": "alice", "email": "alice@example.org",
                                                           "password": "correct horse"}).json["id"]
    ids["bob"] = bob.post_json("/account/register/", {"username": "bob", "email": "bob@example.org",
                                                      "password": "battery staple"}).json["id"]
    bob.post_json("/account/register/", {"username": "bob", "email": "b2@example.org", "password": "x" * 8}, status=400)
    alice.post_json("/account/logout/", {})
    alice.post_json("/account/login/", {"username": "alice", "password": "wrong"}, status=401)
    alice.post_json("/account/login/", {"username": "alice", "password": "correct horse"})
    alice.post_json("/manage/account/totp/", {"secret": TOTP_SECRET, "totp_value": "000000"}, status=400)
    alice.post_json("/manage/account/totp/", {"secret": TOTP_SECRET, "totp_value": totp(TOTP_SECRET)})
    alice.post_json("/account/logout/", {})
    alice.post_json("/account/login/", {"username": "alice", "password": "correct horse", "totp_value": "123"},
                    status=401)
    r = alice.post_json("/account/login/", {"username": "alice", "password": "correct horse",
                                            "totp_value": totp(TOTP_SECRET)})
    assert r.json["auth"] == {"method": "password+totp", "mfa": True}
    alice.post_json("/manage/account/password/", {"password": "correct horse", "new_password": "correct horse 2"})

    ids["sample"] = alice.post_json("/manage/projects/", {"name": "sampleproject"}).json["id"]
    alice.post_json("/manage/project/sampleproject/collaboration/", {"username": "bob", "role_name": "Maintainer"})
    ci = alice.post_json("/manage/account/token/", {"description": "ci-token", "project": "sampleproject"}).json
    laptop = alice.post_json("/manage/account/token/", {"description": "laptop"}).json
    bobs = bob.post_json("/manage/account/token/", {"description": "bob-release"}).json
    ids.update(ci=ci["id"], laptop=laptop["id"], bobs=bobs["id"])

    twine(env, ci["token"], "sampleproject", "1.0")
    twine(env, bobs["token"], "sampleproject", "1.1")
    twine(env, ci["token"], "otherproject", "0.1", status=403)  # the token is scoped to sampleproject
    twine(env, ci["token"], "sampleproject", "1.0", status=400)  # the version exists
    twine(env, "pypi-not-a-token", "sampleproject", "1.2", status=403)
    twine(env, bobs["token"], "bobs-lib", "0.1")  # a first upload creates the project
    alice.post_json("/manage/project/sampleproject/release/1.1/yank/", {"reason": "broken wheel"})
    bob.post_json("/manage/project/sampleproject/collaboration/", {"username": "bob", "role_name": "Owner"},
                  status=403)  # maintainers cannot make owners
    alice.post_json("/manage/project/sampleproject/collaboration/bob/delete/", {})
    alice.post_json(f"/manage/account/token/{laptop['id']}/delete/", {})
    ids["bobs_lib"] = events(env, action="project.create", q="bobs-lib")[0]["targets"][0]["id"]
    return {"alice": alice, "bob": bob, "ids": ids}


def test_user_and_project_events_recorded_once_each(env, scenario):
    got = [(e["action"], e["metadata"]["tag"]) for e in events(env) if e["category"] != "system"]
    assert got == [
        ("user.create", "account:create"),
        ("user.create", "account:create"),
        ("user.logout", "account:logout"),
        ("user.login_failed", "account:login:failure"),
        ("user.login", "account:login:success"),
        ("user.mfa_enable", "account:two_factor:method_added"),
        ("user.logout", "account:logout"),
        ("user.login_failed", "account:login:failure"),
        ("user.login", "account:login:success"),
        ("user.password_change", "account:password:change"),
        ("project.create", "project:create"),
        ("role.assign", "project:role:add"),
        ("api_key.create", "account:api_token:added"),
        ("api_key.create", "account:api_token:added"),
        ("api_key.create", "account:api_token:added"),
        ("release.create", "project:release:add"),
        ("release.create", "project:release:add"),
        ("project.create", "project:create"),
        ("release.create", "project:release:add"),
        ("release.yank", "project:release:yank"),
        ("role.unassign", "project:role:remove"),
        ("api_key.revoke", "account:api_token:removed"),
    ]


def test_which_token_made_a_release_and_whether_the_publisher_has_2fa(env, scenario):
    ids = scenario["ids"]
    rel = {e["targets"][1]["id"]: e for e in events(env, action="release.create")}
    assert set(rel) == {"sampleproject==1.0", "sampleproject==1.1", "bobs-lib==0.1"}
    first = rel["sampleproject==1.0"]
    assert first["actor"]["name"] == "alice"
    assert first["actor"]["auth"] == {"method": "api_token", "credential_id": ids["ci"], "mfa": False}
    assert (first["metadata"]["token_id"], first["metadata"]["token_name"], first["metadata"]["token_scope"]) == (
        ids["ci"], "ci-token", "project")
    assert first["metadata"]["publisher_two_factor"] is True
    assert first["context"]["ip"] == CI_IP and first["context"]["user_agent"] == "twine/4.0.2"
    second = rel["sampleproject==1.1"]
    assert second["actor"]["name"] == "bob" and second["actor"]["auth"]["credential_id"] == ids["bobs"]
    assert second["metadata"]["publisher_two_factor"] is False
    # "Whose token was used for that release just now?" is one query.
    by_token = events(env, q=f"target:project:{ids['sample']} action:release.create")
    assert [e["actor"]["auth"]["credential_id"] for e in by_token] == [ids["ci"], ids["bobs"]]


def test_security_history(env, scenario):
    alice, bob = scenario["alice"], scenario["bob"]
    hist = alice.get("/manage/account/security-history/").json["events"]
    tags = [e["tag"] for e in reversed(hist)]
    assert tags[:10] == [
        "account:create", "account:logout", "account:login:failure", "account:login:success",
        "account:two_factor:method_added", "account:logout", "account:login:failure",
        "account:login:success", "account:password:change", "project:create"]
    assert tags[-1] == "account:api_token:removed"
    failures = [e for e in hist if e["tag"] == "account:login:failure"]
    assert sorted(e["error"] for e in failures) == ["invalid_credentials", "mfa_failed"]
    assert all(e["outcome"] == "failure" for e in failures)
    # The user's own acts show where from (the browser, or CI for the upload).
    assert {e["ip"] for e in hist} == {ALICE_IP, CI_IP}
    logins = [e["auth"] for e in hist if e["tag"] == "account:login:success"]
    assert {"method": "password+totp", "mfa": True} in logins
    # Bob's history has his events, none of Alice's; signed out, none at all.
    bob_hist = bob.get("/manage/account/security-history/").json["events"]
    assert {e["ip"] for e in bob_hist if e["by"] == "bob"} == {BOB_IP, CI_IP}
    # Alice made Bob a maintainer and removed him: he sees that she did, never her IP address.
    by_alice = [e for e in bob_hist if e["by"] == "alice"]
    assert [e["tag"] for e in reversed(by_alice)] == ["project:role:add", "project:role:remove"]
    assert all(e["ip"] is None and e["user_agent"] is None for e in by_alice)
    assert "account:login:failure" not in [e["tag"] for e in bob_hist]
    browser(env, "192.0.2.1").get("/manage/account/security-history/", status=403)


def test_public_history_hides_ips_through_a_viewer_token(env, scenario):
    ids = scenario["ids"]
    anon = browser(env, "192.0.2.99")
    page = anon.get("/project/sampleproject/history/").text
    assert "project:release:add" in page and "project:role:add" in page
    assert "alice with API token ci-token (2FA on)" in page
    assert "bob with API token bob-release (2FA off)" in page
    for secret in (ALICE_IP, BOB_IP, CI_IP, "alice@example.org", "twine/4.0.2", "bobs-lib"):
        assert secret not in page
    # The token the page embeds is the one a browser would use; on its own it
    # sees sampleproject's events only, never an IP address or e-mail.
    tok = anon.get("/project/sampleproject/history/token").json
    assert tok["token"] in page and tok["tenant"] == env["tenant"]
    viewer = hashtrail.Reader(URL, tok["token"])
    seen = viewer.events(env["tenant"], limit=1000)
    assert len(seen) == 7  # project.create, role.assign, api_key.create (ci), 2 releases, yank, role.unassign
    for e in seen:
        assert any(t == {"type": "project", "id": str(ids["sample"]), "name": "sampleproject"} for t in e["targets"])
        assert "ip" not in e.get("context", {}) and "user_agent" not in e.get("context", {})
        assert "email" not in e.get("actor", {})
    assert viewer.events(env["tenant"], target=f"project:{ids['bobs_lib']}") == []
    other = events(env, action="project.create", q="bobs-lib")[0]
    with pytest.raises(hashtrail.APIError) as err:
        viewer.event(env["tenant"], other["id"])
    assert err.value.status == 404
    with pytest.raises(hashtrail.APIError) as err:
        viewer.events(env["tenant"], ip=CI_IP)
    assert err.value.status == 400  # it cannot even search by a hidden field
    # A viewer may prove an event is in the log; the leaf it gets holds the
    # IP address and e-mail only as salted commitments, and no salt is shown
    # (a salt would let a guessed address be confirmed).
    proved = viewer.event(env["tenant"], seen[0]["id"], proof=True, wait="5s")
    assert proved["proof"]["leaf_index"] == seen[0]["seq"]
    leaf = base64.b64decode(proved["leaf"]).decode()
    assert '"pii"' in leaf and ALICE_IP not in leaf and "alice@example.org" not in leaf
    assert "ip" not in proved.get("context", {}) and "salt" not in str(proved.get("pii", ""))
    # The same token is reused while it is fresh.
    assert anon.get("/project/sampleproject/history/token").json["token"] == tok["token"]
    # Maintainers see the full history, IP addresses included.
    full = scenario["alice"].get("/manage/project/sampleproject/history/").json["events"]
    assert CI_IP in {e["context"].get("ip") for e in full}
    scenario["bob"].get("/manage/project/sampleproject/history/", status=403)  # no longer a maintainer


def test_admin_view_searches_everything(env, scenario):
    ernest = browser(env, "192.0.2.5")
    ernest.post_json("/account/register/", {"username": "ernest", "email": "ee@example.org", "password": "p" * 10})
    found = ernest.get("/admin/audit/", {"q": "action:user.login_failed"}).json["events"]
    assert sorted(e["error"] for e in found) == ["invalid_credentials", "mfa_failed"]
    assert {e["actor"]["name"] for e in found} == {"alice"} and {e["context"]["ip"] for e in found} == {ALICE_IP}
    found = ernest.get("/admin/audit/", {"q": f"ip:{CI_IP} -action:release.*"}).json["events"]
    assert [e["action"] for e in found] == ["project.create"]  # bobs-lib, created by its first upload
    bad = ernest.get("/admin/audit/", {"q": "created:>=not-a-date"}, status=400).json
    assert bad["errors"][0]["field"] == "q"
    scenario["alice"].get("/admin/audit/", {"q": ""}, status=403)


def test_retention_user_events_400_days_projects_forever(env, scenario):
    admin = env["tenant_admin"]
    first = configure_retention(admin, env["tenant"])
    again = configure_retention(admin, env["tenant"])
    assert again["version"] == first["version"] >= 1  # set once; running again changes nothing
    policy = admin.get_retention(env["tenant"])
    assert policy["default"] == "forever"
    assert [(r.get("name"), r.get("filter") or None, r.get("category") or None, r.get("action") or None, r["keep"])
            for r in policy["rules"]] == [
        (r["name"], r.get("filter"), r.get("category"), r.get("action"), r["keep"]) for r in RETENTION_RULES]
    # The change is itself in the tenant's log.
    assert [e["action"] for e in events(env, action="retention.update")] == ["retention.update"]
    # What the rules select, asked of the server with the rules' own search
    # syntax: the "projects" filter takes every project event (and the token
    # scoped to a project), and everything else the app records is a user
    # event a 400-day rule covers.
    project_tags = {e["metadata"]["tag"] for e in events(env, q="target:project:* -category:system")}
    assert project_tags == {"project:create", "project:role:add", "project:role:remove", "project:release:add",
                            "project:release:yank", "account:api_token:added"}
    rest = events(env, q="-target:project:* -category:system")
    assert rest and all(e["category"] == "authentication" or e["action"].startswith(("user.", "api_key."))
                        for e in rest)
    assert {e["metadata"]["tag"] for e in rest} >= {"account:login:success", "account:login:failure",
                                                    "account:two_factor:method_added", "account:api_token:removed"}


def test_account_deletion_erases_personal_data_and_the_log_still_verifies(env, scenario):
    # Bob still owns bobs-lib alone: Warehouse makes him hand it over first.
    r = scenario["bob"].post_json("/manage/account/delete/", {"password": "battery staple"}, status=400)
    assert r.json["errors"][0]["field"] == "projects"
    carol = browser(env, "192.0.2.77")
    cid = carol.post_json("/account/register/", {"username": "carol", "email": "carol@example.org",
                                                 "password": "carol's password"}).json["id"]
    carol.post_json("/account/logout/", {})
    carol.post_json("/account/login/", {"username": "carol", "password": "nope"}, status=401)
    carol.post_json("/account/login/", {"username": "carol", "password": "carol's password"})
    carol.post_json("/manage/account/token/", {"description": "carol-laptop"})
    carol.post_json("/manage/account/delete/", {"password": "wrong"}, status=400)
    r = carol.post_json("/manage/account/delete/", {"password": "carol's password"})
    assert r.json["erased"] is True and r.json["redacted_events"] == 6
    carol.get("/manage/account/security-history/", status=403)  # signed out, account gone

    mine = events(env, target=f"user:{cid}")
    assert [e["action"] for e in mine] == ["user.create", "user.logout", "user.login_failed", "user.login",
                                           "api_key.create", "user.delete"]
    for e in mine:
        assert "ip" not in e["context"] and "user_agent" not in e["context"]
        assert set(e["actor"]) <= {"type", "id", "auth"}  # no name, no e-mail
        assert e["pii"]["/actor"]["erased"] is True
        assert all("name" not in t for t in e["targets"] if t["type"] == "user")
    (announce,) = events(env, action="system.subject_erased")
    assert "carol" not in str(announce)
    # Other people's events keep their personal data.
    assert events(env, action="user.login_failed", q="alice")[0]["context"]["ip"] == ALICE_IP

    # Erasure never looks like tampering: an outside verifier, holding the
    # installation's public key, checks the whole log through the API.
    binary = os.environ.get("HASHTRAIL_BIN")
    if not binary:
        pytest.skip("HASHTRAIL_BIN unset: no hashtrail binary to verify with")
    with urllib.request.urlopen(f"{URL}/v1/log/key") as resp:
        log_key = resp.read().decode().strip()
    out = subprocess.run([binary, "verify", "--url", URL, "--api-key", ADMIN_KEY, "--tenant", env["tenant"],
                          "--log-key", log_key], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1].startswith("OK"), out.stdout
    print(out.stdout.strip().splitlines()[-1])
