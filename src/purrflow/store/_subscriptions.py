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


class SubscriptionStore(Database):
    def add_subscription(self, session_id: str, project_id: str, source: str, filter: str) -> Subscription:
        sub = Subscription(new_id("sub"), session_id, project_id, source, filter)
        self._exec(
            "INSERT INTO subscriptions (id, session_id, project_id, source, filter, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            sub.id, session_id, project_id, source, filter, time.time(),
        )  # fmt: skip
        return sub

    def end_subscription(self, subscription_id: str) -> None:
        self._exec("UPDATE subscriptions SET active = 0 WHERE id = ?", subscription_id)

    def live_subscriptions(self) -> list[Subscription]:
        rows = self._all("SELECT id, session_id, project_id, source, filter FROM subscriptions WHERE active = 1")
        return [Subscription(*row) for row in rows]
