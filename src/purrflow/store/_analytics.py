"""Analytics events per team: what `track` stored, read back by time window for `events` and Insights.

Rows are append-only; the engine validates and flattens a body before it gets here, so this layer only
keeps it and finds it again by (team, time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from purrflow.store._db import Database, dumps, loads, new_id


@dataclass(frozen=True, slots=True)
class AnalyticsEvent:
    id: str
    team_id: str
    ts: float
    event: str
    tags: list[str]
    data: dict[str, Any]  # the whole flattened body: {"tags", "event", **metadata}
    session_id: str | None
    user_id: str | None


_COLS = "id, team_id, ts, event, tags, data, session_id, user_id"


def _event(row: Any) -> AnalyticsEvent:
    return AnalyticsEvent(row[0], row[1], float(row[2]), row[3], loads(row[4]), loads(row[5]), row[6], row[7])


class AnalyticsStore(Database):
    def add_analytics_event(
        self,
        team_id: str,
        event: str,
        tags: list[str],
        data: dict[str, Any],
        *,
        ts: float | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
    ) -> AnalyticsEvent:
        record = AnalyticsEvent(
            new_id("anl"), team_id, time.time() if ts is None else ts, event, tags, data, session_id, user_id
        )
        self._exec(
            f"INSERT INTO analytics_events ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            record.id, team_id, record.ts, event, dumps(tags), dumps(data), session_id, user_id,
        )  # fmt: skip
        return record

    def analytics_events(
        self,
        team_id: str,
        start: float,
        end: float,
        event: str | None = None,
        tag: str | None = None,
        limit: int = 1000,
    ) -> list[AnalyticsEvent]:
        """The team's events with start <= ts < end, newest last; past `limit`, the newest `limit` of them."""
        sql = f"SELECT {_COLS} FROM analytics_events WHERE team_id = ? AND ts >= ? AND ts < ?"
        params: list[Any] = [team_id, start, end]
        if event is not None:
            sql += " AND event = ?"
            params.append(event)
        if tag is not None:
            sql += f" AND {self._json_list_holds('analytics_events.tags')}"
            params.append(tag)
        rows = self._all(sql + " ORDER BY ts DESC, id DESC LIMIT ?", *params, limit)
        return [_event(row) for row in reversed(rows)]
