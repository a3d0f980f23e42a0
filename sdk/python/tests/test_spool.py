"""The on-disk spool: what cannot be sent waits on disk, survives a restart
and is sent first, in order, with the ids it was given."""

import json
import os
import threading
import time

import pytest

import hashtrail
from fakeserver import FakeServer, free_port, problem, wait_until


def ev(i):
    return {"action": "project.update", "targets": [{"type": "project", "id": str(i)}]}


def ids(events):
    return [e["targets"][0]["id"] for e in events]


def test_spool_across_a_restart(tmp_path):
    port = free_port()
    path = str(tmp_path / "spool.db")
    errs = []
    c = hashtrail.Client("http://127.0.0.1:%d" % port, "k", tenant="acme", spool_path=path,
                         on_error=errs.append, min_backoff=0.01, max_backoff=0.05, flush_interval=0.01)
    for i in range(20):
        c.record(ev(i))
    assert wait_until(lambda: c.stats()["spool_events"] == 20)
    assert c.close(timeout=0.3) is True  # nothing lost: it is on disk
    st = c.stats()
    assert st["dropped"] == 0 and st["spooled"] >= 20
    assert os.path.exists(path)

    srv = FakeServer(port)
    try:
        c2 = hashtrail.Client(srv.url, "k", tenant="acme", spool_path=path, flush_interval=0.01)
        assert c2.stats()["spool_events"] == 20
        for i in range(20, 25):
            c2.record(ev(i))
        assert c2.flush(10)
        got = srv.events("acme")
        assert ids(got) == [str(i) for i in range(25)]  # the spool first, then the new ones
        assert c2.stats()["spool_events"] == 0
        c2.close()
    finally:
        srv.stop()


def test_spool_keeps_ids_and_bytes(tmp_path):
    port = free_port()
    path = str(tmp_path)  # a directory: the spool file goes inside
    c = hashtrail.Client("http://127.0.0.1:%d" % port, "k", tenant="acme", spool_path=path,
                         min_backoff=0.01, max_backoff=0.05, flush_interval=0.01)
    c.record({"action": "user.login", "id": "fixed-1"})
    assert wait_until(lambda: c.stats()["spool_events"] == 1)
    c.close(timeout=0.2)
    srv = FakeServer(port)
    try:
        c2 = hashtrail.Client(srv.url, "k", tenant="acme", spool_path=path)
        assert c2.flush(10)
        assert srv.events("acme")[0]["id"] == "fixed-1"
        c2.close()
    finally:
        srv.stop()


def test_outage_spools_then_drains_in_order(tmp_path):
    fake = FakeServer()
    fake.push(problem(503, "unavailable", "0"), problem(503, "unavailable", "0"), problem(503, "unavailable", "0"))
    errs = []
    c = hashtrail.Client(fake.url, "k", tenant="acme", spool_path=str(tmp_path / "s.db"), on_error=errs.append,
                         min_backoff=0.05, max_backoff=0.1, flush_interval=0.01)
    try:
        for i in range(30):
            c.record(ev(i))
            time.sleep(0.002)
        assert c.flush(10)
        assert ids(fake.events("acme")) == [str(i) for i in range(30)]
        st = c.stats()
        assert st["spooled"] > 0 and st["spool_events"] == 0 and st["sent"] == 30
        assert any(isinstance(e, hashtrail.RetryError) for e in errs)
    finally:
        c.close()
        fake.stop()


def test_record_sync_through_the_spool(tmp_path):
    fake = FakeServer()
    fake.push(problem(503, "unavailable", "0"))
    c = hashtrail.Client(fake.url, "k", tenant="acme", spool_path=str(tmp_path / "s.db"),
                         min_backoff=0.01, max_backoff=0.05)
    try:
        r = c.record_sync(ev(1), timeout=10)
        assert r.seq == 0
        assert c.stats()["spooled"] == 1
    finally:
        c.close()
        fake.stop()


def test_record_sync_spooled_at_close(tmp_path):
    port = free_port()
    c = hashtrail.Client("http://127.0.0.1:%d" % port, "k", tenant="acme", spool_path=str(tmp_path / "s.db"),
                         min_backoff=0.01, max_backoff=0.05)
    out = {}

    def call():
        try:
            c.record_sync(ev(1))
        except Exception as e:
            out["err"] = e
    t = threading.Thread(target=call)
    t.start()
    assert wait_until(lambda: c.stats()["spool_events"] == 1)
    c.close(timeout=0.1)
    t.join(5)
    assert isinstance(out.get("err"), hashtrail.Spooled)


def test_one_client_per_spool(tmp_path):
    path = str(tmp_path / "s.db")
    c = hashtrail.Client("http://127.0.0.1:9", "k", tenant="acme", spool_path=path)
    try:
        with pytest.raises(hashtrail.SpoolError):
            hashtrail.Client("http://127.0.0.1:9", "k", tenant="acme", spool_path=path)
    finally:
        c.close(timeout=0)


def test_spool_limit_fills_queue_then_drops(tmp_path):
    port = free_port()
    errs = []
    c = hashtrail.Client("http://127.0.0.1:%d" % port, "k", tenant="acme", spool_path=str(tmp_path / "s.db"),
                         spool_limit=2000, queue_size=5, when_full="drop", on_error=errs.append,
                         min_backoff=0.01, max_backoff=0.05, flush_interval=0.01)
    try:
        for i in range(200):
            c.record(ev(i))
            time.sleep(0.001)
        st = c.stats()
        assert st["dropped"] > 0
        assert st["spool_bytes"] < 2000 + 100 * 500
        assert any(isinstance(e, hashtrail.EventDropped) and e.reason == "queue_full" for e in errs)
    finally:
        c.close(timeout=0.2)


def test_spool_file_holds_wire_json(tmp_path):
    from hashtrail.spool import Spool
    s = Spool(str(tmp_path / "x.db"))
    nums = s.append([b'{"id":"a"}', b'{"id":"b"}', b'{"id":"c"}'])
    assert nums == sorted(nums) and s.count() == 3
    assert [json.loads(b)["id"] for _, b in s.peek(2, 1 << 20)] == ["a", "b"]
    assert len(s.peek(10, 5)) == 1  # at least one, even past max_bytes
    s.ack(nums[1])
    assert s.count() == 1 and [json.loads(b)["id"] for _, b in s.peek(10, 1 << 20)] == ["c"]
    s.close()
    s2 = Spool(str(tmp_path / "x.db"))
    assert s2.count() == 1 and s2.append([b"{}"])[0] > nums[-1]  # numbers never reused
    s2.close()


CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import hashtrail
c = hashtrail.Client("http://127.0.0.1:%s" % sys.argv[2], "k", tenant="acme", spool_path=sys.argv[3],
                     min_backoff=0.01, max_backoff=0.05, flush_interval=0.01)
for i in range(100):
    c.record({"action": "project.update", "targets": [{"type": "project", "id": str(i)}]})
while c.stats()["spool_events"] < 100:
    time.sleep(0.01)
print("spooled", flush=True)
time.sleep(60)
"""


def test_spool_survives_a_killed_process(tmp_path):
    import signal
    import subprocess
    import sys
    path = str(tmp_path / "s.db")
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.Popen([sys.executable, "-c", CHILD, pkg, str(free_port()), path], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "spooled"
    finally:
        p.send_signal(signal.SIGKILL)  # no close(), no atexit
        p.wait()
    fake = FakeServer()
    try:
        c = hashtrail.Client(fake.url, "k", tenant="acme", spool_path=path)  # the dead process's lock is gone
        assert c.flush(10)
        assert ids(fake.events("acme")) == [str(i) for i in range(100)]
        c.close()
    finally:
        fake.stop()


def test_spool_path_forms(tmp_path):
    from hashtrail.spool import Spool
    s = Spool(str(tmp_path / "new-dir") + "/")  # a directory that does not exist yet
    assert s.path == str(tmp_path / "new-dir" / "hashtrail-spool.sqlite3")
    s.close()
    s = Spool(str(tmp_path / "sub" / "file.db"))  # a file, parents made
    assert os.path.exists(str(tmp_path / "sub" / "file.db"))
    s.close()
