"""Project-scoped values (pickled bytes, opaque here) and stored events."""

from __future__ import annotations

import pickle
import time
from typing import Any

from purrflow.store._db import Database, new_id
from purrflow.store.records import Event


class ValueStore(Database):
    def get_value(self, project_id: str, key: str) -> bytes | None:
        row = self._one("SELECT value FROM project_values WHERE project_id = ? AND key = ?", project_id, key)
        return self._open(row[0]) if row else None

    def set_value(self, project_id: str, key: str, value: bytes) -> None:
        self._exec(
            "INSERT INTO project_values (project_id, key, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            project_id, key, self._seal(value), time.time(),
        )  # fmt: skip

    def delete_value(self, project_id: str, key: str) -> bool:
        return self._exec("DELETE FROM project_values WHERE project_id = ? AND key = ?", project_id, key).rowcount > 0

    def list_value_keys(self, project_id: str) -> list[str]:
        rows = self._all("SELECT key FROM project_values WHERE project_id = ? ORDER BY key", project_id)
        return [row[0] for row in rows]


_EVENT_COLS = "id, project_id, source, event_type, data, created_at"


class EventStore(Database):
    def add_event(self, project_id: str, source: str, event_type: str, data: dict[str, Any]) -> Event:
        event = Event(
            id=new_id("evt"), project_id=project_id, source=source, event_type=event_type, data=data,
            created_at=time.time(),
        )  # fmt: skip
        self._exec(
            "INSERT INTO events (id, project_id, source, event_type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            event.id, project_id, source, event_type, self._seal(pickle.dumps(data)), event.created_at,
        )  # fmt: skip
        return event

    def get_event(self, event_id: str) -> Event | None:
        row = self._one(f"SELECT {_EVENT_COLS} FROM events WHERE id = ?", event_id)
        return self._event(row) if row else None

    def list_events(
        self, team_id: str, *, project_id: str | None = None, source: str | None = None,
        before: tuple[float, str] | None = None, limit: int = 50,
    ) -> list[Event]:  # fmt: skip
        """The team's events newest first; `before` is the (created_at, id) of the last one of the page
        before (keyset paging: a deep page costs what the first does)."""
        sql = f"SELECT {', '.join('e.' + c for c in _EVENT_COLS.split(', '))} FROM events e"
        sql += " JOIN projects p ON p.id = e.project_id WHERE p.team_id = ?"
        params: list[Any] = [team_id]
        if project_id is not None:
            sql += " AND e.project_id = ?"
            params.append(project_id)
        if source is not None:
            sql += " AND e.source = ?"
            params.append(source)
        if before is not None:
            sql += " AND (e.created_at, e.id) < (?, ?)"
            params += [before[0], before[1]]
        rows = self._all(f"{sql} ORDER BY e.created_at DESC, e.id DESC LIMIT ?", *params, limit)
        return [self._event(row) for row in rows]

    def _event(self, row: Any) -> Event:
        data: dict[str, Any] = pickle.loads(self._open(row[4]))
        return Event(id=row[0], project_id=row[1], source=row[2], event_type=row[3], data=data, created_at=row[5])

    def event_origin(self, event_id: str) -> tuple[str, str, dict[str, Any]] | None:
        """(source, event type, data) of a stored event: where the session it started came from."""
        row = self._one("SELECT source, event_type, data FROM events WHERE id = ?", event_id)
        if row is None:
            return None
        data: dict[str, Any] = pickle.loads(self._open(row[2]))
        return str(row[0]), str(row[1]), data
