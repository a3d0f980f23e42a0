"""The outbox on PostgreSQL (HASHTRAIL_TEST_POSTGRES, as CI sets it):
concurrent writers and two relays sharing one lease; every committed event
sent exactly once, each writer's events in its commit order."""

import importlib
import os
import threading
import uuid

import pytest

import hashtrail
from fakeserver import wait_until

URL = os.environ.get("HASHTRAIL_TEST_POSTGRES")
if not URL:
    pytest.skip("HASHTRAIL_TEST_POSTGRES is not set (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable); "
                "skipping the PostgreSQL outbox test", allow_module_level=True)
if os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") == "1":
    for _mod in ("psycopg2", "sqlalchemy"):
        importlib.import_module(_mod)  # fail, not skip, when CI lacks them
else:
    pytest.importorskip("psycopg2", reason="python3-psycopg2 is not installed")
    pytest.importorskip("sqlalchemy", reason="python3-sqlalchemy is not installed")

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

import hashtrail.sqlalchemy as hsa  # noqa: E402


@pytest.fixture
def pg():
    url = URL.replace("postgres://", "postgresql+psycopg2://", 1)
    schema = "py_outbox_" + uuid.uuid4().hex[:10]
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text("CREATE SCHEMA %s" % schema))
    engine = create_engine(url, connect_args={"options": "-csearch_path=%s" % schema}, pool_size=10)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL)"))
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA %s CASCADE" % schema))
    admin.dispose()


def test_outbox_concurrent_writers_and_relays(pg, fake):
    c1 = hashtrail.Client(fake.url, "k", tenant="acme")
    c2 = hashtrail.Client(fake.url, "k", tenant="acme")
    a = hsa.Outbox(pg, c1, poll_interval=0.02, batch_size=7)
    b = hsa.Outbox(pg, c2, poll_interval=0.02, batch_size=7)
    S = sessionmaker(pg)
    committed = []
    lock = threading.Lock()

    def writer(w):
        for i in range(30):
            with S() as s:
                s.execute(text("INSERT INTO accounts (name) VALUES (:n)"), {"n": "%d-%d" % (w, i)})
                eid = a.add(s, {"action": "user.create", "targets": [{"type": "user", "id": "%d-%d" % (w, i)}]})
                if i % 5 == 4:
                    s.rollback()  # the change and its event go together
                    continue
                s.commit()
                with lock:
                    committed.append(eid)

    a.start()
    b.start()
    ws = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in ws:
        t.start()
    for t in ws:
        t.join()
    assert wait_until(lambda: a.pending() == 0, 30)
    a.stop()
    b.stop()
    got = fake.events("acme")
    assert sorted(e["id"] for e in got) == sorted(committed)  # each committed event, once
    assert len(committed) == 3 * 24
    for w in range(3):
        mine = [e["targets"][0]["id"] for e in got if e["targets"][0]["id"].startswith("%d-" % w)]
        assert mine == ["%d-%d" % (w, i) for i in range(30) if i % 5 != 4]
    with pg.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM accounts")).scalar() == 72
    c1.close()
    c2.close()
