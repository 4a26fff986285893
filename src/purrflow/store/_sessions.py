"""Sessions, their journal, their log lines and their timers."""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from purrflow.store._db import Database, dumps, loads, new_id
from purrflow.store._subscriptions import BUMP_VERSION
from purrflow.store.records import FINAL_STATES, LogRecord, Session, SessionError, Timer

_SESSION_COLS = (
    "s.id, s.project_id, s.deployment_id, s.entrypoint, s.trigger_name, s.event_id, s.parent_id, s.event, s.memo,"
    " s.durable, s.state, s.result, s.result_repr, s.error,"
    " (SELECT COALESCE(MAX(j.seq), 0) FROM journal j WHERE j.session_id = s.id),"
    " s.created_at, s.updated_at, p.name, s.user_id, s.runner_deaths, s.active_seconds, s.rerun_of, s.rerun_from"
)
_SESSION_FROM = "sessions s JOIN projects p ON p.id = s.project_id"
#: A `LIMIT` that keeps every row, in both dialects (SQLite's -1 is refused by PostgreSQL).
ALL_ROWS = 2**63 - 1
#: Ids per `IN (…)` list, well under SQLite's limit of bound parameters.
_IN_BATCH = 500


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """Which of a team's sessions a listing shows (every field optional; all given must match)."""

    states: tuple[str, ...] = ()
    trigger: str | None = None
    since: float | None = None  # created at or after
    until: float | None = None  # created before
    id_prefix: str = ""
    parent_id: str | None = None  # only this session's children

    def matches(self, session: Session) -> bool:
        """Whether `session` is one the listing would show (a live page decides so for a new session)."""
        return (
            (not self.states or session.state in self.states)
            and (self.trigger is None or session.trigger_name == self.trigger)
            and (self.since is None or session.created_at >= self.since)
            and (self.until is None or session.created_at < self.until)
            and session.id.startswith(self.id_prefix)
            and (self.parent_id is None or session.parent_id == self.parent_id)
        )


@dataclass(frozen=True, slots=True)
class StepDetails:
    """What the journal keeps about a step besides its outcome: a summary of its arguments, when it
    began (None: not known), and under a retry policy its attempt number (0: none) and whether its
    failure was retried (replay follows that)."""

    args: str = ""
    started_at: float | None = None
    attempt: int = 0
    retried: bool = False


NO_DETAILS = StepDetails()


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One journaled step as stored, with when it was recorded (None for steps journaled before that
    was kept)."""

    seq: int
    name: str
    payload: bytes
    failed: bool
    recorded_at: float | None
    details: StepDetails


def _session(db: Database, row: Any) -> Session:
    error = loads(db._open_text(row[13]))
    return Session(
        id=row[0], project_id=row[1], deployment_id=row[2], entrypoint=row[3], trigger_name=row[4],
        event_id=row[5], parent_id=row[6], event=pickle.loads(db._open(row[7])), memo=loads(row[8]) or {},
        durable=bool(row[9]), state=row[10], result=db._open(row[11]) if row[11] is not None else None,
        result_repr=db._open_text(row[12]) or "",
        error=SessionError(**error) if error else None, steps=row[14], created_at=row[15],
        updated_at=row[16], project_name=row[17], user_id=row[18], runner_deaths=row[19], active_seconds=row[20],
        rerun_of=row[21], rerun_from=row[22],
    )  # fmt: skip


def _ended_sessions(
    columns: str, ended_before: float, team_id: str | None, project_id: str | None, states: Iterable[str],
    server_retention: bool,
) -> tuple[str, list[Any]] | None:  # fmt: skip
    """The query of the ended sessions these filters match (None: the states include no final one)."""
    wanted = sorted(set(states) & FINAL_STATES)
    if not wanted:
        return None
    marks = ", ".join("?" for _ in wanted)
    sql = f"SELECT {columns} FROM {_SESSION_FROM} WHERE s.state IN ({marks}) AND s.updated_at < ?"
    params: list[Any] = [*wanted, ended_before]
    if team_id is not None:
        sql += " AND p.team_id = ?"
        params.append(team_id)
    if project_id is not None:
        sql += " AND s.project_id = ?"
        params.append(project_id)
    if server_retention:
        sql += " AND p.retention IS NULL"
    return sql, params


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
            " event, memo, durable, state, created_at, updated_at, user_id, team_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT team_id FROM projects WHERE id = ?))",
            session_id, project_id, deployment_id, entrypoint, trigger_name, event_id, parent_id,
            self._seal(pickle.dumps(event)), dumps(memo or {}), int(durable), "created", now, now, user_id,
            project_id,
        )  # fmt: skip
        return session_id

    def get_session(self, session_id: str) -> Session | None:
        row = self._one(f"SELECT {_SESSION_COLS} FROM {_SESSION_FROM} WHERE s.id = ?", session_id)
        return _session(self, row) if row else None

    def list_sessions(
        self, team_id: str, *, project_id: str | None = None, filters: SessionFilter | None = None,
        before: tuple[float, str] | None = None, limit: int = 50,
    ) -> list[Session]:  # fmt: skip
        """The team's sessions newest first, `before` a (created_at, id) key: keyset paging, read in the
        order of an index (0021_session_listing.sql) whatever the page's depth."""
        wanted = filters or SessionFilter()
        sql = f"SELECT {_SESSION_COLS} FROM {_SESSION_FROM} WHERE s.team_id = ?"
        params: list[Any] = [team_id]
        if project_id:
            sql += " AND s.project_id = ?"
            params.append(project_id)
        if wanted.states:
            sql += f" AND s.state IN ({', '.join('?' for _ in wanted.states)})"
            params.extend(wanted.states)
        if wanted.trigger is not None:
            sql += " AND s.trigger_name = ?"
            params.append(wanted.trigger)
        if wanted.since is not None:
            sql += " AND s.created_at >= ?"
            params.append(wanted.since)
        if wanted.until is not None:
            sql += " AND s.created_at < ?"
            params.append(wanted.until)
        if wanted.id_prefix:
            sql += " AND s.id >= ? AND s.id < ?"
            params += [wanted.id_prefix, wanted.id_prefix + "\U0010ffff"]
        if wanted.parent_id is not None:
            sql += " AND s.parent_id = ?"
            params.append(wanted.parent_id)
        if before is not None:
            sql += " AND (s.created_at, s.id) < (?, ?)"
            params += [before[0], before[1]]
        sql += " ORDER BY s.created_at DESC, s.id DESC LIMIT ?"
        params.append(limit)
        return [_session(self, row) for row in self._all(sql, *params)]

    def sessions_changed(self, team_id: str, since: float, *, limit: int = 200) -> list[Session]:
        """The team's sessions created or moved on after `since` (by updated_at), oldest change first."""
        rows = self._all(
            f"SELECT {_SESSION_COLS} FROM {_SESSION_FROM} WHERE s.team_id = ? AND s.updated_at > ?"
            " ORDER BY s.updated_at LIMIT ?",
            team_id, since, limit,
        )  # fmt: skip
        return [_session(self, row) for row in rows]

    def session_ids_in_states(self, states: Iterable[str]) -> list[str]:
        wanted = list(states)
        marks = ", ".join("?" for _ in wanted)
        return [
            row[0]
            for row in self._all(f"SELECT id FROM sessions WHERE state IN ({marks}) ORDER BY created_at", *wanted)
        ]

    def sessions_created_before(self, before: float, limit: int = 1000) -> list[str]:
        """Sessions still `created` (not yet taken up by an orchestrator) that were made before `before`."""
        return [
            row[0]
            for row in self._all(
                "SELECT id FROM sessions WHERE state = 'created' AND created_at < ? ORDER BY created_at LIMIT ?",
                before,
                limit,
            )
        ]

    def lock_trigger_sessions(self, project_id: str, trigger_name: str) -> None:
        """Hold the starts of the trigger's sessions until the transaction ends: processes that admit its
        sessions at once then count its sessions under way in turn (its `concurrency`). One process
        writes a SQLite file, so only a shared database needs it."""

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
        ended = self._exec("UPDATE subscriptions SET active = 0 WHERE session_id = ? AND active = 1", session_id)
        if ended.rowcount:
            self._exec(BUMP_VERSION, self._one("SELECT project_id FROM sessions WHERE id = ?", session_id)[0])

    def move_sessions_to_deployment(self, project_id: str, deployment_id: str, states: Iterable[str]) -> int:
        wanted = list(states)
        marks = ", ".join("?" for _ in wanted)
        cursor = self._exec(
            f"UPDATE sessions SET deployment_id = ? WHERE project_id = ? AND state IN ({marks})",
            deployment_id, project_id, *wanted,
        )  # fmt: skip
        return cursor.rowcount

    def copy_steps(self, source_id: str, target_id: str, before_seq: int) -> int:
        """Give `target_id` the journal of `source_id` before step `before_seq` (a rerun from that step),
        outcomes copied sealed as they are, and record where it came from; how many steps were copied."""
        self._exec("UPDATE sessions SET rerun_of = ?, rerun_from = ? WHERE id = ?", source_id, before_seq, target_id)
        cursor = self._exec(
            "INSERT INTO journal (session_id, seq, name, payload, failed, recorded_at, args, started_at, attempt,"
            " retried) SELECT ?, seq, name, payload, failed, recorded_at, args, started_at, attempt, retried"
            " FROM journal WHERE session_id = ? AND seq < ?",
            target_id, source_id, before_seq,
        )  # fmt: skip
        return cursor.rowcount

    def ended_session_ids(
        self, *, ended_before: float, team_id: str | None = None, project_id: str | None = None,
        states: Iterable[str] = FINAL_STATES, server_retention: bool = False, limit: int = 500,
    ) -> list[str]:  # fmt: skip
        """Ended sessions (in `states`, all final) that ended before `ended_before`, oldest end first;
        with `server_retention`, only those of projects that set no retention of their own."""
        query = _ended_sessions("s.id", ended_before, team_id, project_id, states, server_retention)
        if query is None:
            return []
        return [row[0] for row in self._all(f"{query[0]} ORDER BY s.updated_at LIMIT ?", *query[1], limit)]

    def count_ended_sessions(
        self, *, ended_before: float, team_id: str | None = None, project_id: str | None = None,
        states: Iterable[str] = FINAL_STATES,
    ) -> int:  # fmt: skip
        """How many sessions `ended_session_ids` would find with no limit."""
        query = _ended_sessions("COUNT(*)", ended_before, team_id, project_id, states, False)
        return int(self._one(query[0], *query[1])[0]) if query else 0

    def delete_sessions(self, session_ids: Sequence[str]) -> int:
        """Remove sessions and everything that is theirs alone: journal, log lines, timers, waits, prompts,
        subscriptions, the signals sent to them, the carried state folders they were the first session of.
        Their events stay (an event belongs to its project and may have started others), and so do the team's
        analytics events that name them. How many went."""
        removed = 0
        for start in range(0, len(session_ids), _IN_BATCH):
            batch = list(session_ids[start : start + _IN_BATCH])
            marks = ", ".join("?" for _ in batch)
            tables = ("journal", "session_logs", "timers", "waits", "prompts", "subscriptions", "signals")
            for table in (*tables, "webhook_answers", "session_stretches"):
                self._exec(f"DELETE FROM {table} WHERE session_id IN ({marks})", *batch)
            self._exec(f"DELETE FROM carried_files WHERE owner_id IN ({marks})", *batch)  # their state folders
            removed += self._exec(f"DELETE FROM sessions WHERE id IN ({marks})", *batch).rowcount
        return removed

    def project_session_ids(self, project_id: str, states: Iterable[str]) -> list[str]:
        wanted = list(states)
        marks = ", ".join("?" for _ in wanted)
        sql = f"SELECT id FROM sessions WHERE project_id = ? AND state IN ({marks}) ORDER BY created_at"
        rows = self._all(sql, project_id, *wanted)
        return [row[0] for row in rows]

    def session_ids_of_event(self, event_id: str) -> list[str]:
        """The sessions an event started (its triggers', and those rerun or restarted from them)."""
        rows = self._all("SELECT id FROM sessions WHERE event_id = ? ORDER BY created_at, id", event_id)
        return [row[0] for row in rows]

    # -- journal -----------------------------------------------------------------------------
    def append_journal(
        self, session_id: str, seq: int, name: str, payload: bytes, failed: bool, details: StepDetails = NO_DETAILS
    ) -> None:
        self._exec(
            "INSERT INTO journal (session_id, seq, name, payload, failed, recorded_at, args, started_at, attempt,"
            " retried) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            session_id, seq, name, self._seal(payload), int(failed), time.time(),
            self._seal_text(details.args) if details.args else None, details.started_at, details.attempt or None,
            int(details.retried),
        )  # fmt: skip

    def clear_journal(self, session_id: str) -> None:
        self._exec("DELETE FROM journal WHERE session_id = ?", session_id)
        self._exec("DELETE FROM timers WHERE session_id = ?", session_id)

    def journal_entry(self, session_id: str, seq: int) -> tuple[str, bytes, bool] | None:
        row = self._one("SELECT name, payload, failed FROM journal WHERE session_id = ? AND seq = ?", session_id, seq)
        return (row[0], self._open(row[1]), bool(row[2])) if row else None

    def read_journal(self, session_id: str, *, after: int = 0, limit: int = ALL_ROWS) -> list[JournalRow]:
        """The steps after `after` in order (at most `limit`), with their details (a replay reads
        `replay_journal`, which leaves them out)."""
        rows = self._all(
            "SELECT seq, name, payload, failed, recorded_at, args, started_at, attempt,"
            " retried FROM journal WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            session_id, after, limit,
        )  # fmt: skip
        return [
            JournalRow(
                row[0], row[1], self._open(row[2]), bool(row[3]), row[4],
                StepDetails(self._open_text(row[5]) or "", row[6], row[7] or 0, bool(row[8])),
            )
            for row in rows
        ]  # fmt: skip

    def replay_journal(
        self, session_id: str, *, after: int = 0, limit: int = ALL_ROWS
    ) -> list[tuple[int, str, bytes, bool, int, bool]]:
        """What a replay needs of the steps after `after` (at most `limit`): (seq, name, outcome, failed,
        attempt, retried), nothing else read or unsealed — it is on the path of every resume."""
        open_ = self._cipher.open
        return [
            (seq, name, open_(payload), bool(failed), attempt or 0, bool(retried))
            for seq, name, payload, failed, attempt, retried in self._all(
                "SELECT seq, name, payload, failed, attempt, retried FROM journal"
                " WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                session_id, after, limit,
            )
        ]  # fmt: skip

    def last_step(self, session_id: str) -> int:
        """The sequence number of the session's last journaled step (0: none yet)."""
        row = self._one("SELECT MAX(seq) FROM journal WHERE session_id = ?", session_id)
        return int(row[0] or 0) if row else 0

    def mark_running(self, session_id: str) -> None:
        """A runner starts on the session: it is running, and every step journaled before now it answers
        by replay (one write for both: this is on every session start)."""
        now = time.time()
        self._exec(
            "UPDATE sessions SET state = 'running', updated_at = ?, runner_started_at = ? WHERE id = ?",
            now, now, session_id,
        )  # fmt: skip

    def runner_started_at(self, session_id: str) -> float | None:
        row = self._one("SELECT runner_started_at FROM sessions WHERE id = ?", session_id)
        return row[0] if row else None

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

    def take_stretch(self, session_id: str, holder: str, stretch: int, attempt: int) -> bool:
        """`holder` (attempt `attempt` at the session's `stretch`-th stretch on Temporal) runs the session from
        now on, unless a later stretch or attempt holds it already (then False: this one is stale). Stretch 0
        is a workflow's from before stretches were numbered: it takes the session whoever holds it."""
        return (
            self._exec(
                "INSERT INTO session_stretches (session_id, stretch, attempt, holder) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (session_id) DO UPDATE SET stretch = excluded.stretch, attempt = excluded.attempt,"
                " holder = excluded.holder WHERE (session_stretches.stretch, session_stretches.attempt)"
                " < (excluded.stretch, excluded.attempt) OR excluded.stretch = 0",
                session_id, stretch, attempt, holder,
            ).rowcount
            > 0
        )  # fmt: skip

    def stretch_holder(self, session_id: str) -> str | None:
        row = self._one("SELECT holder FROM session_stretches WHERE session_id = ?", session_id)
        return str(row[0]) if row else None

    def save_webhook_answer(self, session_id: str, status: int, headers: dict[str, str], body: bytes) -> bool:
        """Keep a synchronous webhook's answer; False when the session had answered already (the first wins)."""
        return bool(
            self._exec(
                "INSERT INTO webhook_answers (session_id, status, headers, body) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (session_id) DO NOTHING",
                session_id, status, self._seal(dumps(headers).encode()), self._seal(body),
            ).rowcount
        )  # fmt: skip

    def webhook_answer(self, session_id: str) -> tuple[int, dict[str, str], bytes] | None:
        """(status, headers, body) the session answered its synchronous webhook, if it did."""
        row = self._one("SELECT status, headers, body FROM webhook_answers WHERE session_id = ?", session_id)
        if row is None:
            return None
        return int(row[0]), loads(self._open(row[1]).decode()), self._open(row[2])

    def last_log_seq(self, session_id: str) -> int:
        row = self._one("SELECT MAX(seq) FROM session_logs WHERE session_id = ?", session_id)
        return int(row[0] or 0)

    def output_position(self, session_id: str) -> tuple[int, int]:
        """(furthest step position with output, lines printed there): where replayed output goes live again."""
        row = self._one(
            "SELECT MAX(position), COUNT(*) FROM session_logs WHERE session_id = ?"
            " AND position = (SELECT MAX(position) FROM session_logs WHERE session_id = ?)",
            session_id, session_id,
        )  # fmt: skip
        return (int(row[0]), int(row[1])) if row and row[0] is not None else (0, 0)

    # -- timers ------------------------------------------------------------------------------
    def put_timer(self, session_id: str, seq: int, name: str, fire_at: float) -> Timer:
        """Persist a timer once; a replayed wait for the same step keeps the original deadline."""
        self._exec(
            "INSERT INTO timers (session_id, seq, name, fire_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
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
