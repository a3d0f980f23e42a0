"""The Enclava example against a real Hashtrail server (scripts/with-server).

Creates the app's tenant with an ingest key and a read key, points the app
at a fresh SQLite database and serves it with uvicorn on a free loopback
port; the tests talk to it over real HTTP, as a browser behind Enclava's
proxy would (X-Forwarded-For from 127.0.0.1, which the app trusts).
"""

import os
import socket
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "sdk", "python"))


def _need(mod: str, pkg: str) -> None:
    try:
        __import__(mod)
    except ImportError:
        msg = "%s is not installed (Debian: %s)" % (mod, pkg)
        if os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") == "1":
            raise RuntimeError(msg)
        pytest.skip(msg, allow_module_level=True)


@pytest.fixture(scope="session")
def server():
    """The Hashtrail server, and the app's tenant and keys on it."""
    for mod, pkg in (("fastapi", "python3-fastapi"), ("sqlalchemy", "python3-sqlalchemy"),
                     ("uvicorn", "python3-uvicorn"), ("httpx", "python3-httpx")):
        _need(mod, pkg)
    if not os.environ.get("HASHTRAIL_URL"):
        if os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") == "1":
            raise RuntimeError("HASHTRAIL_URL is unset: run under scripts/with-server")
        pytest.skip("HASHTRAIL_URL is unset: run under scripts/with-server (examples/enclava/test does)")
    import hashtrail

    url, admin_key = os.environ["HASHTRAIL_URL"], os.environ["HASHTRAIL_ADMIN_KEY"]
    admin = hashtrail.Admin(url, admin_key)
    tenant = "enclava-" + hashtrail.ULID().lower()[-8:]
    admin.create_tenant(tenant)
    return {"url": url, "admin_key": admin_key, "tenant": tenant,
            "ingest_key": admin.create_key(tenant, "ingest", name="enclava-backend"),
            "read_key": admin.create_key(tenant, "read", name="enclava-audit-api"),
            "reader": hashtrail.Reader(url, admin_key)}


@pytest.fixture(scope="session")
def audit(server):
    """app.audit_service, configured for the test tenant."""
    os.environ.setdefault("ENCLAVA_DATABASE_URL", "sqlite:///" + os.path.join(tempfile.mkdtemp(), "enclava.db"))
    from app import audit_service

    c = audit_service.configure(server["url"], server["ingest_key"], server["read_key"], tenant=server["tenant"])
    yield audit_service
    c.close(10)


@pytest.fixture(scope="session")
def app_url(audit):
    """The app, served by uvicorn on 127.0.0.1 (a free port) in a thread."""
    import uvicorn

    from app.main import app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    class Server(uvicorn.Server):
        def install_signal_handlers(self) -> None:  # not the main thread
            pass

    srv = Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    t = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    deadline = time.time() + 15
    while not srv.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield "http://127.0.0.1:%d" % port
    srv.should_exit = True
    t.join(10)
