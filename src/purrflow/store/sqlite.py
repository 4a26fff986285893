"""The embedded default store: one SQLite file in WAL mode.

`full` durability (the default) makes every commit durable before anything it records is acknowledged;
`normal` trades the last commits before a power loss (never a process crash) for ~4× cheaper commits.
The engine groups writes, so one fsync covers every step journaled in the same event-loop tick.

With `full`, SQLite itself runs with `synchronous=NORMAL` — a commit appends to the WAL without syncing —
and `sync()` fsyncs the WAL file: the engine calls it in a thread of its own, so the event loop goes on
while the disk works, and answers what a commit recorded only once the fsync after it has returned. A
checkpoint still syncs the WAL before it copies it (SQLite does that under NORMAL), so the database file
never gets ahead of the WAL on disk.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Literal

from purrflow.store._db import IN_CLEAR, Cipher, Connection
from purrflow.store.base import SQLStore

Durability = Literal["full", "normal"]


class SQLiteStore(SQLStore):
    _begin_sql = "BEGIN IMMEDIATE"

    def __init__(self, path: Path, *, durability: Durability = "full", cipher: Cipher = IN_CLEAR) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # `full`: `sync()` makes commits durable
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self.path = path
        self.where = str(path)
        super().__init__(conn, cipher)
        migrate(conn)
        self._sqlite = conn
        self.needs_sync = durability == "full"
        self._wal: int | None = None

    def sync(self) -> None:
        """fsync the WAL: every commit so far is on disk once this returns. Touches no SQLite object, so it
        may run in another thread while the connection is in use."""
        if self._wal is None:
            wal = f"{self.path}-wal"
            if not os.path.exists(wal):
                return  # nothing was ever written
            self._wal = os.open(wal, os.O_RDONLY | os.O_CLOEXEC)
            folder = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(folder)  # the WAL file's own name, once
            finally:
                os.close(folder)
        os.fsync(self._wal)

    def close(self) -> None:
        super().close()
        if self._wal is not None:
            os.close(self._wal)
            self._wal = None

    def trace(self, callback: Callable[[str], None] | None) -> None:
        """Call `callback` with every statement the store runs from now on (None: stop): what tests count
        to hold a path to its number of statements and commits."""
        self._sqlite.set_trace_callback(callback)


def migrate(conn: Connection) -> int:
    """Apply every migration file newer than the database's `user_version`; return the new version."""
    row = conn.execute("PRAGMA user_version").fetchone()
    current = int(row[0])
    folder = resources.files("purrflow.store") / "migrations" / "sqlite"
    scripts = sorted((entry.name, entry) for entry in folder.iterdir() if entry.name.endswith(".sql"))
    for name, entry in scripts:
        version = int(name.split("_", 1)[0])
        if version <= current:
            continue
        sql = entry.read_text()
        assert isinstance(conn, sqlite3.Connection)  # internal: only the SQLite dialect calls this
        conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
        current = version
    return current
