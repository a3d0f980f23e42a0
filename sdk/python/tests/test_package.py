"""The package installs with pip from the repository path and carries its
py.typed marker; the public API is what the integrations and examples use."""

import os
import shutil
import subprocess
import sys

import pytest

import hashtrail

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pip_installs_from_the_repository_path(tmp_path):
    probe = subprocess.run([sys.executable, "-c", "import setuptools, wheel, pip"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("pip, setuptools or wheel missing for %s: cannot test the install" % sys.executable)
    # Build from a copy: an in-tree build would leave build/ and *.egg-info behind.
    src = tmp_path / "src"
    shutil.copytree(HERE, str(src), ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", ".*"))
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps",
                        "--no-index", "--target", str(target), str(src)], capture_output=True, text=True,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert (target / "hashtrail" / "py.typed").exists()
    out = subprocess.run([sys.executable, "-c", "import hashtrail; print(hashtrail.__file__, hashtrail.__version__)"],
                         capture_output=True, text=True, cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=str(target)))
    assert out.returncode == 0, out.stderr
    path, version = out.stdout.split()
    assert path == str(target / "hashtrail" / "__init__.py"), out.stdout
    assert version == hashtrail.__version__


def test_public_api():
    for name in ["Client", "Receipt", "APIError", "EventDropped", "RetryError", "Spooled", "ClientClosed",
                 "ULID", "set_actor", "get_actor", "set_context", "get_context", "request_context",
                 "client_ip", "diff", "is_secret_name", "catalog", "Reader", "Admin"]:
        assert hasattr(hashtrail, name), name
    import inspect
    params = inspect.signature(hashtrail.Client).parameters
    for p in ["tenant", "service", "batch_size", "flush_interval", "queue_size", "when_full", "block_timeout",
              "spool_path", "on_error", "timeout", "max_backoff", "trusted_proxies"]:
        assert p in params, p
    import importlib
    sa = importlib.import_module("hashtrail.sqlalchemy") if _has("sqlalchemy") else None
    if sa is not None:
        assert callable(sa.record_after_commit) and callable(sa.install) and sa.Outbox


def _has(mod):
    try:
        __import__(mod)
        return True
    except ImportError:
        return False
