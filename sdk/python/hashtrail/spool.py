"""The on-disk spool: events that could not be sent yet, in order, in a
SQLite file (standard library ``sqlite3``).

A batch is written in one transaction with ``synchronous=FULL`` before it
counts as spooled; acknowledged events are deleted. One spool file serves
one client at a time (an exclusive lock file next to it says so).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import List, Optional, Tuple

from .errors import SpoolError

try:  # advisory lock so two clients never share a spool
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class Spool:
    """A FIFO of encoded events on disk. Safe for concurrent use."""

    def __init__(self, path: str) -> None:
        if os.path.isdir(path) or path.endswith(("/", os.sep)):  # a directory: the file goes inside
            os.makedirs(path, exist_ok=True)
            path = os.path.join(path, "hashtrail-spool.sqlite3")
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._lockfile = None
        if fcntl is not None:
            f = open(path + ".lock", "a+")
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                f.close()
                raise SpoolError("hashtrail: the spool %s is in use by another client" % path) from e
            self._lockfile = f
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS spool (num INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)"
            )
            row = self._db.execute("SELECT count(*), coalesce(sum(length(body)), 0) FROM spool").fetchone()
        except sqlite3.Error as e:
            self._release()
            raise SpoolError("hashtrail: opening the spool %s: %s" % (path, e)) from e
        self._count, self._bytes = int(row[0]), int(row[1])

    def _release(self) -> None:
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None

    def append(self, bodies: List[bytes]) -> List[int]:
        """Append encoded events durably; returns their numbers."""
        if not bodies:
            return []
        with self._lock:
            try:
                cur = self._db.cursor()
                cur.execute("BEGIN IMMEDIATE")
                nums = []
                for b in bodies:
                    cur.execute("INSERT INTO spool (body) VALUES (?)", (b,))
                    nums.append(int(cur.lastrowid or 0))
                cur.execute("COMMIT")
            except sqlite3.Error as e:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise SpoolError("hashtrail: writing the spool: %s" % e) from e
            self._count += len(bodies)
            self._bytes += sum(len(b) for b in bodies)
            return nums

    def peek(self, max_events: int, max_bytes: int) -> List[Tuple[int, bytes]]:
        """The oldest events, up to max_events and max_bytes (at least one)."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT num, body FROM spool ORDER BY num LIMIT ?", (max_events,)
                ).fetchall()
            except sqlite3.Error as e:
                raise SpoolError("hashtrail: reading the spool: %s" % e) from e
        out: List[Tuple[int, bytes]] = []
        size = 0
        for num, body in rows:
            b = bytes(body)
            if out and size + len(b) > max_bytes:
                break
            out.append((int(num), b))
            size += len(b)
        return out

    def ack(self, upto: int) -> None:
        """Delete every event numbered up to upto (acknowledged)."""
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT count(*), coalesce(sum(length(body)), 0) FROM spool WHERE num <= ?", (upto,)
                ).fetchone()
                self._db.execute("DELETE FROM spool WHERE num <= ?", (upto,))
            except sqlite3.Error as e:
                raise SpoolError("hashtrail: updating the spool: %s" % e) from e
            self._count -= int(row[0])
            self._bytes -= int(row[1])

    def tail(self) -> int:
        """The number of the newest event (0 when empty)."""
        with self._lock:
            row = self._db.execute("SELECT coalesce(max(num), 0) FROM spool").fetchone()
            return int(row[0])

    def count(self) -> int:
        """Events held."""
        return self._count

    def size(self) -> int:
        """Bytes of events held."""
        return self._bytes

    def close(self) -> None:
        """Close the file and release the lock."""
        with self._lock:
            try:
                self._db.close()
            finally:
                self._release()


def open_spool(path: Optional[str]) -> Optional[Spool]:
    """Open the spool at path, or None without one."""
    return Spool(path) if path else None
