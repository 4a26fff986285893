"""Project vars set from outside the manifest, as a history: each change is a row of its own.

Sessions read the vars as they were when they were created (`vars_as_of`), so a replayed runner gets the
same environment as the first one even after `purr vars set`. Values are sealed at rest; a secret var's
value comes here already encrypted by the vars service (this layer never sees it in clear).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from purrflow.store._db import Database
from purrflow.store.records import FINAL_STATES


@dataclass(frozen=True, slots=True)
class VarRecord:
    name: str
    #: The value (a secret box token when `secret`).
    value: bytes
    secret: bool
    set_at: float


class VarStore(Database):
    def put_var(self, project_id: str, name: str, value: bytes | None, *, secret: bool = False) -> float:
        """Record a var's new value (None: deleted from here on); when it was set. Older values that no
        unfinished session of the project can still read are forgotten, so the history stays short."""
        now = time.time()
        self._exec(
            "INSERT INTO project_vars (project_id, name, set_at, secret, value) VALUES (?, ?, ?, ?, ?)",
            project_id, name, now, int(secret), None if value is None else self._seal(value),
        )  # fmt: skip
        marks = ", ".join("?" * len(FINAL_STATES))
        self._exec(
            "DELETE FROM project_vars WHERE project_id = ? AND name = ? AND id < ("
            " SELECT MAX(id) FROM project_vars WHERE project_id = ? AND name = ? AND set_at <= COALESCE("
            f"  (SELECT MIN(created_at) FROM sessions WHERE project_id = ? AND state NOT IN ({marks})), ?))",
            project_id, name, project_id, name, project_id, *sorted(FINAL_STATES), now,
        )  # fmt: skip
        return now

    def vars_as_of(self, project_id: str, at: float = math.inf) -> dict[str, VarRecord]:
        """Each var set (and not deleted) at the instant `at`, by name; now by default."""
        rows = self._all(
            "SELECT v.name, v.value, v.secret, v.set_at FROM project_vars v"
            " WHERE v.project_id = ? AND v.id = (SELECT MAX(w.id) FROM project_vars w"
            " WHERE w.project_id = v.project_id AND w.name = v.name AND w.set_at <= ?)"
            " AND v.value IS NOT NULL ORDER BY v.name",
            project_id, at if math.isfinite(at) else 1e300,
        )  # fmt: skip
        return {row[0]: VarRecord(row[0], self._open(row[1]), bool(row[2]), float(row[3])) for row in rows}

    def get_var(self, project_id: str, name: str) -> VarRecord | None:
        row = self._one(
            "SELECT name, value, secret, set_at FROM project_vars WHERE project_id = ? AND name = ?"
            " ORDER BY id DESC LIMIT 1",
            project_id, name,
        )  # fmt: skip
        if row is None or row[1] is None:
            return None
        return VarRecord(row[0], self._open(row[1]), bool(row[2]), float(row[3]))
