"""Sessions, their journal, their log lines and their timers."""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterable
from typing import Any

from purrflow.store._db import Database, dumps, loads, new_id
from purrflow.store.records import LogRecord, Session, SessionError, Timer

_SESSION_COLS = (
    "s.id, s.project_id, s.deployment_id, s.entrypoint, s.trigger_name, s.event_id, s.parent_id, s.event, s.memo,"
    " s.durable, s.state, s.result, s.result_repr, s.error,"
    " (SELECT COALESCE(MAX(j.seq), 0) FROM journal j WHERE j.session_id = s.id),"
    " s.created_at, s.updated_at, p.name, s.user_id, s.runner_deaths, s.active_seconds"
)
_SESSION_FROM = "sessions s JOIN projects p ON p.id = s.project_id"


def _session(db: Database, row: Any) -> Session:
    error = loads(db._open_text(row[13]))
    return Session(
        id=row[0], project_id=row[1], deployment_id=row[2], entrypoint=row[3], trigger_name=row[4],
        event_id=row[5], parent_id=row[6], event=pickle.loads(db._open(row[7])), memo=loads(row[8]) or {},
        durable=bool(row[9]), state=row[10], result=db._open(row[11]) if row[11] is not None else None,
        result_repr=db._open_text(row[12]) or "",
        error=SessionError(**error) if error else None, steps=row[14], created_at=row[15],
        updated_at=row[16], project_name=row[17], user_id=row[18], runner_deaths=row[19], active_seconds=row[20],
    )  # fmt: skip


class SessionStore(Database):
    # -- sessions ----------------------------------------------------------------------------
    def create_session(
        self,
        *,
        project_id: str,
        deployment_id: str,
        entrypoint: str,
        event: dict[str, Any],
        trigger_name: str | None = None,
        event_id: str | None = None,
        parent_id: str | None = None,
        memo: dict[str, Any] | None = None,
        durable: bool = True,
        session_id: str | None = None,
        user_id: str | None = None,
    ) -> str:
        session_id = session_id or new_id("ses")
        now = time.time()
        self._exec(
            "INSERT INTO sessions (id, project_id, deployment_id, entrypoint, trigger_name, event_id, parent_id,"
            " event, memo, durable, state, created_at, updated_at, user_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            session_id, project_id, deployment_id, entrypoint, trigger_name, event_id, parent_id,
            self._seal(pickle.dumps(event)), dumps(memo or {}), int(durable), "created", now, now, user_id,
        )  # fmt: skip
        return session_id

    def get_session(self, session_id: str) -> Session | None:
        row = self._one(f"SELECT {_SESSION_COLS} FROM {_SESSION_FROM} WHERE s.id = ?", session_id)
        return _session(self, row) if row else None

    def list_sessions(
        self, team_id: str, *, project_id: str | None = None, state: str | None = None, limit: int = 50
    ) -> list[Session]:
        sql = f"SELECT {_SESSION_COLS} FROM {_SESSION_FROM} WHERE p.team_id = ?"
        params: list[Any] = [team_id]
        if project_id:
            sql += " AND s.project_id = ?"
            params.append(project_id)
        if state:
            sql += " AND s.state = ?"
            params.append(state)
        sql += " ORDER BY s.created_at DESC, s.id DESC LIMIT ?"
        params.append(limit)
        return [_session(self, row) for row in self._all(sql, *params)]

    def session_ids_in_states(self, states: Iterable[str]) -> list[str]:
        wanted = list(states)
        marks = ", ".join("?" for _ in wanted)
        return [
            row[0]
            for row in self._all(f"SELECT id FROM sessions WHERE state IN ({marks}) ORDER BY created_at", *wanted)
        ]

    def count_trigger_sessions(self, project_id: str, trigger_name: str, states: Iterable[str]) -> int:
        wanted = list(states)
        marks = ", ".join("?" for _ in wanted)
        row = self._one(
            f"SELECT COUNT(*) FROM sessions WHERE project_id = ? AND trigger_name = ? AND state IN ({marks})",
            project_id, trigger_name, *wanted,
        )  # fmt: skip
        return int(row[0])

    def count_sessions_by_state(self, team_id: str) -> dict[str, int]:
        rows = self._all(
            "SELECT s.state, COUNT(*) FROM sessions s JOIN projects p ON p.id = s.project_id"
            " WHERE p.team_id = ? GROUP BY s.state",
            team_id,
        )
        return {row[0]: row[1] for row in rows}

    def set_session_state(self, session_id: str, state: str) -> None:
        self._exec("UPDATE sessions SET state = ?, updated_at = ? WHERE id = ?", state, time.time(), session_id)

    def record_runner_death(self, session_id: str) -> int:
        """Count one more dead runner of the session; how many have died now."""
        self._exec("UPDATE sessions SET runner_deaths = runner_deaths + 1 WHERE id = ?", session_id)
        row = self._one("SELECT runner_deaths FROM sessions WHERE id = ?", session_id)
        return int(row[0]) if row else 0

    def add_active_time(self, session_id: str, seconds: float) -> None:
        """Time the session ran outside waits (what its wall-clock timeout counts)."""
        self._exec("UPDATE sessions SET active_seconds = active_seconds + ? WHERE id = ?", seconds, session_id)

    def finish_session(
        self, session_id: str, *, state: str, result: bytes | None = None, result_repr: str = "",
        error: SessionError | None = None,
    ) -> None:  # fmt: skip
        error_json = (
            dumps({"type": error.type, "message": error.message, "traceback": error.traceback}) if error else None
        )
        self._exec(
            "UPDATE sessions SET state = ?, result = ?, result_repr = ?, error = ?, updated_at = ? WHERE id = ?",
            state, self._seal(result) if result is not None else None, self._seal_text(result_repr),
            self._seal_text(error_json), time.time(), session_id,
        )  # fmt: skip
        self._exec("DELETE FROM timers WHERE session_id = ?", session_id)
        self._exec("DELETE FROM waits WHERE session_id = ?", session_id)
        self._exec("UPDATE subscriptions SET active = 0 WHERE session_id = ? AND active = 1", session_id)

    def move_sessions_to_deployment(self, project_id: str, deployment_id: str, states: Iterable[str]) -> int:
        wanted = list(states)
        marks = ", ".join("?" for _ in wanted)
        cursor = self._exec(
            f"UPDATE sessions SET deployment_id = ? WHERE project_id = ? AND state IN ({marks})",
            deployment_id, project_id, *wanted,
        )  # fmt: skip
        return cursor.rowcount

    # -- journal -----------------------------------------------------------------------------
    def append_journal(self, session_id: str, seq: int, name: str, payload: bytes, failed: bool) -> None:
        self._exec(
            "INSERT INTO journal (session_id, seq, name, payload, failed, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
            session_id, seq, name, self._seal(payload), int(failed), time.time(),
        )  # fmt: skip

    def clear_journal(self, session_id: str) -> None:
        self._exec("DELETE FROM journal WHERE session_id = ?", session_id)
        self._exec("DELETE FROM timers WHERE session_id = ?", session_id)

    def journal_entry(self, session_id: str, seq: int) -> tuple[str, bytes, bool] | None:
        row = self._one("SELECT name, payload, failed FROM journal WHERE session_id = ? AND seq = ?", session_id, seq)
        return (row[0], self._open(row[1]), bool(row[2])) if row else None

    def read_journal(self, session_id: str) -> list[tuple[int, str, bytes, bool]]:
        rows = self._all("SELECT seq, name, payload, failed FROM journal WHERE session_id = ? ORDER BY seq", session_id)
        return [(row[0], row[1], self._open(row[2]), bool(row[3])) for row in rows]

    def read_journal_times(self, session_id: str) -> list[tuple[int, str, bytes, bool, float | None]]:
        """Every step with when it was recorded (None for steps journaled before that was kept)."""
        rows = self._all(
            "SELECT seq, name, payload, failed, recorded_at FROM journal WHERE session_id = ? ORDER BY seq", session_id
        )
        return [(row[0], row[1], self._open(row[2]), bool(row[3]), row[4]) for row in rows]

    # -- logs --------------------------------------------------------------------------------
    def append_logs(self, session_id: str, records: Iterable[LogRecord]) -> None:
        for record in records:
            self._exec(
                "INSERT INTO session_logs (session_id, seq, ts, stream, text, position) VALUES (?, ?, ?, ?, ?, ?)",
                session_id, record.seq, record.ts, record.stream, record.text, record.position,
            )  # fmt: skip

    def read_logs(self, session_id: str, *, after: int = 0, limit: int = 10_000) -> list[LogRecord]:
        rows = self._all(
            "SELECT seq, ts, stream, text, position FROM session_logs"
            " WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            session_id, after, limit,
        )  # fmt: skip
        return [LogRecord(*row) for row in rows]

    def last_log_seq(self, session_id: str) -> int:
        row = self._one("SELECT MAX(seq) FROM session_logs WHERE session_id = ?", session_id)
        return int(row[0] or 0)

    def output_position(self, session_id: str) -> tuple[int, int]:
        """(furthest step position with output, lines printed there): where replayed output goes live again."""
        row = self._one(
            "SELECT position, COUNT(*) FROM session_logs WHERE session_id = ?"
            " AND position = (SELECT MAX(position) FROM session_logs WHERE session_id = ?)",
            session_id, session_id,
        )  # fmt: skip
        return (int(row[0]), int(row[1])) if row and row[0] is not None else (0, 0)

    # -- timers ------------------------------------------------------------------------------
    def put_timer(self, session_id: str, seq: int, name: str, fire_at: float) -> Timer:
        """Persist a timer once; a replayed wait for the same step keeps the original deadline."""
        self._exec(
            "INSERT OR IGNORE INTO timers (session_id, seq, name, fire_at) VALUES (?, ?, ?, ?)",
            session_id, seq, name, fire_at,
        )  # fmt: skip
        row = self._one("SELECT fire_at FROM timers WHERE session_id = ? AND seq = ?", session_id, seq)
        return Timer(session_id=session_id, seq=seq, name=name, fire_at=float(row[0]))

    def delete_timer(self, session_id: str, seq: int) -> None:
        self._exec("DELETE FROM timers WHERE session_id = ? AND seq = ?", session_id, seq)

    def session_timers(self, session_id: str) -> list[Timer]:
        rows = self._all(
            "SELECT session_id, seq, name, fire_at FROM timers WHERE session_id = ? ORDER BY seq", session_id
        )
        return [Timer(*row) for row in rows]

    def list_timers(self) -> list[Timer]:
        return [Timer(*row) for row in self._all("SELECT session_id, seq, name, fire_at FROM timers ORDER BY fire_at")]
