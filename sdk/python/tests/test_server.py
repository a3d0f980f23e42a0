"""Against a real Hashtrail server built from this checkout (sdk/python/test
runs these under scripts/with-server): round trip, proofs, keys, fan-out,
partial rejection, the catalog, the read side."""

import uuid

import pytest

import hashtrail
from hashtrail import catalog


def test_round_trip_visible_through_query_api(server, tenant):
    url, key = server
    ingest = hashtrail.Admin(url, key).create_key(tenant, "ingest", name="py-test")
    c = hashtrail.Client(url, ingest, tenant=tenant, service={"name": "py-sdk", "version": "0.1.0"})
    with hashtrail.request_context(actor={"type": "user", "id": "42", "email": "ann@example.com"},
                                   ip="203.0.113.7", user_agent="pytest", request_id="req-9"):
        r = c.record_sync(catalog.user_login(catalog.user("42", email="ann@example.com"), method="password+totp"))
        for i in range(50):
            c.record(catalog.project_updated(str(i), hashtrail.diff({"name": "a", "password": "x"},
                                                                    {"name": "b", "password": "y"})))
    assert c.flush(30)
    assert c.stats()["sent"] == 51 and c.stats()["failed"] == 0
    assert r.tenant == tenant and r.seq >= 0 and len(r.leaf_hash) == 64

    rd = hashtrail.Reader(url, key)
    got = rd.event(tenant, r.id)
    assert got["leaf_hash"] == r.leaf_hash and got["seq"] == r.seq
    assert got["action"] == "user.login" and got["actor"]["auth"]["method"] == "password+totp"
    assert got["context"]["ip"] == "203.0.113.7" and got["context"]["request_id"] == "req-9"
    assert got["service"] == {"name": "py-sdk", "version": "0.1.0"}
    events = rd.events(tenant, q="action:project.update", limit=1000, order="asc")
    assert [e["targets"][0]["id"] for e in events] == [str(i) for i in range(50)]  # order kept
    assert events[0]["changes"] == [{"field": "name", "old": "a", "new": "b"},
                                    {"field": "password", "redacted": True}]
    # Cursors are followed across pages.
    assert len(rd.events(tenant, limit=30, action="project.*")) == 30
    with_proof = rd.event(tenant, r.id, proof=True, wait="5s")
    assert with_proof["proof"]["leaf_index"] == r.seq and "checkpoint" in with_proof
    # A retry with the same id and content is answered with the original receipt.
    again = c.record_sync(dict(got_event_input(got)))
    assert again.seq == r.seq and again.id == r.id
    c.close()


def got_event_input(stored):
    """Not used for a new event: resending a stored one under its id must
    not duplicate it, but its content differs once defaults were applied,
    so resend the very dict we sent instead."""
    return {"id": stored["id"], "action": stored["action"], "actor": stored["actor"],
            "category": stored["category"], "severity": stored["severity"], "outcome": stored["outcome"],
            "time": stored["time"], "context": stored["context"], "service": stored["service"]}


def test_partial_rejection_and_record_sync_error(server, tenant):
    url, key = server
    errs = []
    c = hashtrail.Client(url, key, tenant=tenant, on_error=errs.append, flush_interval=0.5)
    c.record({"action": "ok.one"})
    c.record({"action": "ok.two", "severity": "urgent"})
    c.record({"action": "ok.three"})
    assert c.flush(30)
    rejected = [e for e in errs if isinstance(e, hashtrail.APIError)]
    assert len(rejected) == 1 and rejected[0].fields[0]["field"].endswith("severity")
    with pytest.raises(hashtrail.APIError) as ei:
        c.record_sync({"action": "Not An Action"})
    assert ei.value.status == 400 and "action" in ei.value.fields[0]["field"]
    actions = [e["action"] for e in hashtrail.Reader(url, key).events(tenant, order="asc")]
    assert actions == ["ok.one", "ok.three"]
    c.close()


def test_fan_out_to_several_tenants(server):
    url, key = server
    admin = hashtrail.Admin(url, key)
    tenants = ["py-fan-" + uuid.uuid4().hex[:8] for _ in range(3)]
    for t in tenants:
        admin.create_tenant(t)
    c = hashtrail.Client(url, key)
    rs = c.record_fan_out_sync(tenants, catalog.password_changed("42"))
    assert sorted(r.tenant for r in rs) == sorted(tenants) and len({r.id for r in rs}) == 1
    c.record_fan_out(tenants[:2], catalog.mfa_enabled("42", "totp"))
    assert c.flush(30)
    for t in tenants:
        acts = [e["action"] for e in admin.events(t, order="asc")]
        assert acts[:1] == ["user.password_change"]
    assert [e["action"] for e in admin.events(tenants[0], order="asc")] == ["user.password_change",
                                                                          "user.mfa_enable"]
    c.close()


def test_wrong_key_fails_without_retry(server, tenant):
    url, _ = server
    errs = []
    c = hashtrail.Client(url, "htk_" + "A" * 43, tenant=tenant, on_error=errs.append)
    with pytest.raises(hashtrail.APIError) as ei:
        c.record_sync({"action": "user.login"}, timeout=10)
    assert ei.value.status == 401
    assert not any(isinstance(e, hashtrail.RetryError) for e in errs)
    c.close()


def test_catalog_constructors_match_server_catalog(server):
    url, key = server
    cat = hashtrail.Reader(url, key).catalog()
    actions = {a["action"]: a for a in cat["actions"]}
    offered = set(actions) - catalog.RESERVED
    assert offered == set(catalog.ENTRIES), "constructors missing or extra: %s" % (offered ^ set(catalog.ENTRIES))
    assert set(catalog.EXAMPLES) == offered
    for action, make in catalog.EXAMPLES.items():
        ev = make()
        want = actions[action]
        assert (ev["action"], ev["category"], ev["severity"], ev["outcome"]) == (
            action, want["category"], want["severity"], want["outcome"]), action


def test_every_catalog_constructor_is_accepted(server, tenant):
    url, key = server
    c = hashtrail.Client(url, key, tenant=tenant)
    for action, make in catalog.EXAMPLES.items():
        r = c.record_sync(make())
        assert r.id, action
    c.close()


def test_viewer_token_and_stats(server, tenant):
    url, key = server
    c = hashtrail.Client(url, key, tenant=tenant)
    with hashtrail.request_context(ip="203.0.113.7"):
        c.record_sync(catalog.project_created("7"))
        c.record_sync(catalog.project_created("8"))
    rd = hashtrail.Reader(url, key)
    tok = rd.create_viewer_token(tenant, "target:project:7")
    assert tok["token"].startswith("htv_")
    viewer = hashtrail.Reader(url, tok["token"])
    evs = viewer.events(tenant)
    assert [e["targets"][0]["id"] for e in evs] == ["7"]
    assert "ip" not in (evs[0].get("context") or {})
    st = rd.stats(tenant, group_by="action")
    assert {g["key"]: g["count"] for g in st["groups"]}.get("project.create") == 2
    c.close()


def test_admin_helpers(server):
    url, key = server
    t = "py-adm-" + uuid.uuid4().hex[:8]
    with hashtrail.Admin(url, key) as admin:
        created = admin.create_tenant(t, name="Admin helpers")
        assert created["id"] == t
        with pytest.raises(hashtrail.APIError) as ei:
            admin.create_tenant(t)
        assert ei.value.status == 409
        assert admin.create_tenant(t, exist_ok=True)["id"] == t
        k = admin.new_key(t, "read", name="reader")
        assert k["secret"].startswith("htk_") and k["role"] == "read" and k["id"]
        assert hashtrail.Reader(url, k["secret"]).events(t)  # sees the tenant's own audit of the key
        with pytest.raises(hashtrail.APIError) as ei:
            admin.create_key(t, "superuser")
        assert ei.value.status == 400 and "role" in ei.value.field_errors()
        pol = admin.put_retention(t, [{"name": "users", "filter": "action:user.*", "keep": "90d"}])
        assert pol["version"] == 1 and admin.get_retention(t)["rules"][0]["keep"] == "90d"


def test_docs_quick_start_runs(server, tenant, monkeypatch):
    """The quick start of docs/sdk-python.md, run as written against the server."""
    import logging
    import os
    import re
    url, key = server
    doc = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "sdk-python.md")
    with open(doc) as f:
        text = f.read()
    start = text.index("## Quick start")
    code = re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)
    code = code.replace('"https://audit.example.com"', repr(url)).replace('tenant="acme"', "tenant=%r" % tenant)
    monkeypatch.setenv("HASHTRAIL_API_KEY", key)
    errors = []
    ns = {"os": os, "log": logging.getLogger("docs"), "event": {"action": "report.generate"}}
    logging.getLogger("docs").addFilter(lambda r: errors.append(r.getMessage()))
    exec(compile(code, doc, "exec"), ns)
    assert ns["receipt"].tenant == tenant and not errors
    actions = [e["action"] for e in hashtrail.Reader(url, key).events(tenant, order="asc")]
    assert actions == ["project.delete", "user.login", "role.assign", "report.generate"]


def test_reader_walks_pages(server, tenant):
    url, key = server
    c = hashtrail.Client(url, key, tenant=tenant, batch_size=1000)
    for i in range(250):
        c.record({"action": "page.walk", "metadata": {"i": i}})
    assert c.flush(30)
    c.close()
    rd = hashtrail.Reader(url, key)
    walked = [e["metadata"]["i"] for e in rd.iter_events(tenant, page_size=60, action="page.walk", order="asc")]
    assert walked == list(range(250))
    newest = rd.events(tenant, limit=70, action="page.walk")
    assert [e["metadata"]["i"] for e in newest] == list(range(249, 179, -1))
    assert len(rd.events(tenant, q="action:page.walk", limit=1000)) == 250
