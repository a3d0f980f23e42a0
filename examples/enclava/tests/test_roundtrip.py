"""Every field of Enclava's AuditLog survives Hashtrail, and Enclava's two
questions (is_security_event, is_high_severity) are single searches that
agree with Enclava's own methods on every combination of action and
category the app can produce."""

import datetime
import itertools
import random
import string
from typing import Dict, List

import pytest

import hashtrail
from app.audit_log import (HIGH_SEVERITY_QUERY, SECURITY_EVENTS_QUERY, AuditAction, AuditLog,
                           AuditSeverity)


@pytest.fixture(scope="module")
def rt(server):
    """A tenant of its own (the acceptance test reads the app's whole log) and a client for it."""
    admin = hashtrail.Admin(server["url"], server["admin_key"])
    tenant = server["tenant"] + "-rt"
    admin.create_tenant(tenant)
    errors: List[Exception] = []
    c = hashtrail.Client(server["url"], admin.create_key(tenant, "ingest"), tenant=tenant, flush_interval=0.05,
                         on_error=errors.append)
    yield {"client": c, "tenant": tenant, "reader": server["reader"], "errors": errors}
    c.close(10)


def entries() -> List[AuditLog]:
    """One entry per constructor, and hand-made ones that fill every field and stretch the mapping."""
    t = datetime.datetime(2026, 11, 23, 9, 15, 42, 123456)
    out = [
        AuditLog.create_login_event(7, True, "203.0.113.5", "Mozilla/5.0", "sess_1"),
        AuditLog.create_login_event(7, False, "203.0.113.5", "curl/8", None, "invalid password"),
        AuditLog.create_logout_event(7, "sess_1"),
        AuditLog.create_api_key_event(7, AuditAction.API_KEY_CREATE, 3, "ci"),
        AuditLog.create_api_key_event(7, AuditAction.API_KEY_DELETE, 3, "ci", False, "still in use"),
        AuditLog.create_budget_event(7, AuditAction.BUDGET_CREATE, 4, "team", {"limit_cents": 5000}),
        AuditLog.create_budget_event(7, AuditAction.BUDGET_EXCEED, 4, "team", {"spent_cents": 5100}),
        AuditLog.create_module_event(1, AuditAction.MODULE_ENABLE, "rag", details={"version": "2"}),
        AuditLog.create_module_event(1, AuditAction.MODULE_DISABLE, "rag", False, "dependency missing"),
        AuditLog.create_permission_event(1, AuditAction.PERMISSION_GRANT, 7, "budgets:write"),
        AuditLog.create_permission_event(1, AuditAction.PERMISSION_REVOKE, 7, "budgets:write"),
        AuditLog.create_security_event(None, "brute_force", "20 failed logins", AuditSeverity.CRITICAL,
                                       {"count": 20}, "198.51.100.9"),
        AuditLog.create_system_event("cleanup", "Old sessions purged", details={"removed": 12}),
        AuditLog.create_system_event(AuditAction.SYSTEM_CONFIG, "Config reloaded", "config", "llm.yaml"),
        AuditLog.create_data_change_event(7, AuditAction.UPDATE, "budget", "4", "Budget updated",
                                          {"limit_cents": 5000, "name": "team"},
                                          {"limit_cents": 9000, "name": "team-2"}),
        AuditLog(id="custom-1", user_id=42, action="update", resource_type="chatbot", resource_id="bot-9",
                 description="Every field set", details={"nested": {"a": [1, 2, {"b": None}]}, "n": 1.5},
                 ip_address="2001:db8::7", user_agent="Enclava-CLI/1.0", session_id="sess_42",
                 request_id="req-42", severity="high", category="data", success=False,
                 error_message="upstream timeout", tags=["chatbot", "retry", "ünïcode"],
                 audit_metadata={"trace": "abc", "attempt": 3, "flags": [True, False]},
                 old_values={"prompt": "Be brief", "temperature": 0.2, "gone": None},
                 new_values={"prompt": "Be thorough", "temperature": 0.7, "added": {"k": "v"}},
                 created_at=t),
        # Outside the tables: an action the mapping cannot name, a resource type Hashtrail cannot take,
        # no resource id, no category, and a category Hashtrail does not have.
        AuditLog(user_id=5, action="Export CSV", resource_type="Report Builder", description="odd names",
                 category=None, created_at=t),
        AuditLog(user_id=5, action="create", resource_type="api_key", resource_id="9", description="generic create",
                 category="financial", created_at=t),
        AuditLog(user_id=5, action="read", resource_type="document", resource_id="d1", description="read",
                 category="access", severity="medium"),
    ]
    return out


def test_every_field_round_trips(rt):
    c = rt["client"]
    originals = entries()
    for e in originals:
        c.record_sync(e.to_event())
    for e in originals:
        ev = rt["reader"].event(rt["tenant"], e.id)
        back = AuditLog.from_event(ev)
        assert back.to_dict() == e.to_dict(), e.description
        assert ev["leaf_hash"]


def test_secret_named_values_are_redacted_on_purpose(rt):
    e = AuditLog.create_data_change_event(7, AuditAction.UPDATE, "api_key", "3", "Key rotated",
                                          {"api_key": "en_old", "name": "ci"}, {"api_key": "en_new", "name": "ci"})
    rt["client"].record_sync(e.to_event())
    back = AuditLog.from_event(rt["reader"].event(rt["tenant"], e.id))
    assert back.old_values == {"api_key": "[redacted]", "name": "ci"}
    assert back.new_values == {"api_key": "[redacted]", "name": "ci"}


ACTIONS = [a.value for a in AuditAction] + ["rotate"]
CATEGORIES = [None, "security", "access", "data", "system", "financial", "authentication", "authorization"]
SEVERITIES = ["low", "medium", "high", "critical"]


def test_security_and_high_severity_searches_agree_with_enclava(rt):
    c = rt["client"]
    # Letters only: the server's redactor replaces card-like numbers (a Luhn-valid 15-digit id(...)
    # once made this description "[redacted]").
    run = "matrix " + "".join(random.choice(string.ascii_lowercase) for _ in range(12))
    made: Dict[str, AuditLog] = {}
    for (action, category), severity in zip(itertools.product(ACTIONS, CATEGORIES), itertools.cycle(SEVERITIES)):
        e = AuditLog(user_id=1, action=action, resource_type="thing", resource_id="1", description=run,
                     category=category, severity=severity, success=(len(made) % 3 != 0))
        made[e.to_event()["id"]] = e
        c.record(e.to_event())
    assert c.flush(20) and rt["errors"] == []
    reader, t = rt["reader"], rt["tenant"]
    mine = reader.events(t, q='"%s"' % run, limit=1000)
    assert len(mine) == len(made), (len(mine), len(reader.events(t, limit=1000)), c.stats())
    sec = {ev["id"] for ev in reader.events(t, q=SECURITY_EVENTS_QUERY + ' "%s"' % run, limit=1000)}
    high = {ev["id"] for ev in reader.events(t, q=HIGH_SEVERITY_QUERY + ' "%s"' % run, limit=1000)}
    assert sec == {i for i, e in made.items() if e.is_security_event()}
    assert high == {i for i, e in made.items() if e.is_high_severity()}
    assert 0 < len(sec) < len(made) and 0 < len(high) < len(made)


@pytest.mark.parametrize("e", entries()[:3])
def test_mapping_without_a_server(e):
    assert AuditLog.from_event(e.to_event()).to_dict() == e.to_dict()
