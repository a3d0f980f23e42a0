"""The asyncio side: arecord_sync, arecord_fan_out_sync and aflush wait
without blocking the event loop."""

import asyncio
import threading
import time

import pytest

import hashtrail


def ev(i, **kw):
    e = {"action": "project.update", "targets": [{"type": "project", "id": str(i)}]}
    e.update(kw)
    return e


def test_arecord_sync_does_not_block_the_loop(fake):
    fake.delay = 0.05
    c = hashtrail.Client(fake.url, "k", tenant="acme", flush_interval=0.01)

    async def main():
        ticks = 0
        stop = False

        async def ticker():
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0.005)
        t = asyncio.create_task(ticker())
        rs = await asyncio.gather(*(c.arecord_sync(ev(i)) for i in range(20)))
        stop = True
        await t
        return rs, ticks
    rs, ticks = asyncio.run(main())
    assert sorted(r.seq for r in rs) == list(range(20))
    assert ticks >= 5  # the loop kept running while the server was slow
    c.close()


def test_arecord_sync_errors_and_timeout(fake):
    c = hashtrail.Client(fake.url, "k", tenant="acme")

    async def bad():
        await c.arecord_sync(ev(0, severity="urgent"))
    with pytest.raises(hashtrail.APIError) as ei:
        asyncio.run(bad())
    assert ei.value.status == 400

    fake.gate = threading.Event()

    async def slow():
        await c.arecord_sync(ev(1), timeout=0.2)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        asyncio.run(slow())
    assert time.monotonic() - t0 < 2
    fake.gate.set()

    async def flush():
        return await c.aflush(10)
    assert asyncio.run(flush()) is True
    assert [e["targets"][0]["id"] for e in fake.events("acme")] == ["1"]
    c.close()


def test_arecord_fan_out_sync(fake):
    c = hashtrail.Client(fake.url, "k")

    async def main():
        return await c.arecord_fan_out_sync(["org-1", "org-2"], {"action": "user.password_change"})
    rs = asyncio.run(main())
    assert sorted(r.tenant for r in rs) == ["org-1", "org-2"] and rs[0].id == rs[1].id
    c.close()


def test_arecord_sync_waits_for_room_off_the_loop(fake):
    fake.gate = threading.Event()
    c = hashtrail.Client(fake.url, "k", tenant="acme", queue_size=1, flush_interval=0)

    async def main():
        c.record(ev(0))
        while c.stats()["queued"]:
            await asyncio.sleep(0.01)
        c.record(ev(1))  # the queue is full now
        task = asyncio.create_task(c.arecord_sync(ev(2), timeout=10))
        await asyncio.sleep(0.1)
        assert not task.done()
        fake.gate.set()
        return await task
    r = asyncio.run(main())
    assert r.seq == 2
    c.close()
