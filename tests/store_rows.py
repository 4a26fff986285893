"""Rows as a database holds them (sealed, hashed, deleted), for tests that look past the store: a SQLite
file's path or a PostgreSQL URL, read on a connection of their own beside the server or store using it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from purrflow.store import SQLiteStore, Store

#: What a unique key refused looks like, in either dialect's driver.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)


def where(store: Store) -> Path | str:
    return store.path if isinstance(store, SQLiteStore) else store.where


def raw_rows(database: Path | str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """`sql` (with `?` placeholders) run against the database, read-only."""
    if isinstance(database, Path):
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()
    with psycopg.connect(database) as conn:
        return conn.execute(sql.replace("?", "%s"), params).fetchall()


def count(database: Path | str, table: str, column: str, value: str | bytes) -> int:
    return int(raw_rows(database, f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", value)[0][0])


def stored_bytes(database: Path | str) -> bytes:
    """Everything the database holds, as bytes: a SQLite file with its WAL, or each value of every row of
    every table of a PostgreSQL database (text as UTF-8) — what a secret in clear would be found in."""
    if isinstance(database, Path):
        return b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))
    chunks: list[bytes] = []
    with psycopg.connect(database) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        for (table,) in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                chunks += [value if isinstance(value, bytes) else str(value).encode() for value in row]
    return b"\n".join(chunks)


def waiting_on_locks(url: str) -> int:
    """How many of the database's sessions wait for a lock another holds (a statement stuck in PostgreSQL)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM pg_locks WHERE NOT granted").fetchone()
        return int(row[0]) if row else 0
