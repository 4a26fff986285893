"""Signals (pending until a waiting session takes them) and the durable record of open waits."""

from __future__ import annotations

import time
from dataclasses import dataclass

from purrflow.store._db import Database, dumps, loads, new_id


@dataclass(frozen=True, slots=True)
class PendingSignal:
    id: str
    name: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class OpenWait:
    session_id: str
    seq: int
    project_id: str
    kind: str
    names: list[str]
    deadline: float | None


class SignalStore(Database):
    def lock_signals(self, project_id: str) -> None:
        """Hold the project's signals and waits until the transaction ends, so that a wait opening and a
        signal arriving in two processes at once see each other (neither is lost). One process writes a
        SQLite file, so only a shared database needs it."""

    def waits_for(self, project_id: str, kind: str, name: str) -> list[OpenWait]:
        """The project's open waits of `kind` that `name` ends, by session id."""
        rows = self._all(
            "SELECT session_id, seq, project_id, kind, names, deadline FROM waits WHERE project_id = ? AND kind = ?"
            f" AND {self._json_list_holds('names')} ORDER BY session_id",
            project_id, kind, name,
        )  # fmt: skip
        return [OpenWait(r[0], r[1], r[2], r[3], loads(r[4]), r[5]) for r in rows]

    def add_signal(self, project_id: str, session_id: str | None, name: str, payload: bytes) -> str:
        signal_id = new_id("sig")
        self._exec(
            "INSERT INTO signals (id, project_id, session_id, name, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            signal_id, project_id, session_id, name, self._seal(payload), time.time(),
        )  # fmt: skip
        return signal_id

    def take_signal(self, project_id: str, session_id: str | None, names: list[str]) -> PendingSignal | None:
        """Consume the oldest pending signal for this target with one of `names`."""
        marks = ", ".join("?" for _ in names)
        target = "session_id = ?" if session_id else "session_id IS NULL"
        params = [project_id, *([session_id] if session_id else []), *names]
        row = self._one(
            f"SELECT id, name, payload FROM signals WHERE project_id = ? AND {target} AND name IN ({marks})"
            " AND consumed_at IS NULL ORDER BY created_at, id LIMIT 1",
            *params,
        )
        if row is None:
            return None
        self.consume_signal(row[0])
        return PendingSignal(row[0], row[1], self._open(row[2]))

    def consume_signal(self, signal_id: str) -> None:
        self._exec("UPDATE signals SET consumed_at = ? WHERE id = ?", time.time(), signal_id)

    def put_wait(self, wait: OpenWait) -> None:
        self._exec(
            "INSERT INTO waits (session_id, seq, project_id, kind, names, deadline) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (session_id) DO UPDATE SET seq = excluded.seq, project_id = excluded.project_id,"
            " kind = excluded.kind, names = excluded.names, deadline = excluded.deadline",
            wait.session_id, wait.seq, wait.project_id, wait.kind, dumps(wait.names), wait.deadline,
        )  # fmt: skip

    def delete_wait(self, session_id: str) -> None:
        self._exec("DELETE FROM waits WHERE session_id = ?", session_id)

    def session_wait(self, session_id: str) -> OpenWait | None:
        """What the session waits for now, if it waits for a signal or an event."""
        row = self._one(
            "SELECT session_id, seq, project_id, kind, names, deadline FROM waits WHERE session_id = ?", session_id
        )
        return OpenWait(row[0], row[1], row[2], row[3], loads(row[4]), row[5]) if row else None

    def list_waits(self) -> list[OpenWait]:
        rows = self._all("SELECT session_id, seq, project_id, kind, names, deadline FROM waits")
        return [OpenWait(r[0], r[1], r[2], r[3], loads(r[4]), r[5]) for r in rows]
