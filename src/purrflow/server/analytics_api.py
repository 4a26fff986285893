"""`/api/v1/analytics/events` and `/api/v1/insights`: the team's analytics events and their DORA metrics.

CI systems post deployment and change events here the way they post to CTO.ai's ingestion endpoint
(`{"event_name": "deployment", "event_action": "success", "repo": …, "commit": …}` at the top level
works as well as `{"tags", "event", "metadata"}`); sessions add theirs with `sdk.track`. Windows are
[start, end) in ISO-8601, the last 30 days when not given.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from purrflow.rules.analytics import iso
from purrflow.server.deps import Analytics, CurrentUser
from purrflow.server.json_body import CheckedJSONRoute
from purrflow.services.analytics import event_json

router = APIRouter(prefix="/api/v1", route_class=CheckedJSONRoute, tags=["analytics"])


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


@router.post("/analytics/events", status_code=201)
async def track_event(body: TrackRequest, user: CurrentUser, analytics: Analytics) -> dict[str, Any]:
    """Store one analytics event for your team (400 says what is wrong with it)."""
    record = analytics.ingest(
        user.team_id, body.tags, body.event, body.metadata, body.model_extra or {}, user_id=user.id
    )
    return {"id": record.id, "event": event_json(record)}


@router.get("/analytics/events")
async def list_events(
    user: CurrentUser,
    analytics: Analytics,
    start: Annotated[str | None, Query(description="ISO-8601; default: 30 days before end")] = None,
    end: Annotated[str | None, Query(description="ISO-8601, exclusive; default: now")] = None,
    event: Annotated[str | None, Query(description="only events of this name")] = None,
    tag: Annotated[str | None, Query(description="only events with this tag")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Your team's events in [start, end), oldest first; past `limit`, the newest ones (`truncated`)."""
    page = analytics.page(user.team_id, start, end, event=event, tag=tag, limit=limit)
    return {"start": iso(page.start), "end": iso(page.end), "events": page.events, "truncated": page.truncated}


@router.get("/insights")
async def insights(
    user: CurrentUser,
    analytics: Analytics,
    start: Annotated[str | None, Query(description="ISO-8601; default: 30 days before end")] = None,
    end: Annotated[str | None, Query(description="ISO-8601, exclusive; default: now")] = None,
    repo: Annotated[str | None, Query(description="only this repo's deployments")] = None,
    by_repo: Annotated[bool, Query(description="also each repo's metrics")] = False,
) -> dict[str, Any]:
    """DORA metrics of your team's deployments in [start, end); each says why when it cannot be known."""
    return analytics.insights(user.team_id, start, end, repo=repo, by_repo=by_repo)
