"""More failure paths of the Go SDK's tests: an event the server refuses
alone (413), close waking blocked callers, concurrent recorders, a flapping
server with a spool, a spool whose acknowledgement was lost, and a real
server killed and restarted on its data."""

import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

import hashtrail
from fakeserver import FakeServer, free_port, problem, wait_until


def ev(i, **kw):
    e = {"action": "project.update", "targets": [{"type": "project", "id": str(i)}]}
    e.update(kw)
    return e


def ids(events):
    return [e["targets"][0]["id"] for e in events]


def test_event_too_large_fails_alone(fake):
    errs = []
    c = hashtrail.Client(fake.url, "k", tenant="acme", on_error=errs.append, flush_interval=0.3)
    for i in range(3):
        c.record(ev(i))
    c.record(ev("big", action="too.large"))
    for i in range(3, 6):
        c.record(ev(i))
    assert c.flush(10)
    assert ids(fake.events("acme")) == ["0", "1", "2", "3", "4", "5"]
    refused = [e for e in errs if isinstance(e, hashtrail.APIError)]
    assert len(refused) == 1 and refused[0].status == 413 and refused[0].action == "too.large"
    assert c.stats()["failed"] == 1
    c.close()


def test_close_wakes_blocked_callers():
    port = free_port()
    c = hashtrail.Client("http://127.0.0.1:%d" % port, "k", tenant="acme", queue_size=1, batch_size=1,
                         min_backoff=3600, max_backoff=3600, block_timeout=3600)
    c.record(ev("fill-1"))
    assert wait_until(lambda: c.stats()["queued"] == 0)
    c.record(ev("fill-2"))
    res = []

    def rec():
        res.append(("record", c.record(ev("blocked"))))

    def sync():
        try:
            c.record_sync(ev("blocked-sync"))
            res.append(("sync", "sent"))
        except hashtrail.HashtrailError as e:
            res.append(("sync", e))
    ts = [threading.Thread(target=rec), threading.Thread(target=sync)]
    for t in ts:
        t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    assert c.close(timeout=0.05) is False  # two events lost, and said so
    assert time.monotonic() - t0 < 5
    for t in ts:
        t.join(5)
    got = dict(res)
    assert got["record"] is False
    assert isinstance(got["sync"], hashtrail.ClientClosed)
    assert c.stats()["dropped"] == 3  # fill-1 and fill-2 given up, the blocked record refused


def test_concurrent_recorders_lose_nothing(fake):
    c = hashtrail.Client(fake.url, "k", tenant="acme", flush_interval=0.01)

    def work(w):
        for i in range(200):
            c.record(ev("%d-%d" % (w, i)))
    ts = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert c.flush(20)
    got = ids(fake.events("acme"))
    assert len(got) == 1600 and len(set(got)) == 1600
    for w in range(8):  # each thread's events in its own order
        mine = [x for x in got if x.startswith("%d-" % w)]
        assert mine == ["%d-%d" % (w, i) for i in range(200)]
    c.close()


def test_spool_with_a_flapping_server(tmp_path):
    fake = FakeServer()
    for _ in range(6):
        fake.push(problem(503, "unavailable", "0"), None, "drop", None)
    c = hashtrail.Client(fake.url, "k", tenant="acme", spool_path=str(tmp_path / "s.db"), batch_size=7,
                         min_backoff=0.01, max_backoff=0.05, flush_interval=0.005)
    try:
        for i in range(150):
            c.record(ev(i))
            if i % 10 == 0:
                time.sleep(0.01)
        assert c.flush(30)
        assert ids(fake.events("acme")) == [str(i) for i in range(150)]
        st = c.stats()
        assert st["sent"] == 150 and st["failed"] == 0 and st["dropped"] == 0 and st["spool_events"] == 0
    finally:
        c.close()
        fake.stop()


def test_spool_replay_after_lost_ack_is_idempotent(tmp_path, fake):
    path = str(tmp_path / "s.db")
    fake.push(problem(503, "unavailable", "0"))
    c = hashtrail.Client(fake.url, "k", tenant="acme", spool_path=path, min_backoff=0.2, max_backoff=0.2,
                         flush_interval=0.01)
    c.spool.ack = lambda upto: None  # the process dies before the spool learns the events were sent
    for i in range(5):
        c.record(ev(i))
    assert wait_until(lambda: len(fake.events("acme")) == 5, 10)
    c.close(timeout=0.3)
    c2 = hashtrail.Client(fake.url, "k", tenant="acme", spool_path=path)
    assert c2.stats()["spool_events"] == 5
    assert c2.flush(10)
    assert ids(fake.events("acme")) == ["0", "1", "2", "3", "4"]  # sent twice, recorded once
    assert c2.stats()["spool_events"] == 0
    c2.close()


class RealServer:
    """A hashtrail server process of our own, restartable on its data."""

    def __init__(self, binary, data, port):
        self.binary, self.data, self.port = binary, data, port
        self.key = "ht_test_restart_" + "x" * 32
        self.proc = None

    def start(self):
        env = dict(os.environ, HASHTRAIL_BOOTSTRAP_KEY=self.key)
        self.log = open(os.path.join(os.path.dirname(self.data), "server-%d.log" % time.time_ns()), "w")
        self.proc = subprocess.Popen([self.binary, "serve", "--data", self.data, "--addr", "127.0.0.1:%d" % self.port],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        url = "http://127.0.0.1:%d" % self.port
        import urllib.request
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1).read()
                return url
            except OSError:
                assert self.proc.poll() is None, "hashtrail serve exited"
                time.sleep(0.1)
        raise AssertionError("the server did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None
            self.log.close()


def test_real_server_killed_and_restarted(tmp_path):
    binary = os.environ.get("HASHTRAIL_BIN") or shutil.which("hashtrail")
    if not binary:
        if os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") == "1":
            pytest.fail("HASHTRAIL_BIN is unset")
        pytest.skip("needs the hashtrail binary: HASHTRAIL_BIN unset (run sdk/python/test)")
    data = str(tmp_path / "data")
    srv = RealServer(binary, data, free_port())
    url = srv.start()
    try:
        c = hashtrail.Client(url, srv.key, batch_size=20, min_backoff=0.01, max_backoff=0.2, flush_interval=0.01)
        n = 600
        for i in range(n // 3):
            c.record(ev("r-%d" % i, tenant="acme"))
        srv.stop()  # SIGKILL mid-stream
        for i in range(n // 3, 2 * n // 3):
            c.record(ev("r-%d" % i, tenant="acme"))
        assert wait_until(lambda: c.stats()["retried"] > 0, 10)
        srv.start()
        for i in range(2 * n // 3, n):
            c.record(ev("r-%d" % i, tenant="acme"))
        assert c.flush(60)
        got = hashtrail.Reader(url, srv.key).events("acme", limit=2 * n, order="asc", action="project.update")
        assert ids(got) == ["r-%d" % i for i in range(n)]  # all there, in order, none twice
        st = c.stats()
        assert st["sent"] == n and st["dropped"] == 0 and st["failed"] == 0
        c.close()
    finally:
        srv.stop()


def test_garbled_answer_is_retried_not_lost(fake):
    fake.push((200, {}, b"<html>a proxy's page</html>"))
    errs = []
    c = hashtrail.Client(fake.url, "k", tenant="acme", on_error=errs.append, min_backoff=0.01, max_backoff=0.02)
    r = c.record_sync(ev(1), timeout=10)
    assert r.seq == 0 and len(fake.events("acme")) == 1
    assert any(isinstance(e, hashtrail.RetryError) for e in errs)
    c.close()


def test_sender_survives_an_unexpected_error(fake, monkeypatch):
    errs = []
    real = hashtrail.Client._collect
    calls = []

    def boom(self):
        if not calls:
            calls.append(1)
            raise KeyError("bug")
        return real(self)
    monkeypatch.setattr(hashtrail.Client, "_collect", boom)  # before the sender starts
    c = hashtrail.Client(fake.url, "k", tenant="acme", on_error=errs.append, flush_interval=0.01)
    c.record(ev(1))
    assert c.flush(10)
    assert len(fake.events("acme")) == 1
    assert calls and any(isinstance(e, hashtrail.HashtrailError) and "unexpected" in str(e) for e in errs)
    c.close()


def test_close_timeout_holds_with_a_slow_server(fake):
    fake.delay = 0.2  # every answer takes 200 ms
    errs = []
    c = hashtrail.Client(fake.url, "k", tenant="acme", batch_size=1, flush_interval=0, on_error=errs.append)
    for i in range(50):
        c.record(ev(i))
    t0 = time.monotonic()
    assert c.close(timeout=0.5) is False
    assert time.monotonic() - t0 < 1.5  # not 50 × 200 ms
    st = c.stats()
    assert st["sent"] + st["dropped"] == 50 and st["dropped"] > 0
    assert len(fake.events("acme")) >= st["sent"]  # the last in-flight request may still have landed


def test_close_cuts_a_request_in_flight(fake):
    fake.delay = 5  # the server holds the answer
    c = hashtrail.Client(fake.url, "k", tenant="acme", flush_interval=0, timeout=30)
    c.record(ev(1))
    assert wait_until(lambda: len(fake.requests) == 1)
    t0 = time.monotonic()
    assert c.close(timeout=0.3) is False
    assert time.monotonic() - t0 < 2  # not the 5 s answer, nor the 30 s request timeout
    assert c.stats()["dropped"] == 1
