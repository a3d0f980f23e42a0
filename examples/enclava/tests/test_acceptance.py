"""Seed 003 end to end: Enclava's operations over real HTTP, its audit log
read back from Hashtrail (the app's own audit endpoints and the query API)."""

import time
from typing import Any, List

import httpx

IP_ADMIN, IP_DEV, IP_ATTACKER = "203.0.113.1", "198.51.100.2", "192.0.2.99"


def call(app_url: str, method: str, path: str, ip: str, token: str = "", status: int = 200, **kw: Any) -> Any:
    headers = {"X-Forwarded-For": ip, "User-Agent": "pytest-browser/1"}
    if token:
        headers["Authorization"] = "Bearer " + token
    r = httpx.request(method, app_url + path, headers=headers, timeout=10, **kw)
    assert r.status_code == status, (method, path, r.status_code, r.text[:300])
    return r.json()


def wait_for(audit: Any, q: str, n: int) -> List[Any]:
    """Entries matching q once at least n are there (events are sent in the background)."""
    deadline = time.time() + 10
    while True:
        audit.flush(5)
        got = audit.search(q, limit=1000)
        if len(got) >= n or time.time() > deadline:
            return got
        time.sleep(0.05)


def test_enclava_operations_end_to_end(app_url, audit, server):
    call(app_url, "POST", "/api/v1/users", IP_ADMIN, json={"email": "admin@enclava.test", "password": "pw-admin",
                                                          "admin": True}, status=201)
    dev_id = call(app_url, "POST", "/api/v1/users", IP_DEV, json={"email": "dev@enclava.test",
                                                                 "password": "pw-dev"}, status=201)["id"]
    call(app_url, "POST", "/api/v1/auth/login", IP_ATTACKER, json={"email": "dev@enclava.test", "password": "x"},
         status=401)
    admin = call(app_url, "POST", "/api/v1/auth/login", IP_ADMIN,
                 json={"email": "admin@enclava.test", "password": "pw-admin"})
    dev = call(app_url, "POST", "/api/v1/auth/login", IP_DEV, json={"email": "dev@enclava.test", "password": "pw-dev"})
    at, dt = admin["access_token"], dev["access_token"]

    key = call(app_url, "POST", "/api/v1/api-keys", IP_DEV, dt, json={"name": "ci"}, status=201)
    call(app_url, "POST", "/api/v1/api-keys", IP_DEV, dt, json={"name": "ci"}, status=409)  # rolled back
    call(app_url, "DELETE", "/api/v1/api-keys/%d" % key["id"], IP_DEV, dt)
    budget = call(app_url, "POST", "/api/v1/budgets", IP_DEV, dt, json={"name": "team", "limit_cents": 1000},
                  status=201)
    call(app_url, "PUT", "/api/v1/budgets/%d" % budget["id"], IP_DEV, dt, json={"limit_cents": 1500})
    call(app_url, "POST", "/api/v1/budgets/%d/usage" % budget["id"], IP_DEV, dt, json={"cents": 1200})
    assert call(app_url, "POST", "/api/v1/budgets/%d/usage" % budget["id"], IP_DEV, dt,
                json={"cents": 400, "model": "llama-3"})["exceeded"]
    call(app_url, "POST", "/api/v1/modules/rag/enable", IP_DEV, dt, status=403)  # a security event
    call(app_url, "POST", "/api/v1/modules/rag/enable", IP_ADMIN, at)
    call(app_url, "POST", "/api/v1/users/%d/permissions/budgets:write" % dev_id, IP_ADMIN, at)
    call(app_url, "DELETE", "/api/v1/users/%d/permissions/budgets:write" % dev_id, IP_ADMIN, at)
    call(app_url, "PUT", "/api/v1/settings/default_model", IP_ADMIN, at, json={"value": "llama-3"})
    call(app_url, "POST", "/api/v1/auth/logout", IP_DEV, dt)

    logs = wait_for(audit, "", 16)
    actions = [e.action for e in reversed(logs)]
    assert actions == ["create", "create", "login", "login", "login", "api_key_create", "api_key_delete",
                       "budget_create", "update", "budget_exceed", "security_event", "module_enable",
                       "permission_grant", "permission_revoke", "system_config", "logout"], actions
    by = {e.action: e for e in logs}

    # The request context every entry carries: who, from where, which request and session.
    login_ok = [e for e in logs if e.action == "login" and e.success]
    assert {(e.user_id, e.ip_address, e.session_id) for e in login_ok} == {
        (1, IP_ADMIN, admin["session_id"]), (dev_id, IP_DEV, dev["session_id"])}
    failed = [e for e in logs if e.action == "login" and not e.success][0]
    assert failed.ip_address == IP_ATTACKER and failed.severity == "medium"
    assert failed.error_message == "invalid email or password" and failed.user_id == dev_id
    assert all(e.request_id and e.user_agent == "pytest-browser/1" for e in logs)
    assert by["logout"].session_id == dev["session_id"] and by["api_key_create"].session_id == dev["session_id"]
    # Values before and after; a secret never appears.
    assert by["update"].old_values == {"limit_cents": 1000} and by["update"].new_values == {"limit_cents": 1500}
    assert by["system_config"].new_values == {"default_model": "llama-3"}
    assert by["create"].new_values["password"] == "[redacted]"
    exceed = by["budget_exceed"]
    assert exceed.details == {"spent_cents": 1600, "limit_cents": 1500} and exceed.audit_metadata == {"model": "llama-3"}
    assert exceed.tags == ["budget", "budget_exceed", "over_limit"] and not exceed.success
    assert key["key"] not in str([e.to_dict() for e in logs])

    # Enclava's questions, through the app's own endpoints (answered by Hashtrail searches).
    sec = call(app_url, "GET", "/api/v1/audit/security", IP_ADMIN, at)["logs"]
    assert sorted(e["action"] for e in sec) == sorted(
        ["login", "login", "login", "api_key_create", "api_key_delete", "security_event", "permission_grant",
         "permission_revoke", "logout"])
    high = call(app_url, "GET", "/api/v1/audit/high-severity", IP_ADMIN, at)["logs"]
    assert sorted(e["action"] for e in high) == ["permission_grant", "permission_revoke", "security_event"]
    # Free-form questions: q is Hashtrail's search syntax.
    dev_fail = call(app_url, "GET", "/api/v1/audit", IP_ADMIN, at,
                    params={"q": "actor:user:%d -outcome:success" % dev_id})["logs"]
    assert sorted(e["action"] for e in dev_fail) == ["budget_exceed", "login", "security_event"]
    from_attacker = call(app_url, "GET", "/api/v1/audit", IP_ADMIN, at,
                         params={"q": "ip:192.0.2.0/24", "security": "true"})["logs"]
    assert [e["action"] for e in from_attacker] == ["login"]
    call(app_url, "GET", "/api/v1/audit/security", IP_DEV, dt, status=401)  # dev signed out
    # The Hashtrail side of the same entries: tamper-evident, with the service named.
    ev = server["reader"].event(server["tenant"], by["permission_grant"].id)
    assert ev["action"] == "permission.grant" and ev["category"] == "security" and ev["severity"] == "high"
    assert ev["service"]["name"] == "enclava" and ev["leaf_hash"]
