"""A project's connections: which integration each is, its fields as ciphertext (this layer never sees
them in clear), its last test's status, and the inbound deliveries it has already taken."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from purrflow.store._db import Database, loads, new_id

_COLS = "id, project_id, name, integration, fields, vars, auth_mode, status, status_detail, checked_at"


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    id: str
    project_id: str
    name: str
    integration: str
    #: A token of the fields' JSON (None: never set).
    sealed_fields: bytes | None
    #: Fields a store from before encryption holds in clear (re-sealed by the service at start).
    legacy_fields: dict[str, str]
    auth_mode: str
    status: str
    status_detail: str
    checked_at: float | None


def _record(row: Any) -> ConnectionRecord:
    return ConnectionRecord(
        id=str(row[0]),
        project_id=str(row[1]),
        name=str(row[2]),
        integration=str(row[3]),
        sealed_fields=bytes(row[4]) if row[4] is not None else None,
        legacy_fields=loads(str(row[5])) or {},
        auth_mode=str(row[6]),
        status=str(row[7]),
        status_detail=str(row[8]),
        checked_at=float(row[9]) if row[9] is not None else None,
    )


class ConnectionStore(Database):
    def replace_connections(self, project_id: str, connections: Mapping[str, str]) -> None:
        """Make the project's connections exactly `name → integration`, keeping those that stay (their id,
        fields and status: a redeploy keeps credentials and inbound URLs)."""
        existing = {row[0] for row in self._all("SELECT name FROM connections WHERE project_id = ?", project_id)}
        for name in existing - set(connections):
            self._exec("DELETE FROM connections WHERE project_id = ? AND name = ?", project_id, name)
        for name, integration in connections.items():
            if name in existing:
                self._exec(
                    "UPDATE connections SET integration = ? WHERE project_id = ? AND name = ?",
                    integration, project_id, name,
                )  # fmt: skip
            else:
                self._exec(
                    "INSERT INTO connections (id, project_id, name, integration) VALUES (?, ?, ?, ?)",
                    new_id("con"), project_id, name, integration,
                )  # fmt: skip

    def list_connections(self, project_id: str) -> list[str]:
        return [
            row[0] for row in self._all("SELECT name FROM connections WHERE project_id = ? ORDER BY name", project_id)
        ]

    def connections_of(self, project_id: str) -> list[ConnectionRecord]:
        rows = self._all(f"SELECT {_COLS} FROM connections WHERE project_id = ? ORDER BY name", project_id)
        return [_record(row) for row in rows]

    def get_connection(self, project_id: str, name: str) -> ConnectionRecord | None:
        row = self._one(f"SELECT {_COLS} FROM connections WHERE project_id = ? AND name = ?", project_id, name)
        return _record(row) if row else None

    def get_connection_by_id(self, connection_id: str) -> ConnectionRecord | None:
        row = self._one(f"SELECT {_COLS} FROM connections WHERE id = ?", connection_id)
        return _record(row) if row else None

    def connections_in_clear(self) -> list[ConnectionRecord]:
        """Rows whose fields a store from before encryption holds in clear."""
        rows = self._all(f"SELECT {_COLS} FROM connections WHERE vars != '{{}}'")
        return [_record(row) for row in rows]

    def put_connection_fields(self, connection_id: str, sealed: bytes, auth_mode: str | None = None) -> None:
        """New fields (their test status is then unknown again)."""
        self._exec(
            "UPDATE connections SET fields = ?, vars = '{}', auth_mode = COALESCE(?, auth_mode),"
            " status = 'untested', status_detail = '', checked_at = NULL WHERE id = ?",
            sealed, auth_mode, connection_id,
        )  # fmt: skip

    def put_connection_status(self, connection_id: str, status: str, detail: str) -> None:
        self._exec(
            "UPDATE connections SET status = ?, status_detail = ?, checked_at = ? WHERE id = ?",
            status, detail, time.time(), connection_id,
        )  # fmt: skip

    def take_delivery(self, connection_id: str, delivery: str, *, keep_seconds: float = 86_400.0) -> bool:
        """Record an inbound delivery; False when it was taken before (a retry). Old ones are forgotten."""
        now = time.time()
        self._exec("DELETE FROM inbound_deliveries WHERE received_at < ?", now - keep_seconds)
        cursor = self._exec(
            "INSERT INTO inbound_deliveries (connection_id, delivery, received_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            connection_id, delivery, now,
        )  # fmt: skip
        return cursor.rowcount > 0

    # -- OAuth ---------------------------------------------------------------------------------
    def set_token_refresh_at(self, connection_id: str, at: float | None) -> None:
        self._exec("UPDATE connections SET token_refresh_at = ? WHERE id = ?", at, connection_id)

    def tokens_due(self, now: float) -> list[ConnectionRecord]:
        rows = self._all(f"SELECT {_COLS} FROM connections WHERE token_refresh_at <= ? ORDER BY token_refresh_at", now)
        return [_record(row) for row in rows]

    def next_token_refresh(self) -> float | None:
        row = self._one("SELECT MIN(token_refresh_at) FROM connections WHERE token_refresh_at IS NOT NULL")
        return float(row[0]) if row and row[0] is not None else None

    def put_oauth_state(self, state: str, connection_id: str, user_id: str, verifier: bytes, redirect_uri: str) -> None:
        self._exec(
            "INSERT INTO oauth_states (state, connection_id, user_id, verifier, redirect_uri, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            state, connection_id, user_id, verifier, redirect_uri, time.time(),
        )  # fmt: skip

    def take_oauth_state(
        self, state: str, *, max_age: float, consume: bool = True
    ) -> tuple[str, str, bytes, str] | None:
        """The flow `state` began (connection, user, sealed verifier, redirect URI), used up unless not
        `consume`; None if unknown, used or older than `max_age` seconds."""
        row = self._one(
            "SELECT connection_id, user_id, verifier, redirect_uri, created_at FROM oauth_states WHERE state = ?", state
        )
        self._exec(
            "DELETE FROM oauth_states WHERE state = ? OR created_at < ?",
            state if consume else "",
            time.time() - max_age,
        )
        if row is None or float(row[4]) < time.time() - max_age:
            return None
        return str(row[0]), str(row[1]), bytes(row[2]), str(row[3])

    # -- polled mailboxes ----------------------------------------------------------------------
    def connections_of_integration(self, integration: str) -> list[ConnectionRecord]:
        rows = self._all(f"SELECT {_COLS} FROM connections WHERE integration = ? ORDER BY id", integration)
        return [_record(row) for row in rows]

    def poll_state(self, connection_id: str) -> tuple[str | None, float | None]:
        row = self._one("SELECT poll_cursor, poll_at FROM connections WHERE id = ?", connection_id)
        if row is None:
            return None, None
        return row[0], float(row[1]) if row[1] is not None else None

    def set_poll_state(self, connection_id: str, cursor: str | None, poll_at: float) -> None:
        self._exec("UPDATE connections SET poll_cursor = ?, poll_at = ? WHERE id = ?", cursor, poll_at, connection_id)
