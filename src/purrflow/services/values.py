"""Project values: the one writer of the value store, with the limits of `purrflow.rules.values`."""

from __future__ import annotations

from typing import Any

from purrflow.engine.commit import GroupCommitter
from purrflow.errors import NotFoundError
from purrflow.rules import values as rules
from purrflow.rules.values import ValueLimits
from purrflow.store import Project, Store


class _ProjectTable:
    """One project's values in the store, as the rules read and write them."""

    def __init__(self, store: Store, project_id: str) -> None:
        self._store = store
        self._project_id = project_id

    def get(self, key: str) -> bytes | None:
        return self._store.get_value(self._project_id, key)

    def keys(self) -> list[str]:
        return self._store.list_value_keys(self._project_id)

    def put(self, key: str, blob: bytes) -> None:
        self._store.set_value(self._project_id, key, blob)

    def delete(self, key: str) -> bool:
        return self._store.delete_value(self._project_id, key)


class ValueService:
    def __init__(self, store: Store, committer: GroupCommitter, limits: ValueLimits) -> None:
        self._store = store
        self._committer = committer
        self.limits = limits

    def get(self, project_id: str, key: str) -> bytes | None:
        rules.check_key(key)
        return self._store.get_value(project_id, key)

    def keys(self, project_id: str) -> list[str]:
        return self._store.list_value_keys(project_id)

    def set(self, project_id: str, project_name: str, key: str, blob: bytes) -> None:
        with self._committer.write():
            rules.set_value(self._table(project_id), self.limits, project_name, key, blob)

    def delete(self, project_id: str, project_name: str, key: str) -> None:
        with self._committer.write():
            rules.delete_value(self._table(project_id), project_name, key)

    def check_and_set(self, project_id: str, project_name: str, key: str, expected: bytes | None, new: bytes) -> bool:
        with self._committer.write():
            return rules.check_and_set(self._table(project_id), self.limits, project_name, key, expected, new)

    def add(self, project_id: str, project_name: str, key: str, amount: bytes) -> bytes:
        with self._committer.write():
            return rules.add(self._table(project_id), self.limits, project_name, key, amount)

    # -- for people (the API) ------------------------------------------------------------------
    def shown(self, project: Project) -> list[dict[str, Any]]:
        """Every value as people see it (plain data as JSON; anything else only as its size)."""
        items = []
        for key in self.keys(project.id):
            blob = self._store.get_value(project.id, key) or b""
            items.append({"key": key, "value": rules.describe(blob), "bytes": len(blob)})
        return items

    def shown_one(self, project: Project, key: str) -> dict[str, Any]:
        blob = self.get(project.id, key)
        if blob is None:
            raise NotFoundError(
                f"project {project.name!r} has no value named {key!r}",
                hint=f"list them: purr values list {project.name}",
            )
        return {"key": key, "value": rules.describe(blob), "bytes": len(blob)}

    def _table(self, project_id: str) -> _ProjectTable:
        return _ProjectTable(self._store, project_id)
