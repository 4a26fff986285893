"""Persistence behind one `Store`: SQLite (embedded default); PostgreSQL is chosen by URL.

Nothing above this package writes SQL.
"""

from __future__ import annotations

from pathlib import Path

from purrflow.store._analytics import AnalyticsEvent
from purrflow.store._connections import ConnectionRecord
from purrflow.store._db import IN_CLEAR, Cipher
from purrflow.store._prompts import PromptRecord
from purrflow.store._sessions import NO_DETAILS, JournalRow, SessionFilter, StepDetails
from purrflow.store._signals import OpenWait, PendingSignal
from purrflow.store._subscriptions import Subscription
from purrflow.store._vars import VarRecord
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

#: The store the engine and server program against. Dialects share one SQL base (see _db.py).
Store = SQLiteStore


def open_store(path: Path, *, durability: Durability = "full", cipher: Cipher = IN_CLEAR) -> Store:
    """Open (creating and migrating as needed) the store at `path`; `cipher` encrypts what sessions carry."""
    return SQLiteStore(path, durability=durability, cipher=cipher)


__all__ = [
    "FINAL_STATES",
    "IN_CLEAR",
    "LIVE_STATES",
    "NO_DETAILS",
    "SESSION_STATES",
    "AnalyticsEvent",
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
]
