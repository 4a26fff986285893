"""The shared base of every SQL store: connection handling, transactions and small helpers.

Dialects (sqlite.py, postgres.py) subclass `SQLStore` (base.py: every concern's mixin over this base) and
supply the connection. The SQL the mixins write is the subset both dialects speak — `?` placeholders,
`INSERT … ON CONFLICT`, no dialect functions; where a statement must differ, the base asks the dialect
(`_json_list_holds`). The engine groups many writes into one transaction (group commit), so the base
exposes explicit `begin`/`commit`/`rollback` rather than committing per call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
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


NoticeHandler = Callable[[str, list[str]], None]


class NoticeListener(Protocol):
    #: Why its last attempt to listen failed, if one did.
    last_error: str | None

    async def run(self, ready: asyncio.Event) -> None:
        """Hear notices until cancelled; set `ready` once listening."""


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
        self._joins = itertools.count()

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
        self._enter_unit()
        try:
            if not self._in_tx:
                self._conn.execute(self._begin_sql)
                self._in_tx = True
        finally:
            self._leave_unit()

    def commit(self) -> None:
        """Commit the open transaction. Where `needs_sync`, it is on disk only after `sync()`."""
        self._enter_unit()
        try:
            if self._in_tx:
                self._in_tx = False
                self._committed(self._conn.execute("COMMIT"))
        finally:
            self._leave_unit()

    def _committed(self, answer: Cursor) -> None:
        """Check the database's answer to a COMMIT (a dialect that may turn one into a rollback raises)."""

    #: Whether a statement that fails inside a transaction leaves the rest of it standing (SQLite's rule).
    #: Where not (PostgreSQL aborts the whole transaction), every write block gets a savepoint of its own.
    lone_statements_are_atomic = True

    #: Statements wait for a database across the network: on an event loop they must wait off it (bridge.py).
    networked = False

    #: Other processes share the database (and must hear of what this one commits: `notify`).
    shared = False

    def notify(self, topic: str, *fields: str) -> None:
        """Tell the other processes over this database, once the open transaction commits, that `topic`
        moved for `fields` (ids; no spaces). One process writes a SQLite file: there is nobody to tell."""

    def listener(self, deliver: NoticeHandler, resync: Callable[[], None]) -> NoticeListener | None:
        """What hears the other processes' notices (`deliver(topic, fields)`, and `resync()` after a gap in
        which some may have been missed); None where nobody else writes."""
        return None

    #: Commits reach the disk only with `sync()` (which may run in another thread than the connection's).
    needs_sync = False

    def sync(self) -> None:
        """Make every commit so far durable (a no-op where commits are)."""

    def rollback(self) -> None:
        self._enter_unit()
        try:
            if self._in_tx:
                self._in_tx = False
                self._conn.execute("ROLLBACK")
        finally:
            self._leave_unit()

    def savepoint(self, name: str) -> None:
        """Open a savepoint: the statements until its `release` (or `rollback_to`) are one unit. Where the
        batch it was to join was committed while it waited for its turn, it begins the next one."""
        self._enter_unit()
        try:
            if not self._in_tx:
                self.begin()
            self._conn.execute(f"SAVEPOINT {name}")
        except BaseException:
            self._leave_unit()
            raise

    def release(self, name: str) -> None:
        try:
            self._conn.execute(f"RELEASE {name}")
        finally:
            self._leave_unit()

    def rollback_to(self, name: str) -> None:
        try:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
        finally:
            self._leave_unit()

    def _enter_unit(self) -> None:
        """The statements from here to `_leave_unit` are one writer's: no other writer's come between them
        (a dialect whose statements wait for the network, with the loop going on, holds the others off)."""

    def _leave_unit(self) -> None:
        """The end of what `_enter_unit` began."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction of its own; joins the open one (group commit) when there is one, as a savepoint
        of its own there, so that what it wrote is undone if it raises and the rest of the batch is not."""
        self._enter_unit()  # whether a transaction is open is decided inside the unit, where it cannot change
        try:
            if self._in_tx:
                name = f"tx{next(self._joins)}"
                self.savepoint(name)
                try:
                    yield
                except BaseException:
                    self.rollback_to(name)
                    raise
                self.release(name)
                return
            self.begin()
            try:
                yield
            except BaseException:
                self.rollback()
                raise
            self.commit()
        finally:
            self._leave_unit()
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
