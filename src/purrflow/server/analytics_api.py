"""`/api/v1/analytics/events` and `/api/v1/insights`: the team's analytics events and their DORA metrics.

CI systems post deployment and change events here the way they post to CTO.ai's ingestion endpoint
(`{"event_name": "deployment", "event_action": "success", "repo": …, "commit": …}` at the top level
works as well as `{"tags", "event", "metadata"}`); sessions add theirs with `sdk.track`. Windows are
[start, end) in ISO-8601, the last 30 days when not given.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from purrflow.engine.analytics import check_track, event_json, iso, parse_window
from purrflow.engine.insights import CHANGE_LOOKBACK, DAY, compute_insights
from purrflow.errors import InvalidInputError
from purrflow.server.api import CurrentUser, engine_of

router = APIRouter(prefix="/api/v1", tags=["analytics"])

DEFAULT_DAYS = 30
#: Enough for years of one team's deployments; insights over more should use a shorter window.
MAX_INSIGHT_EVENTS = 200_000
#: Fields of CTO.ai's ingestion body that name the sender, not the event: the token decides the team.
_ENVELOPE = ("team_id",)


class TrackRequest(BaseModel):
    """`{tags, event, metadata}`; any other top-level field is metadata too (CTO.ai's flat body)."""

    model_config = ConfigDict(extra="allow")

    tags: list[str] = Field(default_factory=list, description='e.g. ["deploy", "prod"]')
    event: str = Field(default="", description="the event's name")
    metadata: Any = Field(
        default=None,
        description='a JSON object, kept flattened at the top level: {"event_name": "deployment", '
        '"event_action": "succeeded", "repo": "shop", "commit": "…", "environment": "prod"}',
    )


def _window(start: str | None, end: str | None) -> tuple[float, float]:
    return parse_window(start, end, now=time.time(), default_span=DEFAULT_DAYS * DAY)


@router.post("/analytics/events", status_code=201)
async def track_event(body: TrackRequest, request: Request, user: CurrentUser) -> dict[str, Any]:
    """Store one analytics event for your team (400 says what is wrong with it)."""
    extra = {k: v for k, v in (body.model_extra or {}).items() if k not in _ENVELOPE}
    metadata = body.metadata
    if extra:
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInputError("metadata must be a JSON object", hint="or leave it out and send fields flat")
        clashes = sorted(set(extra) & set(metadata or {}))
        if clashes:
            raise InvalidInputError(f"{', '.join(clashes)} given both at the top level and in metadata")
        metadata = {**extra, **(metadata or {})}
    flat = check_track(body.tags, body.event, metadata)
    engine = engine_of(request)
    with engine.committer.write():
        record = engine.store.add_analytics_event(user.team_id, flat["event"], flat["tags"], flat, user_id=user.id)
    await engine.committer.flushed()
    return {"id": record.id, "event": event_json(record)}


@router.get("/analytics/events")
async def list_events(
    request: Request,
    user: CurrentUser,
    start: Annotated[str | None, Query(description="ISO-8601; default: 30 days before end")] = None,
    end: Annotated[str | None, Query(description="ISO-8601, exclusive; default: now")] = None,
    event: Annotated[str | None, Query(description="only events of this name")] = None,
    tag: Annotated[str | None, Query(description="only events with this tag")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Your team's events in [start, end), oldest first; past `limit`, the newest ones (`truncated`)."""
    low, high = _window(start, end)
    found = engine_of(request).store.analytics_events(user.team_id, low, high, event=event, tag=tag, limit=limit + 1)
    return {
        "start": iso(low),
        "end": iso(high),
        "events": [event_json(record) for record in found[-limit:]],
        "truncated": len(found) > limit,
    }


@router.get("/insights")
async def insights(
    request: Request,
    user: CurrentUser,
    start: Annotated[str | None, Query(description="ISO-8601; default: 30 days before end")] = None,
    end: Annotated[str | None, Query(description="ISO-8601, exclusive; default: now")] = None,
    repo: Annotated[str | None, Query(description="only this repo's deployments")] = None,
    by_repo: Annotated[bool, Query(description="also each repo's metrics")] = False,
) -> dict[str, Any]:
    """DORA metrics of your team's deployments in [start, end); each says why when it cannot be known."""
    low, high = _window(start, end)
    store = engine_of(request).store
    found = store.analytics_events(user.team_id, low - CHANGE_LOOKBACK, high, limit=MAX_INSIGHT_EVENTS + 1)
    if len(found) > MAX_INSIGHT_EVENTS:
        raise InvalidInputError(
            f"more than {MAX_INSIGHT_EVENTS} events fall in the window", hint="ask for a shorter window"
        )
    events = ({**record.data, "timestamp": record.ts} for record in found)  # numbers: no ISO round trip
    return compute_insights(events, low, high, repo=repo, by_repo=by_repo).to_dict()
