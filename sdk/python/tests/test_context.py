"""Request context, client_ip, ULIDs."""

import asyncio
import re
import threading

import hashtrail
from hashtrail.context import fill_event


def test_request_context_restores():
    hashtrail.set_context(source="web")
    with hashtrail.request_context(actor={"type": "user", "id": "1"}, ip="203.0.113.7", request_id="r1"):
        assert hashtrail.get_actor() == {"type": "user", "id": "1"}
        assert hashtrail.get_context() == {"source": "web", "ip": "203.0.113.7", "request_id": "r1"}
        with hashtrail.request_context(actor={"type": "system", "id": "job"}, request_id="r2"):
            assert hashtrail.get_actor()["id"] == "job"
            assert hashtrail.get_context()["request_id"] == "r2"
        assert hashtrail.get_actor()["id"] == "1"
        assert hashtrail.get_context()["request_id"] == "r1"
    assert hashtrail.get_actor() is None
    assert hashtrail.get_context() == {"source": "web"}


def test_set_context_none_removes():
    hashtrail.set_context(ip="1.2.3.4", user_agent="ua")
    hashtrail.set_context(ip=None)
    assert hashtrail.get_context() == {"user_agent": "ua"}


def test_lazy_actor():
    calls = []

    def actor():
        calls.append(1)
        return {"type": "user", "id": "7"}
    hashtrail.set_actor(actor)
    assert not calls
    assert hashtrail.get_actor() == {"type": "user", "id": "7"}
    hashtrail.set_actor(lambda: 1 / 0)
    assert hashtrail.get_actor() is None


def test_fill_event_own_fields_win():
    with hashtrail.request_context(actor={"type": "user", "id": "1"}, ip="203.0.113.7", request_id="r1"):
        e = {"action": "a.b", "context": {"request_id": "mine", "session_id": "s"}}
        fill_event(e)
        assert e["actor"] == {"type": "user", "id": "1"}
        assert e["context"] == {"ip": "203.0.113.7", "request_id": "mine", "session_id": "s"}
        e2 = {"action": "a.b", "actor": {"type": "system", "id": "x"}}
        fill_event(e2)
        assert e2["actor"]["id"] == "x"


def test_context_is_per_thread_and_task():
    hashtrail.set_actor({"type": "user", "id": "main"})
    seen = {}

    def worker():
        seen["thread"] = hashtrail.get_actor()
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["thread"] is None  # a new thread starts with an empty context

    async def task(n):
        with hashtrail.request_context(actor={"type": "user", "id": n}):
            await asyncio.sleep(0.01)
            return hashtrail.get_actor()["id"]

    async def main():
        return await asyncio.gather(task("a"), task("b"))
    assert asyncio.run(main()) == ["a", "b"]
    assert hashtrail.get_actor()["id"] == "main"


def test_client_ip_rule():
    trusted = ["10.0.0.0/8", "fd00::/8"]
    cases = [
        ("203.0.113.7:5555", None, "203.0.113.7"),                        # untrusted peer: itself
        ("203.0.113.7:5555", "1.2.3.4", "203.0.113.7"),                   # its header is ignored
        ("10.0.0.1:80", "198.51.100.9", "198.51.100.9"),                  # one trusted proxy
        ("10.0.0.1:80", "6.6.6.6, 198.51.100.9, 10.0.0.2", "198.51.100.9"),  # skip trusted hops, never believe the left
        ("10.0.0.1:80", "10.0.0.3, 10.0.0.2", "10.0.0.3"),                # all trusted: the leftmost
        ("10.0.0.1:80", "unknown, 10.0.0.2", "10.0.0.2"),                 # not an address stops at the last trusted
        ("10.0.0.1:80", None, "10.0.0.1"),
        ("[fd00::1]:443", "2001:db8::5", "2001:db8::5"),
        ("::ffff:10.0.0.1", "198.51.100.9", "198.51.100.9"),              # v4-mapped peer
        ("10.0.0.1", "198.51.100.9:1234", "198.51.100.9"),
        ("not an ip", "1.2.3.4", ""),
    ]
    for remote, xff, want in cases:
        assert hashtrail.client_ip(remote, xff, trusted) == want, (remote, xff)
    assert hashtrail.client_ip("10.0.0.1:80", "9.9.9.9", trusted,
                               forwarded='for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"') == "2001:db8::1"
    assert hashtrail.client_ip("10.0.0.1", None, []) == "10.0.0.1"


def test_ulid_format_and_order():
    ids = [hashtrail.ULID() for _ in range(2000)]
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == 2000


def test_ulid_encoding_matches_the_reference(monkeypatch):
    import hashtrail.ulid as u

    def ref(ms, rand):
        n, out = (ms << 80) | rand, []
        for _ in range(26):
            out.append(u._ALPHABET[n & 31])
            n >>= 5
        return "".join(reversed(out))
    for ms, rnd in [(0, 0), (1, 1), ((1 << 48) - 1, (1 << 80) - 2), (1795434052129, 123456789012345678901234)]:
        monkeypatch.setattr(u, "_last_ms", -1)
        monkeypatch.setattr(u.time, "time_ns", lambda ms=ms: ms * 1000000)
        monkeypatch.setattr(u.os, "urandom", lambda k, rnd=rnd: rnd.to_bytes(10, "big"))
        assert u.ULID() == ref(ms, rnd)
        assert u.ULID() == ref(ms, rnd + 1)  # the same millisecond: monotonic
