"""The team's analytics events (`sdk.track`, the ingestion API) and the DORA metrics over them.

CI systems post deployment and change events the way they post to CTO.ai's ingestion endpoint
(`{"event_name": "deployment", "event_action": "success", "repo": …, "commit": …}` at the top level works
as well as `{"tags", "event", "metadata"}`); sessions add theirs with `sdk.track`. The API's windows are
[start, end) in ISO-8601, the last 30 days when not given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from purrflow.engine.commit import GroupCommitter
from purrflow.errors import InvalidInputError
from purrflow.rules.analytics import MAX_SESSION_EVENTS, check_session_events, check_track, iso, parse_window
from purrflow.services.insights import CHANGE_LOOKBACK, DAY, compute_insights
from purrflow.store import AnalyticsEvent, Store

DEFAULT_DAYS = 30
#: Enough for years of one team's deployments; insights over more should use a shorter window.
MAX_INSIGHT_EVENTS = 200_000
#: Fields of CTO.ai's ingestion body that name the sender, not the event: the token decides the team.
_ENVELOPE = ("team_id",)


@dataclass(frozen=True, slots=True)
class EventPage:
    start: float
    end: float
    events: list[dict[str, Any]]
    truncated: bool


def event_json(record: AnalyticsEvent) -> dict[str, Any]:
    """How one event is answered: the flattened body plus when it was stored."""
    return {**record.data, "timestamp": iso(record.ts)}


class AnalyticsService:
    def __init__(self, store: Store, committer: GroupCommitter, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._committer = committer
        self._clock = clock

    def track(
        self,
        team_id: str,
        tags: Any,
        event: Any,
        metadata: Any,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
    ) -> AnalyticsEvent:
        """Check and store one event (`track(tags, event, metadata)`'s rules)."""
        body = check_track(tags, event, metadata)
        with self._committer.write(atomic=False):
            return self._store.add_analytics_event(
                team_id, body["event"], body["tags"], body, session_id=session_id, user_id=user_id
            )

    def ingest(
        self, team_id: str, tags: Any, event: Any, metadata: Any, extra: Mapping[str, Any], *, user_id: str
    ) -> AnalyticsEvent:
        """An event posted to the API: fields beside tags/event/metadata are metadata too (CTO.ai's flat body)."""
        flat = {k: v for k, v in extra.items() if k not in _ENVELOPE}
        if flat:
            if metadata is not None and not isinstance(metadata, dict):
                raise InvalidInputError("metadata must be a JSON object", hint="or leave it out and send fields flat")
            clashes = sorted(set(flat) & set(metadata or {}))
            if clashes:
                raise InvalidInputError(f"{', '.join(clashes)} given both at the top level and in metadata")
            metadata = {**flat, **(metadata or {})}
        return self.track(team_id, tags, event, metadata, user_id=user_id)

    def for_session(self, team_id: str, start: Any, end: Any) -> list[dict[str, Any]]:
        """`sdk.events(start, end)`: the window whole, oldest first, or refused (it is journaled whole)."""
        low, high = parse_window(start, end, now=self._clock())
        found = self._store.analytics_events(team_id, low, high, limit=MAX_SESSION_EVENTS + 1)
        check_session_events(len(found))
        return [event_json(record) for record in found]

    def page(
        self, team_id: str, start: str | None, end: str | None, *, event: str | None, tag: str | None, limit: int
    ) -> EventPage:
        """The API's list: events in [start, end), oldest first; past `limit`, the newest ones."""
        low, high = self._window(start, end)
        found = self._store.analytics_events(team_id, low, high, event=event, tag=tag, limit=limit + 1)
        return EventPage(low, high, [event_json(record) for record in found[-limit:]], len(found) > limit)

    def insights(
        self, team_id: str, start: str | None, end: str | None, *, repo: str | None, by_repo: bool
    ) -> dict[str, Any]:
        """DORA metrics of the team's deployments in [start, end); each says why when it cannot be known."""
        low, high = self._window(start, end)
        found = self._store.analytics_events(team_id, low - CHANGE_LOOKBACK, high, limit=MAX_INSIGHT_EVENTS + 1)
        if len(found) > MAX_INSIGHT_EVENTS:
            raise InvalidInputError(
                f"more than {MAX_INSIGHT_EVENTS} events fall in the window", hint="ask for a shorter window"
            )
        events = ({**record.data, "timestamp": record.ts} for record in found)  # numbers: no ISO round trip
        return compute_insights(events, low, high, repo=repo, by_repo=by_repo).to_dict()

    def _window(self, start: str | None, end: str | None) -> tuple[float, float]:
        return parse_window(start, end, now=self._clock(), default_span=DEFAULT_DAYS * DAY)
