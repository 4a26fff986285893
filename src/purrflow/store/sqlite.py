"""The embedded default store: one SQLite file in WAL mode.

`synchronous=FULL` (the default) fsyncs every commit; `normal` trades the last commits before a power
loss (never a process crash) for ~4× cheaper commits. The engine groups writes, so one fsync covers
every step journaled in the same event-loop tick.
"""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path
from typing import Literal

from purrflow.store._analytics import AnalyticsStore
from purrflow.store._config import ConfigStore
from purrflow.store._connections import ConnectionStore
from purrflow.store._db import IN_CLEAR, Cipher, Connection
from purrflow.store._identity import IdentityStore
from purrflow.store._ids import IdStore
from purrflow.store._projects import ProjectStore
from purrflow.store._prompts import PromptStore
from purrflow.store._secrets import SecretStore
from purrflow.store._sessions import SessionStore
from purrflow.store._signals import SignalStore
from purrflow.store._subscriptions import SubscriptionStore
from purrflow.store._values import EventStore, ValueStore
from purrflow.store._vars import VarStore

Durability = Literal["full", "normal"]


class SQLiteStore(
    IdentityStore,
    ProjectStore,
    ConnectionStore,
    SessionStore,
    SignalStore,
    SubscriptionStore,
    ValueStore,
    EventStore,
    ConfigStore,
    PromptStore,
    SecretStore,
    AnalyticsStore,
    VarStore,
    IdStore,
):
    _begin_sql = "BEGIN IMMEDIATE"

    def __init__(self, path: Path, *, durability: Durability = "full", cipher: Cipher = IN_CLEAR) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={durability.upper()}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self.path = path
        super().__init__(conn, cipher)
        migrate(conn)


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
