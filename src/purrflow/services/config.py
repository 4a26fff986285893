"""The team configuration store: string values per team, checked by `purrflow.rules.config`."""

from __future__ import annotations

from purrflow.engine.commit import GroupCommitter
from purrflow.errors import NotFoundError
from purrflow.rules.config import check_config
from purrflow.store import Store


class ConfigService:
    def __init__(self, store: Store, committer: GroupCommitter) -> None:
        self._store = store
        self._committer = committer

    def get(self, team_id: str, key: str) -> str | None:
        check_config(key)
        return self._store.get_config(team_id, key)

    def require(self, team_id: str, key: str) -> str:
        value = self.get(team_id, key)
        if value is None:
            raise NotFoundError(f"your team has no config {key!r}", hint="list them with `purr config list`")
        return value

    def all(self, team_id: str) -> dict[str, str]:
        return self._store.all_config(team_id)

    def set(self, team_id: str, key: str, value: str) -> dict[str, str]:
        """Set one key; every key after the change."""
        check_config(key, value)
        with self._committer.write(atomic=False):
            self._store.set_config(team_id, key, value)
        return self._store.all_config(team_id)

    def delete(self, team_id: str, key: str) -> bool:
        check_config(key)
        with self._committer.write(atomic=False):
            return self._store.delete_config(team_id, key)
