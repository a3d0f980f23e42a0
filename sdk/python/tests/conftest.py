import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakeserver import FakeServer  # noqa: E402

import hashtrail  # noqa: E402


@pytest.fixture
def fake():
    s = FakeServer()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _clean_context():
    hashtrail.clear_context()
    yield
    hashtrail.clear_context()


def _server_env():
    url, key = os.environ.get("HASHTRAIL_URL"), os.environ.get("HASHTRAIL_ADMIN_KEY")
    if not url or not key:
        if os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") == "1":
            pytest.fail("HASHTRAIL_URL and HASHTRAIL_ADMIN_KEY are unset: run under scripts/with-server")
        pytest.skip("needs a real server: HASHTRAIL_URL and HASHTRAIL_ADMIN_KEY unset (run sdk/python/test)")
    return url, key


@pytest.fixture
def server():
    """(url, installation-wide admin key) of a real Hashtrail server."""
    return _server_env()


@pytest.fixture
def tenant(server):
    """A fresh tenant on the real server."""
    url, key = server
    t = "py-" + uuid.uuid4().hex[:12]
    hashtrail.Admin(url, key).create_tenant(t, name="python sdk test")
    return t
