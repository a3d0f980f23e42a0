"""Client behaviour against a scriptable server: batching, order, ids,
retries (429/503 with Retry-After, lost answers, outages), the full queue,
partial rejection, fan-out, close."""

import json
import threading
import time

import pytest

import hashtrail
from fakeserver import FakeServer, free_port, problem, wait_until


def mk(fake, **kw):
    errs = []
    kw.setdefault("on_error", errs.append)
    kw.setdefault("min_backoff", 0.01)
    kw.setdefault("max_backoff", 0.05)
    kw.setdefault("flush_interval", 0.01)
    c = hashtrail.Client(fake.url if hasattr(fake, "url") else fake, "htk_test", tenant="acme", **kw)
    return c, errs


def ev(i, **kw):
    e = {"action": "project.update", "targets": [{"type": "project", "id": str(i)}]}
    e.update(kw)
    return e


def test_batches_keep_order_and_give_ulids(fake):
    c, errs = mk(fake, batch_size=100)
    for i in range(350):
        assert c.record(ev(i)) is True
    assert c.flush(10)
    got = fake.events("acme")
    assert [e["targets"][0]["id"] for e in got] == [str(i) for i in range(350)]
    ids = [e["id"] for e in got]
    assert len(set(ids)) == 350 and all(len(i) == 26 for i in ids)
    assert ids == sorted(ids)  # monotonic ULIDs
    assert all(len(json.loads(r["body"])["events"]) <= 100 for r in fake.requests)
    assert all(r["path"] == "/v1/tenants/acme/events?partial=true" for r in fake.requests)
    assert all(r["auth"] == "Bearer htk_test" for r in fake.requests)
    assert c.stats()["sent"] == 350 and not errs
    c.close()


def test_batch_bytes_split_requests(fake):
    c, _ = mk(fake, batch_bytes=2000)
    for i in range(20):
        c.record(ev(i, metadata={"pad": "x" * 500}))
    assert c.flush(10)
    assert len(fake.requests) >= 5
    assert all(len(r["body"]) <= 2000 + 200 for r in fake.requests)
    assert len(fake.events("acme")) == 20
    c.close()


def test_fills_time_service_and_keeps_own_id(fake):
    c, _ = mk(fake, service={"name": "billing", "version": "1.4.2"})
    c.record(ev(1, id="my-id-1"))
    c.flush(5)
    e = fake.events("acme")[0]
    assert e["id"] == "my-id-1"
    assert e["service"] == {"name": "billing", "version": "1.4.2"}
    assert e["time"].endswith("Z") and len(e["time"]) == len("2026-01-01T00:00:00.000000Z")
    c.close()


def test_event_copied_at_record(fake):
    c, _ = mk(fake)
    e = ev(1)
    c.record(e)
    e["action"] = "changed.later"
    c.flush(5)
    assert fake.events("acme")[0]["action"] == "project.update"
    assert "id" not in e  # the caller's dict is not touched
    c.close()


def test_429_retry_after_same_bytes_no_duplicates(fake):
    fake.push(problem(429, "rate_limited", "1"))
    c, errs = mk(fake)
    t0 = time.monotonic()
    r = c.record_sync(ev(1))
    waited = time.monotonic() - t0
    assert waited >= 0.9, waited  # Retry-After honoured over the 10 ms backoff
    assert r.seq == 0 and r.tenant == "acme"
    assert len(fake.requests) == 2
    assert fake.requests[0]["body"] == fake.requests[1]["body"]
    assert len(fake.events("acme")) == 1
    retry = [e for e in errs if isinstance(e, hashtrail.RetryError)]
    assert retry and retry[0].status == 429 and retry[0].wait >= 0.9
    assert c.stats()["retried"] == 1
    c.close()


def test_503_with_http_date_retry_after(fake):
    from email.utils import formatdate
    fake.push(problem(503, "unavailable", formatdate(time.time() + 2, usegmt=True)))
    c, errs = mk(fake)
    t0 = time.monotonic()
    c.record(ev(1))
    assert c.flush(10)
    assert time.monotonic() - t0 >= 0.5
    assert len(fake.events("acme")) == 1
    assert any(isinstance(e, hashtrail.RetryError) and e.status == 503 for e in errs)
    c.close()


def test_max_retry_after_caps_the_wait(fake):
    fake.push(problem(503, "unavailable", "3600"))
    c, _ = mk(fake, max_retry_after=0.2)
    t0 = time.monotonic()
    c.record_sync(ev(1), timeout=5)
    assert time.monotonic() - t0 < 2


def test_lost_answer_is_resent_and_recorded_once(fake):
    fake.push("lost", "lost")
    c, errs = mk(fake)
    for i in range(3):
        c.record(ev(i))
    assert c.flush(10)
    assert len(fake.requests) >= 3
    assert len(fake.events("acme")) == 3  # the server answered the replays by id
    assert all(isinstance(e, hashtrail.RetryError) and e.status == 0 for e in errs)
    c.close()


def test_server_down_then_back_without_spool():
    port = free_port()
    errs = []
    c = hashtrail.Client("http://127.0.0.1:%d" % port, "k", tenant="acme", on_error=errs.append,
                         min_backoff=0.01, max_backoff=0.1, flush_interval=0.01)
    for i in range(10):
        c.record(ev(i))
    assert wait_until(lambda: len(errs) >= 2)
    assert all(isinstance(e, hashtrail.RetryError) and e.status == 0 for e in errs)
    srv = FakeServer(port)
    try:
        assert c.flush(10)
        assert [e["targets"][0]["id"] for e in srv.events("acme")] == [str(i) for i in range(10)]
        assert c.stats()["sent"] == 10 and c.stats()["dropped"] == 0
        c.close()
    finally:
        srv.stop()


def test_queue_full_drop():
    fake = FakeServer()
    fake.gate = threading.Event()  # the server hangs: the sender is stuck on its first request
    errs = []
    c = hashtrail.Client(fake.url, "k", tenant="acme", queue_size=3, when_full="drop", on_error=errs.append,
                         flush_interval=0)
    try:
        c.record(ev(0))
        assert wait_until(lambda: len(fake.requests) == 1 or c.stats()["queued"] == 0)
        time.sleep(0.05)
        results = [c.record(ev(i)) for i in range(1, 8)]
        assert results == [True] * 3 + [False] * 4
        st = c.stats()
        assert st["dropped"] == 4 and st["queued"] == 3
        drops = [e for e in errs if isinstance(e, hashtrail.EventDropped)]
        assert len(drops) == 4 and all(d.reason == "queue_full" and d.event_id for d in drops)
        fake.gate.set()
        assert c.flush(10)
        assert len(fake.events("acme")) == 4
    finally:
        fake.gate.set()
        c.close()
        fake.stop()


def test_queue_full_block_waits_then_drops():
    fake = FakeServer()
    fake.gate = threading.Event()
    errs = []
    c = hashtrail.Client(fake.url, "k", tenant="acme", queue_size=1, when_full="block", block_timeout=0.3,
                         on_error=errs.append, flush_interval=0)
    try:
        c.record(ev(0))
        assert wait_until(lambda: c.stats()["queued"] == 0)
        time.sleep(0.05)
        assert c.record(ev(1)) is True
        t0 = time.monotonic()
        assert c.record(ev(2)) is False
        assert 0.25 <= time.monotonic() - t0 < 2
        assert c.stats()["dropped"] == 1
        # Room freed while blocked: the event is taken.
        threading.Timer(0.1, fake.gate.set).start()
        assert c.record(ev(3)) is True
        assert c.flush(10)
        assert [e["targets"][0]["id"] for e in fake.events("acme")] == ["0", "1", "3"]
    finally:
        fake.gate.set()
        c.close()
        fake.stop()


def test_partial_rejection_reaches_on_error(fake):
    c, errs = mk(fake, flush_interval=0.2)
    c.record(ev(0))
    c.record(ev(1, severity="urgent"))
    c.record(ev(2))
    assert c.flush(10)
    assert [e["targets"][0]["id"] for e in fake.events("acme")] == ["0", "2"]
    rej = [e for e in errs if isinstance(e, hashtrail.APIError)]
    assert len(rej) == 1
    assert rej[0].status == 400 and rej[0].fields[0]["field"] == "events[1].severity"
    assert rej[0].action == "project.update" and rej[0].event_id
    assert c.stats()["failed"] == 1 and c.stats()["sent"] == 2
    c.close()


def test_record_sync_raises_api_error(fake):
    c, _ = mk(fake)
    with pytest.raises(hashtrail.APIError) as ei:
        c.record_sync(ev(0, severity="urgent"))
    assert ei.value.status == 400
    assert ei.value.field_errors() == {"events[0].severity": "must be one of info, low, medium, high, critical"}
    c.close()


def test_401_fails_without_retry(fake):
    fake.push(problem(401, "unauthorized"))
    c, errs = mk(fake)
    with pytest.raises(hashtrail.APIError) as ei:
        c.record_sync(ev(0))
    assert ei.value.status == 401 and ei.value.code == "unauthorized" and ei.value.request_id == "req-1"
    assert len(fake.requests) == 1
    assert not any(isinstance(e, hashtrail.RetryError) for e in errs)
    c.close()


def test_409_splits_batch_to_isolate_the_culprit(fake):
    c, errs = mk(fake, flush_interval=0.3)
    c.record_sync(ev(0, id="dup"))
    c.record(ev(1))
    c.record(ev(2, id="dup", description="other content"))
    c.record(ev(3))
    assert c.flush(10)
    assert [e["targets"][0]["id"] for e in fake.events("acme")] == ["0", "1", "3"]
    conflicts = [e for e in errs if isinstance(e, hashtrail.APIError)]
    assert len(conflicts) == 1 and conflicts[0].status == 409 and conflicts[0].event_id == "dup"
    c.close()


def test_fan_out_and_installation_key(fake):
    errs = []
    c = hashtrail.Client(fake.url, "k", on_error=errs.append, flush_interval=0.01)
    c.record_fan_out(["org-1", "org-2"], hashtrail.catalog.password_changed("42"))
    c.record({"tenant": "org-3", "action": "user.logout"})
    rs = c.record_fan_out_sync(["org-1", "org-7"], {"action": "user.update"})
    assert {r.tenant for r in rs} == {"org-1", "org-7"} and len({r.id for r in rs}) == 1
    assert c.flush(5)
    assert all(r["path"] == "/v1/events?partial=true" for r in fake.requests)
    first = json.loads(fake.requests[0]["body"])["events"][0]
    assert first["tenants"] == ["org-1", "org-2"] and "tenant" not in first
    a, b = fake.events("org-1")[0], fake.events("org-2")[0]
    assert a["id"] == b["id"]
    assert len(fake.events("org-3")) == 1 and not errs
    c.close()


def test_tenant_errors_never_raise_from_record(fake):
    errs = []
    c = hashtrail.Client(fake.url, "k", on_error=errs.append)
    assert c.record({"action": "user.login"}) is False  # installation key, no tenant
    t = hashtrail.Client(fake.url, "k", tenant="acme", on_error=errs.append)
    assert t.record({"action": "user.login", "tenant": "globex"}) is False
    assert t.record_fan_out(["a", "b"], {"action": "user.login"}) is False
    assert t.record({"action": "x.y", "metadata": {"o": object()}}) is False
    assert [e.reason for e in errs] == ["no_tenant", "no_tenant", "no_tenant", "invalid"]
    with pytest.raises(hashtrail.EventDropped):
        t.record_sync({"action": "user.login", "tenant": "globex"})
    c.close()
    t.close()
    assert t.record({"action": "user.login"}) is False
    assert errs[-1].reason == "closed"
    with pytest.raises(hashtrail.ClientClosed):
        t.record_sync({"action": "user.login"})


def test_datetime_and_other_values_are_encoded(fake):
    import datetime
    import decimal
    import uuid
    c, errs = mk(fake)
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=datetime.timezone.utc)
    u = uuid.uuid4()
    c.record_sync(ev(1, time=when, metadata={"at": when, "amount": decimal.Decimal("1.50"), "u": u}))
    e = fake.events("acme")[0]
    assert e["time"] == "2026-01-02T03:04:05.000600Z"
    assert e["metadata"] == {"at": when.isoformat(), "amount": "1.50", "u": str(u)}
    c.close()


def test_close_without_spool_drops_and_reports():
    port = free_port()
    errs = []
    c = hashtrail.Client("http://127.0.0.1:%d" % port, "k", tenant="acme", on_error=errs.append,
                         min_backoff=0.01, max_backoff=0.05)
    for i in range(5):
        c.record(ev(i))
    t0 = time.monotonic()
    assert c.close(timeout=0.3) is False
    assert time.monotonic() - t0 < 3
    st = c.stats()
    assert st["dropped"] == 5 and st["sent"] == 0
    lost = [e for e in errs if isinstance(e, hashtrail.EventDropped)]
    assert len(lost) == 5 and all(e.reason == "gave_up" for e in lost)
    assert c.close() is True  # a second close does nothing


def test_max_attempts_gives_up():
    port = free_port()
    errs = []
    c = hashtrail.Client("http://127.0.0.1:%d" % port, "k", tenant="acme", on_error=errs.append,
                         min_backoff=0.01, max_backoff=0.02, max_attempts=3)
    with pytest.raises(hashtrail.EventDropped) as ei:
        c.record_sync(ev(0), timeout=10)
    assert ei.value.reason == "max_attempts"
    assert len([e for e in errs if isinstance(e, hashtrail.RetryError)]) == 2
    assert c.stats()["failed"] == 1
    c.close()


def test_record_sync_timeout(fake):
    fake.gate = threading.Event()
    c, _ = mk(fake)
    with pytest.raises(TimeoutError):
        c.record_sync(ev(0), timeout=0.2)
    fake.gate.set()
    assert c.flush(10)
    assert len(fake.events("acme")) == 1  # recorded later, under its id
    c.close()


def test_flush_timeout_and_context_manager(fake):
    fake.gate = threading.Event()
    with hashtrail.Client(fake.url, "k", tenant="acme", flush_interval=0) as c:
        c.record(ev(0))
        assert c.flush(0.1) is False
        fake.gate.set()
        assert c.flush(5) is True
    assert c.record(ev(1)) is False


def test_backoff_is_full_jitter_and_grows():
    c = hashtrail.Client("http://127.0.0.1:9", "k", tenant="a", min_backoff=0.1, max_backoff=1.0)
    try:
        waits = [c._backoff(1, None) for _ in range(200)]
        assert all(0 < w <= 0.1 for w in waits) and max(waits) - min(waits) > 0.05
        assert all(0 < c._backoff(4, None) <= 0.8 for _ in range(100))
        assert all(0 < c._backoff(30, None) <= 1.0 for _ in range(100))
    finally:
        c.close(timeout=0)


def test_parse_retry_after():
    from hashtrail.transport import parse_retry_after
    assert parse_retry_after("7") == 7
    assert parse_retry_after("") == 0 and parse_retry_after("soon") == 0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # past
    assert 59 <= parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now=1767225600.0) <= 60


def test_on_error_that_raises_does_not_stop_the_sender(fake):
    def bad(e):
        raise RuntimeError("app bug")
    c = hashtrail.Client(fake.url, "k", tenant="acme", on_error=bad, flush_interval=0.01)
    c.record(ev(0, severity="urgent"))
    c.record(ev(1))
    assert c.flush(5)
    assert len(fake.events("acme")) == 1
    c.close()


def test_forked_child_gets_its_own_sender(fake):
    import os
    c, _ = mk(fake)
    c.record_sync(ev("parent"))
    pid = os.fork()
    if pid == 0:  # the child: record through the inherited client, then exit
        code = 1
        try:
            c.record(ev("child"))
            code = 0 if c.flush(10) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert ids_of(fake.events("acme")) == ["parent", "child"]
    c.record_sync(ev("parent-again"))
    c.close()


def ids_of(events):
    return [e["targets"][0]["id"] for e in events]


def test_http_proxy_from_option_and_environment(fake, monkeypatch):
    # The fake server doubles as a forward proxy: requests arrive in absolute form.
    c = hashtrail.Client("http://audit.invalid:8443/", "k", tenant="acme",
                         proxy="http://user:p%%40ss@127.0.0.1:%d" % fake.port)
    c.record_sync(ev(1))
    r = fake.requests[-1]
    assert r["raw_path"] == "http://audit.invalid:8443/v1/tenants/acme/events?partial=true"
    import base64
    assert base64.b64decode(r["proxy_auth"].split()[1]) == b"user:p@ss"
    c.close()

    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % fake.port)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:%d" % fake.port)
    c = hashtrail.Client("http://audit.invalid:8443", "k", tenant="acme")
    c.record_sync(ev(2))
    assert fake.requests[-1]["raw_path"].startswith("http://audit.invalid:8443/")
    c.close()
    # Loopback is never proxied, and NO_PROXY is honoured.
    c = hashtrail.Client(fake.url, "k", tenant="acme")
    c.record_sync(ev(3))
    assert fake.requests[-1]["raw_path"].startswith("/v1/")
    c.close()
    monkeypatch.setenv("NO_PROXY", "audit.invalid")
    monkeypatch.setenv("no_proxy", "audit.invalid")
    c = hashtrail.Client("http://audit.invalid:8443", "k", tenant="acme", max_attempts=1)
    with pytest.raises(hashtrail.EventDropped):  # not proxied: the name does not resolve
        c.record_sync(ev(4), timeout=10)
    c.close()


def test_https_with_a_private_ca(tmp_path):
    import shutil
    import ssl
    import subprocess
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    from fakeserver import FakeServer
    srv = FakeServer(tls=(cert, key))
    try:
        ctx = ssl.create_default_context(cafile=cert)
        c = hashtrail.Client(srv.url, "k", tenant="acme", ssl_context=ctx)
        assert c.record_sync(ev(1), timeout=10).seq == 0
        c.close()
        # Without the CA the certificate is refused: a network error, retried, never sent in clear.
        errs = []
        c = hashtrail.Client(srv.url, "k", tenant="acme", on_error=errs.append, max_attempts=2, min_backoff=0.01)
        with pytest.raises(hashtrail.EventDropped):
            c.record_sync(ev(2), timeout=10)
        assert any("CERTIFICATE_VERIFY_FAILED" in str(e) for e in errs)
        c.close()
        assert len(srv.events("acme")) == 1
    finally:
        srv.stop()
