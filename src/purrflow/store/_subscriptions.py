"""Subscriptions: which session wants which source's events, from when on."""

from __future__ import annotations

import time
from dataclasses import dataclass

from purrflow.store._db import Database, new_id


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    session_id: str
    project_id: str
    source: str
    filter: str


#: Moves a project's subscription version on (`subscription_version`), in the transaction that changes them.
BUMP_VERSION = (
    "INSERT INTO subscription_versions (project_id, version) VALUES (?, 1)"
    " ON CONFLICT (project_id) DO UPDATE SET version = subscription_versions.version + 1"
)


class SubscriptionStore(Database):
    def add_subscription(self, session_id: str, project_id: str, source: str, filter: str) -> Subscription:
        sub = Subscription(new_id("sub"), session_id, project_id, source, filter)
        self._exec(
            "INSERT INTO subscriptions (id, session_id, project_id, source, filter, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            sub.id, session_id, project_id, source, filter, time.time(),
        )  # fmt: skip
        self._exec(BUMP_VERSION, project_id)
        return sub

    def end_subscription(self, subscription_id: str) -> None:
        row = self._one("SELECT project_id FROM subscriptions WHERE id = ? AND active = 1", subscription_id)
        if row is not None:
            self._exec("UPDATE subscriptions SET active = 0 WHERE id = ?", subscription_id)
            self._exec(BUMP_VERSION, row[0])

    def live_subscriptions(self, project_id: str | None = None) -> list[Subscription]:
        """Every live subscription, or one project's."""
        columns = "SELECT id, session_id, project_id, source, filter FROM subscriptions WHERE active = 1"
        rows = self._all(columns) if project_id is None else self._all(f"{columns} AND project_id = ?", project_id)
        return [Subscription(*row) for row in rows]

    def subscription_version(self, project_id: str) -> int:
        """How often the project's live subscriptions changed: a process that indexed them at another version
        reads them again (another process may have subscribed since)."""
        row = self._one("SELECT version FROM subscription_versions WHERE project_id = ?", project_id)
        return int(row[0]) if row is not None else 0
