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

    def event_origin(self, event_id: str) -> tuple[str, str, dict[str, Any]] | None:
        """(source, event type, data) of a stored event: where the session it started came from."""
        row = self._one("SELECT source, event_type, data FROM events WHERE id = ?", event_id)
        if row is None:
            return None
        data: dict[str, Any] = pickle.loads(self._open(row[2]))
        return str(row[0]), str(row[1]), data
