#!/usr/bin/env python3
"""Measure the Python SDK: the cost of record() in the app's thread, and
end-to-end events/s into a real server.

    scripts/with-server /usr/bin/python3 sdk/python/bench.py [N]
"""

import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hashtrail  # noqa: E402
from hashtrail import catalog  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    url, key = os.environ["HASHTRAIL_URL"], os.environ["HASHTRAIL_ADMIN_KEY"]
    tenant = "bench-" + uuid.uuid4().hex[:8]
    hashtrail.Admin(url, key).create_tenant(tenant)
    c = hashtrail.Client(url, key, tenant=tenant, queue_size=n + 1, batch_size=1000)
    ev = catalog.project_updated("7", [{"field": "name", "old": "Apollo", "new": "Artemis"}])
    ev["actor"] = {"type": "user", "id": "42", "email": "ann@example.com"}
    ev["context"] = {"ip": "203.0.113.7", "user_agent": "bench", "request_id": "r-1"}
    t0 = time.perf_counter()
    for _ in range(n):
        c.record(ev)
    t1 = time.perf_counter()
    assert c.flush(600)
    t2 = time.perf_counter()
    st = c.stats()
    assert st["sent"] == n and st["failed"] == 0 and st["dropped"] == 0, st
    print("record(): %.1f us per call (%d calls, one thread)" % ((t1 - t0) / n * 1e6, n))
    print("end to end: %d events in %.2fs = %.0f events/s (batches of 1000, one sender)"
          % (n, t2 - t0, n / (t2 - t0)))
    c.close()


if __name__ == "__main__":
    main()
