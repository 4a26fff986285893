"""The team configuration store: strings by key, per team."""

from __future__ import annotations

import time

from purrflow.store._db import Database


class ConfigStore(Database):
    def get_config(self, team_id: str, key: str) -> str | None:
        row = self._one("SELECT value FROM team_config WHERE team_id = ? AND key = ?", team_id, key)
        return str(row[0]) if row else None

    def all_config(self, team_id: str) -> dict[str, str]:
        rows = self._all("SELECT key, value FROM team_config WHERE team_id = ? ORDER BY key", team_id)
        return {row[0]: row[1] for row in rows}

    def set_config(self, team_id: str, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO team_config (team_id, key, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (team_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            team_id, key, value, time.time(),
        )  # fmt: skip

    def delete_config(self, team_id: str, key: str) -> bool:
        return self._exec("DELETE FROM team_config WHERE team_id = ? AND key = ?", team_id, key).rowcount > 0
