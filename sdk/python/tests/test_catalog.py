"""The catalog constructors against the Go root package's catalog.go (the
server's GET /v1/catalog is checked in test_server.py)."""

import os
import re

import pytest

import hashtrail
from hashtrail import catalog

GO_CATALOG = os.path.join(os.path.dirname(__file__), "..", "..", "..", "catalog.go")


def go_entries():
    with open(GO_CATALOG) as f:
        src = f.read()
    out = {}
    for failed, action, cat, sev in re.findall(
            r'(failed\()?entry\("([a-z0-9_.]+)", Category(\w+), Severity(\w+),', src):
        out[action] = (cat.lower(), sev.lower(), "failure" if failed else "success")
    return out


def test_every_action_has_a_constructor_with_its_defaults():
    want = go_entries()
    assert len(want) > 30
    assert set(want) - catalog.RESERVED == set(catalog.ENTRIES)
    for action, (cat, sev, out) in want.items():
        if action in catalog.RESERVED:
            continue
        assert catalog.ENTRIES[action] == (cat, sev, out), action
        ev = catalog.EXAMPLES[action]()
        assert (ev["action"], ev["category"], ev["severity"], ev["outcome"]) == (action, cat, sev, out)


def test_constructors_shape():
    ev = catalog.user_login(catalog.user("42", email="a@example.com"), method="password+totp")
    assert ev["actor"] == {"type": "user", "id": "42", "email": "a@example.com",
                           "auth": {"method": "password+totp", "mfa": True}}
    failed = catalog.user_login_failed({"type": "user", "email": "who@example.com"}, catalog.UNKNOWN_USER)
    assert failed["outcome"] == "failure" and failed["error"] == "unknown_user"
    assert catalog.user_login(catalog.user("1"), auth=catalog.oauth("github"))["actor"]["auth"] == {
        "method": "oauth:github", "mfa": False, "provider": "github"}
    assert catalog.password_changed("42")["changes"] == [{"field": "password", "redacted": True}]
    assert catalog.env_var_changed("web", "DB_URL")["changes"] == [{"field": "DB_URL", "redacted": True}]
    assert catalog.role_assigned("admin", catalog.user_ref("43"))["targets"] == [
        {"type": "role", "id": "admin"}, {"type": "user", "id": "43"}]
    run = catalog.command_run("make", 2, stderr="boom")
    assert run["outcome"] == "failure" and run["output"] == {"command": "make", "stderr": "boom", "exit_code": 2}
    assert catalog.command_run("x", -1)["outcome"] == "unknown"
    key = catalog.api_key_used("key_1")
    assert key["actor"] == {"type": "api_key", "id": "key_1",
                            "auth": {"method": "api_token", "mfa": False, "credential_id": "key_1"}}
    # Constructors return fresh dicts: changing one changes no other.
    actor = catalog.user("1")
    a = catalog.user_login(actor)
    a["actor"]["id"] = "2"
    assert actor["id"] == "1"
    with pytest.raises(ValueError):
        catalog.event("no.such_action")


def test_diff_feeds_update_constructors():
    ev = catalog.user_updated("42", hashtrail.diff({"name": "a", "api_key": "k1"}, {"name": "b", "api_key": "k2"}))
    assert ev["changes"] == [{"field": "name", "old": "a", "new": "b"}, {"field": "api_key", "redacted": True}]
