"""Sets up the Flagsmith example against a real Hashtrail server.

scripts/with-server exports HASHTRAIL_URL and HASHTRAIL_ADMIN_KEY; this
creates the app's installation-wide ingest and read keys with them, points
the app at a fresh SQLite database and creates its tables.
"""

import os
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "sdk", "python"))

_required = os.environ.get("HASHTRAIL_REQUIRE_FRAMEWORKS") == "1"


def _missing(msg: str) -> None:
    if _required:
        raise RuntimeError(msg + " (HASHTRAIL_REQUIRE_FRAMEWORKS=1)")
    pytest.skip(msg, allow_module_level=True)


try:
    import django  # noqa: F401
except ImportError:
    _missing("Django is not installed (Debian: python3-django)")


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("HASHTRAIL_URL") or not os.environ.get("HASHTRAIL_ADMIN_KEY"):
        return
    import hashtrail

    admin = hashtrail.Admin(os.environ["HASHTRAIL_URL"], os.environ["HASHTRAIL_ADMIN_KEY"])
    os.environ["HASHTRAIL_API_KEY"] = admin.create_key("*", "ingest", name="flagsmith")
    os.environ["HASHTRAIL_READ_KEY"] = admin.create_key("*", "read", name="flagsmith-audit-views")
    os.environ["FLAGSMITH_DB"] = os.path.join(tempfile.mkdtemp(prefix="flagsmith-"), "db.sqlite3")
    os.environ["FLAGSMITH_PASSWORD_HASHERS"] = "django.contrib.auth.hashers.MD5PasswordHasher"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsmith.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


@pytest.fixture(scope="session")
def server() -> dict:
    """The Hashtrail server's URL and admin key."""
    if not os.environ.get("HASHTRAIL_URL"):
        _missing("HASHTRAIL_URL is unset: run under scripts/with-server (examples/flagsmith/test does)")
    return {"url": os.environ["HASHTRAIL_URL"], "admin_key": os.environ["HASHTRAIL_ADMIN_KEY"]}
