"""PostgreSQL as the store: for many purrflow processes (API servers, workers) sharing one database.

The same SQL as SQLite (the mixins speak the subset both take); this module only connects, translates
placeholders, and keeps PostgreSQL's one difference of behaviour from biting: a statement that fails
inside a transaction aborts the whole transaction there, so every write block takes a savepoint
(`lone_statements_are_atomic`), and a commit that PostgreSQL turned into a rollback raises instead of
passing for a success.

`full` durability commits synchronously (the commit is on the database's disk when it returns);
`normal` sets `synchronous_commit = off`, PostgreSQL's own form of the same trade as SQLite's: a crash
of the database host may lose the last commits, a crash of purrflow never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from purrflow.errors import InvalidInputError
from purrflow.store._db import IN_CLEAR, Cipher, Cursor
from purrflow.store.base import SQLStore
from purrflow.store.sqlite import Durability

try:
    import psycopg
    from psycopg.types.numeric import IntDumper
except ImportError:  # pragma: no cover - the `postgres` extra is not installed
    psycopg = None  # type: ignore[assignment]

#: Held while migrating, so that servers started together migrate the database once, one after another.
_MIGRATION_LOCK = 0x7075_7272  # "purr"


class TransactionAborted(RuntimeError):
    """PostgreSQL rolled the transaction back at its commit: a statement in it had failed."""


class PostgresStore(SQLStore):
    lone_statements_are_atomic = False

    def __init__(self, url: str, *, durability: Durability = "full", cipher: Cipher = IN_CLEAR) -> None:
        if psycopg is None:
            raise InvalidInputError(
                "the database URL names PostgreSQL, but purrflow's PostgreSQL driver is not installed",
                hint="pip install 'purrflow[postgres]'",
            )
        try:
            conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as err:
            raise InvalidInputError(
                f"cannot connect to the PostgreSQL database {shown_url(url)}: {str(err).strip()}",
                hint="check PURRFLOW_DATABASE_URL (postgresql://user:password@host:port/database) and that the"
                " server accepts connections from here",
            ) from err
        conn.adapters.register_dumper(bool, IntDumper)  # flags are integers in the schema, as in SQLite
        if durability == "normal":
            conn.execute("SET synchronous_commit = off")
        self.where = shown_url(url)
        super().__init__(_Connection(conn), cipher)
        self._pg = conn
        migrate(conn)

    def commit(self) -> None:
        if self._in_tx:
            self._in_tx = False
            done = self._pg.execute("COMMIT")
            if done.statusmessage == "ROLLBACK":
                raise TransactionAborted("PostgreSQL rolled the transaction back: a statement in it had failed")

    def _dialect(self, sql: str) -> str:
        return _placeholders(sql)

    def _json_list_holds(self, column: str) -> str:
        return f"EXISTS (SELECT 1 FROM json_array_elements_text({column}::json) AS t(value) WHERE t.value = ?)"


class _Connection:
    """psycopg's connection as the base's `Connection`."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        return self._conn.execute(sql, params)

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
