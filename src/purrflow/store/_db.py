"""The shared base of every SQL store: connection handling, transactions and small helpers.

Dialects (sqlite.py, postgres.py) subclass `SQLStore` (base.py: every concern's mixin over this base) and
supply the connection. The SQL the mixins write is the subset both dialects speak — `?` placeholders,
`INSERT … ON CONFLICT`, no dialect functions; where a statement must differ, the base asks the dialect
(`_json_list_holds`). The engine groups many writes into one transaction (group commit), so the base
exposes explicit `begin`/`commit`/`rollback` rather than committing per call.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...

    @property
    def rowcount(self) -> int: ...


class Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...
    def close(self) -> None: ...


class Cipher(Protocol):
    """Encryption at rest of what sessions carry (journal outcomes, values, event and signal payloads,
    results and errors). `open` also takes what was stored before encryption was on, and returns it."""

    def seal(self, data: bytes) -> bytes: ...
    def open(self, blob: bytes) -> bytes: ...


class _InClear:
    def seal(self, data: bytes) -> bytes:
        return data

    def open(self, blob: bytes) -> bytes:
        return blob


IN_CLEAR: Cipher = _InClear()


def new_id(prefix: str) -> str:
    """Sortable-enough, unguessable ids with a readable prefix (`ses_…`, `prj_…`)."""
    return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(6)}"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None


class Database:
    """One connection and its transaction state. Not thread-safe: the engine owns it on its loop."""

    def __init__(self, conn: Connection, cipher: Cipher = IN_CLEAR) -> None:
        self._conn = conn
        self._in_tx = False
        self._cipher = cipher

    # -- encryption at rest ------------------------------------------------------------------
    def _seal(self, data: bytes) -> bytes:
        return self._cipher.seal(data)

    def _open(self, blob: bytes | memoryview) -> bytes:
        return self._cipher.open(bytes(blob))

    def _seal_text(self, text: str | None) -> bytes | None:
        return None if text is None else self._cipher.seal(text.encode())

    def _open_text(self, value: str | bytes | None) -> str | None:
        """Text sealed as bytes, or (stored before encryption at rest) the text itself."""
        if value is None or isinstance(value, str):
            return value
        return self._cipher.open(bytes(value)).decode()

    # -- transactions ------------------------------------------------------------------------
    def begin(self) -> None:
        if not self._in_tx:
            self._conn.execute(self._begin_sql)
            self._in_tx = True

    def commit(self) -> None:
        """Commit the open transaction. Where `needs_sync`, it is on disk only after `sync()`."""
        if self._in_tx:
            self._in_tx = False
            self._conn.execute("COMMIT")

    #: Whether a statement that fails inside a transaction leaves the rest of it standing (SQLite's rule).
    #: Where not (PostgreSQL aborts the whole transaction), every write block gets a savepoint of its own.
    lone_statements_are_atomic = True

    #: Commits reach the disk only with `sync()` (which may run in another thread than the connection's).
    needs_sync = False

    def sync(self) -> None:
        """Make every commit so far durable (a no-op where commits are)."""

    def rollback(self) -> None:
        if self._in_tx:
            self._in_tx = False
            self._conn.execute("ROLLBACK")

    def savepoint(self, name: str) -> None:
        self._conn.execute(f"SAVEPOINT {name}")

    def release(self, name: str) -> None:
        self._conn.execute(f"RELEASE {name}")

    def rollback_to(self, name: str) -> None:
        self._conn.execute(f"ROLLBACK TO {name}")
        self._conn.execute(f"RELEASE {name}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction of its own; joins the open one (group commit) when there is one."""
        if self._in_tx:
            yield
            return
        self.begin()
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()
        if self.needs_sync:  # a transaction of its own is durable when it ends, as a caller expects
            self.sync()

    _begin_sql = "BEGIN"

    # -- statements --------------------------------------------------------------------------
    def _exec(self, sql: str, *params: Any) -> Cursor:
        return self._conn.execute(self._dialect(sql), params)

    def _one(self, sql: str, *params: Any) -> Any:
        return self._conn.execute(self._dialect(sql), params).fetchone()

    def _all(self, sql: str, *params: Any) -> list[Any]:
        return self._conn.execute(self._dialect(sql), params).fetchall()

    def _dialect(self, sql: str) -> str:
        """The statement as this dialect's driver takes it (SQLite takes the shared form as it is)."""
        return sql

    def _json_list_holds(self, column: str) -> str:
        """A condition: the JSON list of strings in `column` holds the string bound to its one `?`."""
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = ?)"

    def close(self) -> None:
        self.rollback()
        self._conn.close()
