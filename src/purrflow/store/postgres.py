"""PostgreSQL as the store: for many purrflow processes (API servers, workers) sharing one database.

The same SQL as SQLite (the mixins speak the subset both take); this module only connects, translates
placeholders, and keeps PostgreSQL's one difference of behaviour from biting: a statement that fails
inside a transaction aborts the whole transaction there, so every write block takes a savepoint
(`lone_statements_are_atomic`), and a commit that PostgreSQL turned into a rollback raises instead of
passing for a success.

Every statement waits for the network. On a server's event loop it does so through `bridge.py`: the
statement runs in the store's database thread while the loop goes on, and the synchronous call that made
it resumes with its rows. One connection serves the server, so one writer holds it at a time: a write
block (a savepoint to its release) or a transaction of its own is a *unit*, and another writer's
statements wait, off the loop, until it ends. Outside a bridge (at start-up, in a command) a statement
simply runs where it is called.

`full` durability commits synchronously (the commit is on the database's disk when it returns);
`normal` sets `synchronous_commit = off`, PostgreSQL's own form of the same trade as SQLite's: a crash
of the database host may lose the last commits, a crash of purrflow never does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import greenlet

from purrflow.errors import InvalidInputError
from purrflow.store import bridge
from purrflow.store._db import IN_CLEAR, Cipher, Cursor, NoticeHandler
from purrflow.store.base import SQLStore
from purrflow.store.sqlite import Durability

try:
    import psycopg
    from psycopg.types.numeric import IntDumper
except ImportError:  # pragma: no cover - the `postgres` extra is not installed
    psycopg = None  # type: ignore[assignment]

#: Held while migrating, so that servers started together migrate the database once, one after another.
_MIGRATION_LOCK = 0x7075_7272  # "purr"
#: With a project's hash, held by a transaction that opens a wait or sends a signal (`lock_signals`).
_SIGNALS_LOCK = 0x7369_6773  # "sigs"
#: With a team's project name's hash, held by a transaction that deploys it (`lock_deploys`).
_DEPLOY_LOCK = 0x6465_706C  # "depl"
#: With a project's trigger's hash, held by a transaction that admits one of its sessions (`lock_trigger_sessions`).
_TRIGGER_LOCK = 0x7472_6967  # "trig"
#: The channel every purrflow process LISTENs on; a notice is "<origin> <topic> <field> …".
CHANNEL = "purrflow"
#: How long a listener that lost its connection waits before it tries again (doubling up to the most).
_RELISTEN_FIRST, _RELISTEN_MOST = 0.2, 5.0
log = logging.getLogger("purrflow.store.postgres")


class TransactionAborted(RuntimeError):
    """The transaction is gone: PostgreSQL rolled it back at its commit (a statement in it had failed), or
    the connection broke inside it."""


_LOST = "the connection to PostgreSQL broke inside this transaction; the transaction was lost"


class PostgresStore(SQLStore):
    lone_statements_are_atomic = False
    networked = True
    shared = True

    def __init__(self, url: str, *, durability: Durability = "full", cipher: Cipher = IN_CLEAR) -> None:
        if psycopg is None:
            raise InvalidInputError(
                "the database URL names PostgreSQL, but purrflow's PostgreSQL driver is not installed",
                hint="pip install 'purrflow[postgres]'",
            )

        def connect() -> psycopg.Connection[Any]:
            conn = psycopg.connect(url, autocommit=True)
            conn.adapters.register_dumper(bool, IntDumper)  # flags are integers in the schema, as in SQLite
            if durability == "normal":
                conn.execute("SET synchronous_commit = off")
            return conn

        try:
            conn = connect()
        except psycopg.Error as err:
            raise InvalidInputError(
                f"cannot connect to the PostgreSQL database {shown_url(url)}: {str(err).strip()}",
                hint="check PURRFLOW_DATABASE_URL (postgresql://user:password@host:port/database) and that the"
                " server accepts connections from here",
            ) from err
        self.where = shown_url(url)
        self._url = url
        #: Names this process in its notices: it hears its own too, and skips them (it told itself already).
        self._origin = secrets.token_hex(6)
        self._notices: list[str] = []
        self._notice_marks: dict[str, int] = {}
        self._pg = _Connection(conn, connect)
        super().__init__(self._pg, cipher)
        migrate(conn)

    # -- notices: NOTIFY at commit, so a process that hears one reads what was committed --------------
    def notify(self, topic: str, *fields: str) -> None:
        self._notices.append(" ".join((self._origin, topic, *fields)))

    def savepoint(self, name: str) -> None:
        super().savepoint(name)
        self._notice_marks[name] = len(self._notices)

    def release(self, name: str) -> None:
        self._notice_marks.pop(name, None)
        super().release(name)

    def rollback_to(self, name: str) -> None:
        del self._notices[self._notice_marks.pop(name, len(self._notices)) :]  # the block's notices go with it
        super().rollback_to(name)

    def rollback(self) -> None:
        self._notices.clear()
        self._notice_marks.clear()
        super().rollback()

    def commit(self) -> None:
        """Commit, with the transaction's notices (one statement for all of them): PostgreSQL delivers
        them when, and only if, the transaction commits."""
        self._enter_unit()
        try:
            notices = list(dict.fromkeys(self._notices))
            self._notices.clear()
            self._notice_marks.clear()
            if notices and self._in_tx:
                # in a transaction already aborted, the COMMIT below answers ROLLBACK, and `_committed` raises
                with contextlib.suppress(psycopg.errors.InFailedSqlTransaction):
                    self._exec("SELECT pg_notify(?, notice) FROM unnest(?::text[]) AS notice", CHANNEL, notices)
            super().commit()
        finally:
            self._leave_unit()

    def listener(self, deliver: NoticeHandler, resync: Callable[[], None]) -> _Listener:
        return _Listener(self._url, self._origin, deliver, resync)

    def _committed(self, answer: Cursor) -> None:
        if isinstance(answer, _Result) and answer.statusmessage == "ROLLBACK":
            raise TransactionAborted("PostgreSQL rolled the transaction back: a statement in it had failed")

    def _enter_unit(self) -> None:
        self._pg.enter()

    def _leave_unit(self) -> None:
        self._pg.leave()

    def close(self) -> None:
        super().close()
        self._pg.stop()

    def _dialect(self, sql: str) -> str:
        return _placeholders(sql)

    def lock_signals(self, project_id: str) -> None:
        self._hold_until_commit(_SIGNALS_LOCK, project_id)

    def lock_trigger_sessions(self, project_id: str, trigger_name: str) -> None:
        self._hold_until_commit(_TRIGGER_LOCK, f"{project_id}/{trigger_name}")

    def lock_deploys(self, team_id: str, name: str) -> None:
        self._hold_until_commit(_DEPLOY_LOCK, f"{team_id}/{name}")

    def _hold_until_commit(self, kind: int, key: str) -> None:
        """An advisory lock of `kind` on `key`'s hash, held until the transaction ends."""
        self._one("SELECT pg_advisory_xact_lock(?::integer, hashtext(?))", kind, key)

    def _json_list_holds(self, column: str) -> str:
        return f"EXISTS (SELECT 1 FROM json_array_elements_text({column}::json) AS t(value) WHERE t.value = ?)"


class _Listener:
    """One connection of its own that LISTENs (the store's connection is busy with transactions). A
    connection that breaks is made again; what was missed meanwhile is then `resync`ed by its hearers."""

    def __init__(self, url: str, origin: str, deliver: NoticeHandler, resync: Callable[[], None]) -> None:
        self._url = url
        self._origin = origin
        self._deliver = deliver
        self._resync = resync
        self.last_error: str | None = None

    async def run(self, ready: asyncio.Event) -> None:
        """Hear notices until cancelled; `ready` is set once the first LISTEN holds."""
        delay = _RELISTEN_FIRST
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if ready.is_set():
                        self._resync()  # notices sent while nobody listened are gone: read again
                    ready.set()
                    delay = _RELISTEN_FIRST
                    async for notice in conn.notifies():
                        origin, topic, *fields = notice.payload.split(" ")
                        if origin != self._origin:
                            self._deliver(topic, fields)
            except psycopg.OperationalError as err:
                self.last_error = " ".join(str(err).split())
                what = "lost the database's notices" if ready.is_set() else "could not listen to the database yet"
                log.warning("%s (%s); trying again in %.1f s", what, self.last_error, delay)
            await asyncio.sleep(delay)  # sleep-ok: a backoff before connecting again
            delay = min(delay * 2, _RELISTEN_MOST)


@dataclass(frozen=True, slots=True)
class _Result:
    """A statement's whole answer, read in the database thread (the loop's side only looks at it)."""

    rows: list[Any]
    rowcount: int
    statusmessage: str | None

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows


class _Connection:
    """psycopg's connection as the base's `Connection`, held by one unit at a time (see the module's doc).

    The holder is a greenlet: the one running the unit's synchronous code, suspended or not."""

    def __init__(self, conn: psycopg.Connection[Any], connect: Callable[[], psycopg.Connection[Any]]) -> None:
        self._conn = conn
        self._connect = connect
        #: The connection broke inside a transaction: its writes are gone, and until the store ends that
        #: transaction (its commit raises, a rollback is quiet) no statement may pass for a part of it.
        self._lost_transaction = False
        self._thread: ThreadPoolExecutor | None = None
        self._holder: greenlet.greenlet | None = None
        self._depth = 0
        self._waiting: deque[tuple[greenlet.greenlet, asyncio.Future[None]]] = deque()

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> _Result:
        self.enter()
        try:
            if not bridge.in_bridge():
                return self._run(sql, params)
            if self._thread is None:
                self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="purrflow-postgres")
            loop = asyncio.get_running_loop()
            return bridge.wait_for(loop.run_in_executor(self._thread, self._run, sql, params))
        finally:
            self.leave()

    def _run(self, sql: str, params: Sequence[Any]) -> _Result:
        """Run one statement. A connection that broke (the database restarted, a failover) is made again:
        a statement outside a transaction then runs on the new one; inside one, the transaction is lost
        and says so, and nothing of it is committed by mistake."""
        if self._lost_transaction:
            if sql in ("COMMIT", "ROLLBACK"):
                self._lost_transaction = False
                if sql == "ROLLBACK":
                    return _Result([], 0, "ROLLBACK")
            raise TransactionAborted(_LOST)
        if self._conn.broken or self._conn.closed:
            self._conn = self._connect()
        idle = self._conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        try:
            cursor = self._conn.execute(sql, params)
        except psycopg.OperationalError as err:
            if not self._conn.broken:
                raise
            self._conn = self._connect()  # raises while the database is still away
            if not idle:
                self._lost_transaction = sql not in ("COMMIT", "ROLLBACK")
                raise TransactionAborted(
                    "the connection to PostgreSQL broke inside a transaction; it was lost"
                ) from err
            cursor = self._conn.execute(sql, params)  # a statement of its own: run it on the new connection
        rows = cursor.fetchall() if cursor.description is not None else []
        return _Result(rows, cursor.rowcount, cursor.statusmessage)

    def enter(self) -> None:
        """Hold the connection (again, where this greenlet holds it); wait off the loop, in turn, while
        another does. Turns are first come, first served: the group commit's flushes take theirs in the
        order they took their batches, so the batches' acknowledgements go out in that order too."""
        me = greenlet.getcurrent()
        if self._holder is me:
            self._depth += 1
            return
        if self._holder is None and not self._waiting:
            self._holder, self._depth = me, 1
            return
        if not bridge.in_bridge():
            raise bridge.NotBridged("the database is held by a unit that waits for it, and this call cannot wait")
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((me, turn))
        try:
            bridge.wait_for(turn)
        except BaseException:
            if self._holder is me:  # its turn came as it was cancelled: pass it on
                self._depth = 1
                self.leave()
            else:
                self._waiting.remove((me, turn))
            raise
        self._depth = 1  # `leave` made this greenlet the holder

    def leave(self) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        self._holder = None
        while self._waiting:
            waiter, turn = self._waiting.popleft()
            if not turn.done():
                self._holder = waiter  # handed over: nobody arriving meanwhile comes before it
                turn.set_result(None)
                return

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    def close(self) -> None:
        self._conn.close()


@lru_cache(maxsize=4096)
def _placeholders(sql: str) -> str:
    """The shared SQL's `?` placeholders as psycopg's `%s` (and a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def shown_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    if psycopg is None:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"
    try:
        parts = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an unreadable database URL)"
    host = parts.get("host", "localhost")
    port = f":{parts['port']}" if parts.get("port") else ""
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname', '')}"


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Apply every migration newer than the database's; return the version it is at now."""
    folder = resources.files("purrflow.store") / "migrations" / "postgres"
    scripts = sorted((entry.name, entry) for entry in folder.iterdir() if entry.name.endswith(".sql"))
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = int(row[0]) if row and row[0] is not None else 0
        for name, entry in scripts:
            version = int(name.split("_", 1)[0])
            if version <= current:
                continue
            conn.execute(entry.read_text().encode())  # several statements: no parameters, so sent as they are
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
            current = version
    return current
