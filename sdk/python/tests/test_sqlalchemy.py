"""hashtrail.sqlalchemy: events recorded only when the transaction commits;
the outbox sends each committed event exactly once, across crashes."""

import os

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy", reason="python3-sqlalchemy is not installed") \
    if os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") != "1" else __import__("sqlalchemy")

from sqlalchemy import Column, Integer, String, create_engine, text  # noqa: E402
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker  # noqa: E402

import hashtrail  # noqa: E402
import hashtrail.sqlalchemy as hsa  # noqa: E402
from fakeserver import problem  # noqa: E402

Base = declarative_base()


class Group(Base):
    __tablename__ = "groups"
    id = Column(Integer, primary_key=True)
    name = Column(String, unique=True)


@pytest.fixture
def db(tmp_path):
    engine = create_engine("sqlite:///%s" % (tmp_path / "app.db"))
    Base.metadata.create_all(engine)
    return engine


@pytest.fixture
def client(fake):
    c = hashtrail.Client(fake.url, "k", tenant="acme", flush_interval=0.01, min_backoff=0.01, max_backoff=0.05)
    yield c
    c.close(timeout=1)


def actions(fake):
    return [e["action"] for e in fake.events("acme")]


def test_committed_recorded_rolled_back_not(db, fake, client):
    S = sessionmaker(db)
    s = S()
    s.add(Group(name="ops"))
    hsa.record_after_commit(s, client, {"action": "group.create", "targets": [{"type": "group", "id": "ops"}]})
    assert hsa.pending_events(s)[0]["action"] == "group.create"
    client.flush(5)
    assert actions(fake) == []  # nothing before the commit
    s.commit()
    s.add(Group(name="dev"))
    hsa.record_after_commit(s, client, {"action": "group.delete"})
    s.rollback()
    s.close()
    assert client.flush(5)
    assert actions(fake) == ["group.create"]


def test_failed_commit_records_nothing(db, fake, client):
    S = sessionmaker(db)
    with S() as s:
        s.add(Group(name="ops"))
        s.commit()
    s = S()
    s.add(Group(name="ops"))  # unique violation at commit
    hsa.record_after_commit(s, client, {"action": "group.create"})
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        s.commit()
    s.rollback()
    s.add(Group(name="later"))
    s.commit()
    s.close()
    assert client.flush(5)
    assert actions(fake) == []


def test_nested_transactions(db, fake, client):
    S = sessionmaker(db)
    s = S()
    s.add(Group(name="a"))
    hsa.record_after_commit(s, client, {"action": "outer.kept"})
    sp = s.begin_nested()
    hsa.record_after_commit(s, client, {"action": "savepoint.rolled_back"})
    sp.rollback()
    sp = s.begin_nested()
    hsa.record_after_commit(s, client, {"action": "savepoint.released"})
    inner = s.begin_nested()
    hsa.record_after_commit(s, client, {"action": "inner.released"})
    inner.commit()
    sp.commit()
    client.flush(5)
    assert actions(fake) == []  # a released savepoint is not a commit
    s.commit()
    s.close()
    assert client.flush(5)
    assert actions(fake) == ["outer.kept", "savepoint.released", "inner.released"]


def test_close_without_commit_drops(db, fake, client):
    S = sessionmaker(db)
    s = S()
    s.add(Group(name="x"))
    hsa.record_after_commit(s, client, {"action": "never.sent"})
    s.close()
    with S() as s2:
        s2.add(Group(name="y"))
        s2.commit()
    assert client.flush(5)
    assert actions(fake) == []


def test_install_on_a_sessionmaker_and_scoped_session(db, fake, client):
    S = sessionmaker(db)
    hsa.install(S, client)
    s = S()
    s.add(Group(name="x"))
    hsa.record_after_commit(s, None, {"action": "group.create"})
    s.commit()
    s.close()
    scoped = scoped_session(sessionmaker(db))
    hsa.install(scoped, client)
    scoped.add(Group(name="y"))
    hsa.record_after_commit(scoped, None, {"action": "group.update"})  # the scoped_session itself
    scoped.commit()
    scoped.remove()
    assert client.flush(5)
    assert actions(fake) == ["group.create", "group.update"]  # once each: hooks are not doubled


def test_context_captured_at_record_time(db, fake, client):
    S = sessionmaker(db)
    s = S()
    with hashtrail.request_context(actor={"type": "user", "id": "42"}, ip="203.0.113.7"):
        s.add(Group(name="x"))
        hsa.record_after_commit(s, client, {"action": "group.create"})
    s.commit()
    s.close()
    assert client.flush(5)
    e = fake.events("acme")[0]
    assert e["actor"]["id"] == "42" and e["context"]["ip"] == "203.0.113.7"


def test_outbox_exactly_once_across_crashes(db, fake):
    client = hashtrail.Client(fake.url, "k", tenant="acme", min_backoff=0.01, max_backoff=0.05)
    ob = hsa.Outbox(db, client)
    S = sessionmaker(db)
    # The change and its event commit together; the process "dies" before relaying.
    with S() as s:
        s.add(Group(name="ops"))
        eid = ob.add(s, {"action": "group.create", "targets": [{"type": "group", "id": "ops"}]})
        s.commit()
    # A rolled-back change leaves no row.
    with S() as s:
        s.add(Group(name="dev"))
        ob.add(s, {"action": "group.create", "targets": [{"type": "group", "id": "dev"}]})
        s.rollback()
    assert ob.pending() == 1
    client.close()
    del ob

    # A new process: its relay sends the committed row, then "dies" before deleting it.
    client2 = hashtrail.Client(fake.url, "k", tenant="acme")
    ob2 = hsa.Outbox(db, client2)
    real_delete = ob2._delete

    def crash(ids):
        raise RuntimeError("killed between send and delete")
    ob2._delete = crash
    with pytest.raises(RuntimeError):
        ob2.relay()
    assert ob2.pending() == 1 and len(fake.events("acme")) == 1
    ob2._delete = real_delete
    ob2.release()

    # The next relay sends it again: the server answers the id with the original receipt.
    client3 = hashtrail.Client(fake.url, "k", tenant="acme")
    ob3 = hsa.Outbox(db, client3)
    assert ob3.relay() == 1
    assert ob3.pending() == 0
    got = fake.events("acme")
    assert len(got) == 1 and got[0]["id"] == eid
    assert len(fake.requests) == 2
    client2.close()
    client3.close()


def test_outbox_retryable_failure_keeps_rows_and_order(db, fake):
    client = hashtrail.Client(fake.url, "k", tenant="acme")
    ob = hsa.Outbox(db, client, batch_size=2)
    S = sessionmaker(db)
    for i in range(5):
        with S() as s:
            ob.add(s, {"action": "group.update", "targets": [{"type": "group", "id": str(i)}]})
            s.commit()
    fake.push(problem(503, "unavailable", "1"))
    with pytest.raises(hashtrail.RetryError):
        ob.relay()
    assert ob.pending() == 5
    assert ob.relay() == 5
    assert [e["targets"][0]["id"] for e in fake.events("acme")] == ["0", "1", "2", "3", "4"]
    client.close()


def test_outbox_lease_lets_one_relay_work(db, fake):
    client = hashtrail.Client(fake.url, "k", tenant="acme")
    a, b = hsa.Outbox(db, client), hsa.Outbox(db, client)
    with sessionmaker(db)() as s:
        a.add(s, {"action": "group.update"})
        s.commit()
    assert a._acquire()
    assert b.relay() == 0 and b.pending() == 1  # a holds the lease
    a.release()
    assert b.relay() == 1
    client.close()


def test_outbox_background_relay_and_rejections(db, fake):
    errs = []
    client = hashtrail.Client(fake.url, "k", tenant="acme", on_error=errs.append)
    ob = hsa.Outbox(db, client, poll_interval=0.05)
    with ob:
        with sessionmaker(db)() as s:
            ob.add(s, {"action": "group.update", "severity": "urgent"})
            ob.add(s, {"action": "group.delete"})
            s.commit()
        from fakeserver import wait_until
        assert wait_until(lambda: ob.pending() == 0, 10)
    assert [e["action"] for e in fake.events("acme")] == ["group.delete"]
    assert any(isinstance(e, hashtrail.APIError) and e.status == 400 for e in errs)
    client.close()


def test_outbox_with_real_server(server, tenant, tmp_path):
    url, key = server
    engine = create_engine("sqlite:///%s" % (tmp_path / "app.db"))
    Base.metadata.create_all(engine)
    client = hashtrail.Client(url, key, tenant=tenant)
    ob = hsa.Outbox(engine, client)
    S = sessionmaker(engine)
    with S() as s:
        s.add(Group(name="ops"))
        eid = ob.add(s, {"action": "group.create", "targets": [{"type": "group", "id": "ops"}]})
        s.commit()
    real = ob._delete
    ob._delete = lambda ids: (_ for _ in ()).throw(RuntimeError("crash"))
    with pytest.raises(RuntimeError):
        ob.relay()
    ob._delete = real
    assert ob.relay() == 1
    events = hashtrail.Reader(url, key).events(tenant, action="group.create")
    assert [e["id"] for e in events] == [eid]
    client.close()


def test_after_commit_with_real_server(server, tenant, tmp_path):
    url, key = server
    engine = create_engine("sqlite:///%s" % (tmp_path / "app.db"))
    Base.metadata.create_all(engine)
    client = hashtrail.Client(url, key, tenant=tenant)
    S = sessionmaker(engine)
    hsa.install(S, client)
    with S() as s:
        s.add(Group(name="ops"))
        hsa.record_after_commit(s, None, hashtrail.catalog.group_created("ops"))
        s.commit()
        s.add(Group(name="dev"))
        hsa.record_after_commit(s, None, hashtrail.catalog.group_created("dev"))
        s.rollback()
    assert client.flush(10)
    events = hashtrail.Reader(url, key).events(tenant)
    assert [e["targets"][0]["id"] for e in events] == ["ops"]
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT name FROM groups"))] == ["ops"]
    client.close()


class Account(Base):
    __tablename__ = "accounts"
    id = Column(Integer, primary_key=True)
    username = Column(String)
    email = Column(String)
    password_hash = Column(String)
    org = Column(String)
    last_seen = Column(String)


def test_audit_model_records_diffs_after_commit(db, fake):
    errs = []
    client = hashtrail.Client(fake.url, "k", on_error=errs.append)  # installation-wide: the tenant comes from the row
    S = sessionmaker(db)
    hsa.install(S, client)
    hsa.audit_model(Account, type="user", name_attr="username", exclude=["last_seen"], tenant=lambda a: a.org)
    hsa.audit_model(Account)  # a second call adds nothing
    with S() as s:
        a = Account(username="ann", email="a@example.com", password_hash="h1", org="acme", last_seen="1")
        s.add(a)
        s.commit()
        a.email = "b@example.com"
        a.password_hash = "h2"
        a.last_seen = "2"
        s.commit()
        a.email = "b@example.com"  # no net change
        a.last_seen = "3"          # excluded
        s.commit()
        a.username = "rolled-back"
        s.flush()
        s.rollback()
        s.delete(a)
        s.commit()
    assert client.flush(5)
    got = fake.events("acme")
    assert [e["action"] for e in got] == ["user.create", "user.update", "user.delete"]
    assert got[0]["targets"] == [{"type": "user", "id": "1", "name": "ann"}]
    assert got[1]["changes"] == [{"field": "email", "old": "a@example.com", "new": "b@example.com"},
                                 {"field": "password_hash", "redacted": True}]
    assert not errs
    client.close()
