"""Persistence behind one `Store`: SQLite (embedded default); PostgreSQL is chosen by URL.

Nothing above this package writes SQL.
"""

from __future__ import annotations

from pathlib import Path

from purrflow.store._analytics import AnalyticsEvent
from purrflow.store._connections import ConnectionRecord
from purrflow.store._db import IN_CLEAR, Cipher
from purrflow.store._folders import CarriedFile
from purrflow.store._prompts import PromptRecord
from purrflow.store._sessions import NO_DETAILS, JournalRow, SessionFilter, StepDetails
from purrflow.store._signals import OpenWait, PendingSignal
from purrflow.store._subscriptions import Subscription
from purrflow.store._vars import VarRecord
from purrflow.store.base import SQLStore
from purrflow.store.records import (
    FINAL_STATES,
    LIVE_STATES,
    SESSION_STATES,
    Deployment,
    Event,
    LogRecord,
    Project,
    Session,
    SessionError,
    Team,
    Timer,
    TokenInfo,
    Trigger,
    User,
)
from purrflow.store.sqlite import Durability, SQLiteStore

#: The store the engine and server program against: its public methods are the protocol (base.py).
Store = SQLStore

#: The URL schemes that name a PostgreSQL database.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(where: Path | str, *, durability: Durability = "full", cipher: Cipher = IN_CLEAR) -> Store:
    """Open (creating and migrating as needed) the store at `where`: a SQLite file's path, or a
    `postgresql://` URL; `cipher` encrypts what sessions carry."""
    if isinstance(where, str) and where.startswith(POSTGRES_SCHEMES):
        from purrflow.store.postgres import PostgresStore  # imports psycopg: only where it is asked for

        return PostgresStore(where, durability=durability, cipher=cipher)
    return SQLiteStore(Path(where), durability=durability, cipher=cipher)


def shown_url(url: str) -> str:
    """A database URL as logs and messages show it: without its password."""
    from purrflow.store.postgres import shown_url as without_password

    return without_password(url)


__all__ = [
    "FINAL_STATES",
    "IN_CLEAR",
    "LIVE_STATES",
    "NO_DETAILS",
    "POSTGRES_SCHEMES",
    "SESSION_STATES",
    "AnalyticsEvent",
    "CarriedFile",
    "Cipher",
    "ConnectionRecord",
    "Deployment",
    "Durability",
    "Event",
    "JournalRow",
    "LogRecord",
    "OpenWait",
    "PendingSignal",
    "Project",
    "PromptRecord",
    "SQLStore",
    "SQLiteStore",
    "Session",
    "SessionError",
    "SessionFilter",
    "StepDetails",
    "Store",
    "Subscription",
    "Team",
    "Timer",
    "TokenInfo",
    "Trigger",
    "User",
    "VarRecord",
    "open_store",
    "shown_url",
]
