"""Seed 000 (Flagsmith #2797), end to end.

The app is driven as its users drive it -- JSON requests through Django's
test client, behind a trusted proxy that forwards the users' addresses --
and every event is checked back through Hashtrail's query API: the
organisation's own log (a tenant per organisation), the app's
organisation-wide and per-project audit views, and the fan-out of account
events into every organisation of the user.
"""

import json
from typing import Any, Dict, List

import pytest

import hashtrail

IP_ALICE, IP_BOB, IP_MALLORY = "203.0.113.10", "198.51.100.20", "192.0.2.66"


class Browser:
    """One user's browser: a Django test client with its own cookies, address and agent."""

    def __init__(self, ip: str, agent: str) -> None:
        from django.test import Client

        # The app runs behind a proxy at 127.0.0.1 (settings: trusted) that forwards the user's address.
        self.c = Client(HTTP_X_FORWARDED_FOR=ip, HTTP_USER_AGENT=agent)

    def call(self, method: str, path: str, data: Any = None, status: int = 200, **kw: Any) -> Any:
        fn = getattr(self.c, method.lower())
        if method in ("GET",):
            r = fn(path, data or {}, **kw)
        elif kw.pop("form", False):
            r = fn(path, data or {}, **kw)
        else:
            r = fn(path, json.dumps(data or {}), content_type="application/json", **kw)
        assert r.status_code == status, (method, path, r.status_code, r.content[:300])
        return r.json() if r.content else None


def flush() -> None:
    import hashtrail.django as hd

    assert hd.get_client().flush(15), "events still queued"


@pytest.fixture(scope="module")
def world(server: Dict[str, str]) -> Dict[str, Any]:
    """Drives the whole scenario once; the tests below check what it left in Hashtrail."""
    from django.contrib.auth import get_user_model

    from organisations import sso, totp

    User = get_user_model()
    w: Dict[str, Any] = {"reader": hashtrail.Reader(server["url"], server["admin_key"])}
    alice_user = User.objects.create_user("alice@acme.test", "alice@acme.test", "alice-pass-1",
                                          first_name="Alice", last_name="Admin")
    w["alice_id"] = alice_user.pk
    alice = Browser(IP_ALICE, "Firefox/128")
    mallory = Browser(IP_MALLORY, "curl/8")

    # Wrong password, unknown account, then a good sign-in.
    mallory.call("POST", "/api/v1/auth/login/", {"email": "alice@acme.test", "password": "guess"}, 401)
    mallory.call("POST", "/api/v1/auth/login/", {"email": "nobody@acme.test", "password": "guess"}, 401)
    alice.call("POST", "/api/v1/auth/login/", {"email": "alice@acme.test", "password": "alice-pass-1"})
    acme = alice.call("POST", "/api/v1/organisations/", {"name": "Acme"}, 201)
    globex = alice.call("POST", "/api/v1/organisations/", {"name": "Globex"}, 201)
    w["acme"], w["globex"] = acme, globex
    # The wrong password above predates her organisations; try once more now that she has two.
    mallory.call("POST", "/api/v1/auth/login/", {"email": "alice@acme.test", "password": "guess-2"}, 401)

    # 2FA on, sign out, sign in with password + TOTP (a wrong code first), 2FA off.
    secret = alice.call("POST", "/api/v1/auth/mfa/activate/")["secret"]
    alice.call("POST", "/api/v1/auth/mfa/confirm/", {"code": totp.code(secret)})
    alice.call("POST", "/api/v1/auth/logout/")
    step = alice.call("POST", "/api/v1/auth/login/", {"email": "alice@acme.test", "password": "alice-pass-1"})
    assert step["mfa_required"]
    bad = "%06d" % ((int(totp.code(secret)) + 500000) % 1000000)
    alice.call("POST", "/api/v1/auth/login/mfa/", {"ephemeral_token": step["ephemeral_token"], "code": bad}, 401)
    alice.call("POST", "/api/v1/auth/login/mfa/", {"ephemeral_token": step["ephemeral_token"],
                                                    "code": totp.code(secret)})
    alice.call("POST", "/api/v1/auth/mfa/deactivate/", {"code": totp.code(secret)})

    # Password change: one event, in both of her organisations.
    alice.call("POST", "/api/v1/auth/users/set_password/",
               {"current_password": "alice-pass-1", "new_password": "alice-pass-2"})
    # Name and email change (and a password, which must stay redacted).
    alice.call("PATCH", "/api/v1/auth/users/me/", {"first_name": "Alicia", "email": "alicia@acme.test",
                                                   "password": "alice-pass-3"})

    # An admin creates Bob's account in Acme; Bob signs in with Google, GitHub and SAML.
    bob = alice.call("POST", "/api/v1/organisations/%d/users/" % acme["id"],
                     {"email": "bob@acme.test", "first_name": "Bob", "last_name": "Builder", "password": "bob-pass-1"},
                     201)
    w["bob_id"] = bob["id"]
    bob_browser = Browser(IP_BOB, "Chrome/126")
    bob_browser.call("GET", "/api/v1/auth/oauth/google/callback/",
                     {"code": sso.make_oauth_code("google", "bob@acme.test", "Bob Builder")})
    bob_browser.call("POST", "/api/v1/auth/logout/")
    bob_browser.call("GET", "/api/v1/auth/oauth/github/callback/",
                     {"code": sso.make_oauth_code("github", "bob@acme.test")})
    bob_browser.call("POST", "/api/v1/auth/logout/")
    bob_browser.call("POST", "/api/v1/auth/saml/okta/acs/",
                     {"SAMLResponse": sso.make_saml_response("okta", "bob@acme.test")}, form=True)
    forged = sso.make_oauth_code("github", "alicia@acme.test")[:-4] + "0000"
    mallory.call("GET", "/api/v1/auth/oauth/github/callback/", {"code": forged}, 401)
    # A SAML response for Bob from another IdP than the one it is posted to.
    mallory.call("POST", "/api/v1/auth/saml/okta/acs/",
                 {"SAMLResponse": sso.make_saml_response("evil-idp", "bob@acme.test")}, 401, form=True)

    # Projects (the second "Web" fails on the unique name and rolls back).
    web = alice.call("POST", "/api/v1/projects/", {"organisation": acme["id"], "name": "Web"}, 201)
    alice.call("POST", "/api/v1/projects/", {"organisation": acme["id"], "name": "Web"}, 409)
    mobile = alice.call("POST", "/api/v1/projects/", {"organisation": acme["id"], "name": "Mobile"}, 201)
    alice.call("PATCH", "/api/v1/projects/%d/" % web["id"], {"name": "Website"})
    alice.call("DELETE", "/api/v1/projects/%d/" % mobile["id"], status=204)
    w["web"], w["mobile"] = web, mobile
    # Permissions given to Bob directly on a project.
    perms = "/api/v1/projects/%d/user-permissions/%d/" % (web["id"], bob["id"])
    alice.call("PUT", perms, {"permissions": ["VIEW_PROJECT", "MANAGE_FEATURES"]})
    alice.call("PUT", perms, {"permissions": ["VIEW_PROJECT"]})
    alice.call("PUT", perms, {"permissions": ["NOT_A_PERMISSION"]}, 400)

    # Roles, groups, permissions and assignments.
    role = alice.call("POST", "/api/v1/organisations/%d/roles/" % acme["id"], {"name": "Developers"}, 201)
    alice.call("PATCH", "/api/v1/roles/%d/" % role["id"], {"name": "Engineers"})
    alice.call("PUT", "/api/v1/roles/%d/permissions/" % role["id"],
               {"permissions": ["VIEW_PROJECT", "CREATE_ENVIRONMENT"]})
    alice.call("PUT", "/api/v1/roles/%d/permissions/" % role["id"], {"permissions": ["VIEW_PROJECT"]})
    alice.call("POST", "/api/v1/roles/%d/users/" % role["id"], {"user_id": bob["id"]})
    alice.call("DELETE", "/api/v1/roles/%d/users/%d/" % (role["id"], bob["id"]))
    group = alice.call("POST", "/api/v1/organisations/%d/groups/" % acme["id"], {"name": "QA"}, 201)
    alice.call("PATCH", "/api/v1/groups/%d/" % group["id"], {"name": "Quality"})
    alice.call("POST", "/api/v1/groups/%d/users/" % group["id"], {"user_id": bob["id"]})
    alice.call("PUT", "/api/v1/groups/%d/permissions/" % group["id"], {"permissions": ["MANAGE_FEATURES"]})
    alice.call("POST", "/api/v1/roles/%d/groups/" % role["id"], {"group_id": group["id"]})
    alice.call("DELETE", "/api/v1/groups/%d/users/%d/" % (group["id"], bob["id"]))
    w["role"], w["group"] = role, group

    # Bob, a plain member, may not read the organisation's log; a stranger's request finds nothing.
    bob_browser.call("GET", "/api/v1/organisations/%d/audit/" % acme["id"], status=403)
    bob_browser.call("GET", "/api/v1/organisations/%d/audit/" % globex["id"], status=404)
    w["bob_project_view"] = bob_browser.call("GET", "/api/v1/projects/%d/audit/" % web["id"])

    alice.call("DELETE", "/api/v1/roles/%d/" % role["id"], status=204)
    alice.call("DELETE", "/api/v1/groups/%d/" % group["id"], status=204)
    # The admin deletes Bob's account.
    alice.call("DELETE", "/api/v1/organisations/%d/users/%d/" % (acme["id"], bob["id"]), status=204)
    flush()
    w["alice"] = alice
    return w


def events(w: Dict[str, Any], tenant: str, q: str = "") -> List[Dict[str, Any]]:
    return w["reader"].events(tenant, q=q or None, limit=1000, order="asc")


def one(evs: List[Dict[str, Any]]) -> Dict[str, Any]:
    assert len(evs) == 1, [e["action"] for e in evs]
    return evs[0]


def test_every_event_of_the_seed_is_in_the_organisation_log(world):
    acme = events(world, world["acme"]["tenant"])
    seen = {e["action"] for e in acme}
    wanted = {
        "user.login", "user.logout", "user.password_change", "user.mfa_enable", "user.mfa_disable",
        "user.login_failed", "user.create", "user.delete", "role.create", "role.delete",
        "role.permission_grant", "role.assign", "role.unassign", "project.create", "project.delete",
    }
    assert wanted <= seen, wanted - seen
    # Date and time, the user and the source IP on every event (the seed's request): all of them were
    # made by people, through the app, behind its proxy.
    for e in acme:
        assert e["time"] and e["received_at"] and e["leaf_hash"]
        assert e["actor"]["type"] == "user" and e["actor"].get("id"), e
        assert e["context"]["ip"] in (IP_ALICE, IP_BOB, IP_MALLORY), e
        assert e["context"]["request_id"] and e["context"]["user_agent"], e
        assert e["service"] == {"name": "flagsmith", "version": "2.80.0"}


def test_wrong_password_and_wrong_2fa_code(world):
    t = world["acme"]["tenant"]
    failed = events(world, t, "action:user.login_failed")
    by_reason = {e["error"]: e for e in failed}
    pw, code = by_reason["invalid_credentials"], by_reason["mfa_failed"]
    assert pw["actor"]["id"] == str(world["alice_id"]) and pw["context"]["ip"] == IP_MALLORY
    assert pw["outcome"] == "failure" and pw["severity"] == "medium"
    assert code["actor"]["auth"] == {"method": "password+totp", "mfa": True}
    assert code["context"]["ip"] == IP_ALICE
    # Nobody's account: the platform's own log, named by the address tried.
    unknown = one(events(world, "flagsmith-platform", "action:user.login_failed actor:nobody@acme.test"))
    assert unknown["error"] == "unknown_user"
    platform = events(world, "flagsmith-platform", "action:user.login_failed -actor:nobody@acme.test")
    # Alice's first wrong password came before she had organisations: the platform log keeps it.
    assert [(e["error"], e["actor"].get("id")) for e in platform] == [("invalid_credentials", str(world["alice_id"]))]
    # A forged GitHub answer claiming Alicia's address: in her organisations' logs.
    forged = [e for e in failed if e["error"] == "provider_error"]
    assert [(e["actor"]["id"], e["actor"]["auth"]) for e in forged] == [
        (str(world["alice_id"]), {"method": "oauth:github", "provider": "github", "mfa": False}),
        (str(world["bob_id"]), {"method": "saml", "provider": "okta", "mfa": False}),
    ]
    assert all(e["context"]["ip"] == IP_MALLORY for e in forged)


def test_sign_in_methods(world):
    logins = events(world, world["acme"]["tenant"], "action:user.login")
    methods = [(e["actor"]["id"], e["actor"]["auth"]["method"], e["actor"]["auth"].get("provider")) for e in logins]
    a, b = str(world["alice_id"]), str(world["bob_id"])
    assert (a, "password+totp", None) in methods
    assert [m for m in methods if m[0] == b] == [(b, "oauth:google", "google"), (b, "oauth:github", "github"),
                                                 (b, "saml", "okta")]
    assert all(e["context"]["ip"] == IP_BOB for e in logins if e["actor"]["id"] == b)
    # The first password sign-in happened before Alice had organisations: it is in the platform log.
    first = one(events(world, "flagsmith-platform", "action:user.login actor:user:%s" % a))
    assert first["actor"]["auth"] == {"method": "password", "mfa": False}


def test_account_events_fan_out_to_every_organisation_of_the_user(world):
    acme, globex = world["acme"]["tenant"], world["globex"]["tenant"]
    q = "actor:user:%d action:user.password_change,user.mfa_enable,user.mfa_disable,user.logout,user.update" \
        % world["alice_id"]
    in_acme, in_globex = events(world, acme, q), events(world, globex, q)
    assert [e["action"] for e in in_acme] == ["user.mfa_enable", "user.logout", "user.mfa_disable",
                                             "user.password_change", "user.update"]
    # The same events (same ids) in both organisations' logs, each in its own Merkle tree.
    assert [e["id"] for e in in_acme] == [e["id"] for e in in_globex]
    assert {e["tenant"] for e in in_globex} == {globex}
    pw = in_acme[3]
    assert pw["changes"] == [{"field": "password", "redacted": True}]
    assert pw["targets"][0]["id"] == str(world["alice_id"])


def test_name_and_email_changes_are_field_diffs_with_the_password_redacted(world):
    upd = one(events(world, world["acme"]["tenant"], "action:user.update"))
    changes = {c["field"]: c for c in upd["changes"]}
    assert changes["email"] == {"field": "email", "old": "alice@acme.test", "new": "alicia@acme.test"}
    assert changes["first_name"] == {"field": "first_name", "old": "Alice", "new": "Alicia"}
    assert changes["password"] == {"field": "password", "redacted": True}
    assert "alice-pass" not in json.dumps(upd)


def test_admin_creates_and_deletes_accounts(world):
    t = world["acme"]["tenant"]
    created = one(events(world, t, "action:user.create"))
    assert created["actor"]["id"] == str(world["alice_id"])
    assert created["targets"] == [{"type": "user", "id": str(world["bob_id"]), "name": "Bob Builder"}]
    assert {"field": "email", "new": "bob@acme.test"} in created["changes"]
    assert {"field": "password", "redacted": True} in created["changes"]
    deleted = one(events(world, t, "action:user.delete"))
    assert deleted["targets"][0]["id"] == str(world["bob_id"])
    assert {"field": "email", "old": "bob@acme.test"} in deleted["changes"]


def test_roles_permissions_groups_and_assignments(world):
    t = world["acme"]["tenant"]
    role, group, bob = str(world["role"]["id"]), str(world["group"]["id"]), str(world["bob_id"])
    r = events(world, t, "target:role:%s" % role)
    assert [(e["action"], [x["type"] + ":" + x["id"] for x in e["targets"][1:]]) for e in r] == [
        ("role.create", []),
        ("role.update", []),
        ("role.permission_grant", ["permission:CREATE_ENVIRONMENT"]),
        ("role.permission_grant", ["permission:VIEW_PROJECT"]),
        ("role.permission_revoke", ["permission:CREATE_ENVIRONMENT"]),
        ("role.assign", ["user:" + bob]),
        ("role.unassign", ["user:" + bob]),
        ("role.assign", ["group:" + group]),
        ("role.delete", []),
    ]
    assert all(e["category"] == "authorization" for e in r)
    assert r[1]["changes"] == [{"field": "name", "old": "Developers", "new": "Engineers"}]
    g = events(world, t, "target:group:%s" % group)
    assert [e["action"] for e in g] == ["group.create", "group.update", "member.add", "group.permission_grant", "role.assign",
                                        "member.remove", "group.delete"]


def test_projects_and_the_rollback_guard(world):
    t = world["acme"]["tenant"]
    created = events(world, t, "action:project.create")
    # The duplicate "Web" rolled back: nothing was recorded for it.
    assert [e["targets"][0]["name"] for e in created] == ["Web", "Mobile"]
    upd = one(events(world, t, "action:project.update"))
    assert upd["changes"] == [{"field": "name", "old": "Web", "new": "Website"}]
    gone = one(events(world, t, "action:project.delete"))
    assert gone["targets"][0]["id"] == str(world["mobile"]["id"])
    # Nothing of Acme's projects leaks into Globex's log.
    assert events(world, world["globex"]["tenant"], "target.type:project") == []


def test_organisation_view_and_project_view_through_the_app(world):
    alice, acme, web = world["alice"], world["acme"], world["web"]
    org = alice.call("GET", "/api/v1/organisations/%d/audit/" % acme["id"], {"limit": "1000"})["events"]
    assert {e["tenant"] for e in org} == {acme["tenant"]} and len(org) == len(events(world, acme["tenant"]))
    logins = alice.call("GET", "/api/v1/organisations/%d/audit/" % acme["id"],
                        {"q": "action:user.login -outcome:failure"})["events"]
    assert logins and all(e["action"] == "user.login" for e in logins)
    proj = alice.call("GET", "/api/v1/projects/%d/audit/" % web["id"])["events"]
    assert sorted(e["action"] for e in proj) == ["environment.create", "environment.create", "project.create",
                                                  "project.update", "user.permission_grant",
                                                  "user.permission_grant", "user.permission_revoke"]
    assert all(any(t["type"] == "project" and t["id"] == str(web["id"]) for t in e["targets"]) for e in proj)
    # Bob, a member, saw the project's log (before his account was deleted).
    assert {e["action"] for e in world["bob_project_view"]["events"]} == {
        "project.create", "environment.create", "project.update", "user.permission_grant", "user.permission_revoke"}


def test_direct_user_permissions_on_a_project(world):
    got = events(world, world["acme"]["tenant"], "action:user.permission_* target:user:%d" % world["bob_id"])
    assert [(e["action"], e["targets"][1]["id"], e["targets"][2]) for e in got] == [
        ("user.permission_grant", "MANAGE_FEATURES", {"type": "project", "id": str(world["web"]["id"]),
                                                      "name": "Website"}),
        ("user.permission_grant", "VIEW_PROJECT", {"type": "project", "id": str(world["web"]["id"]), "name": "Website"}),
        ("user.permission_revoke", "MANAGE_FEATURES", {"type": "project", "id": str(world["web"]["id"]),
                                                       "name": "Website"}),
    ]


def test_events_carry_proofs(world):
    e = events(world, world["acme"]["tenant"], "action:user.password_change")[0]
    # wait: the server signs a checkpoint at most once a second.
    got = world["reader"].event(world["acme"]["tenant"], e["id"], proof=True, wait="5s")
    assert got["leaf_hash"] == e["leaf_hash"] and got["proof"]["hashes"] is not None
