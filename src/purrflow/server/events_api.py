"""`/api/v1/events`: the events a team's projects received — listed a page at a time, one in detail with
its data and the sessions it started, and dispatched again. (Sending one in is `POST /api/v1/events`.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from purrflow.server.deps import CurrentUser, Events, Projects, admitted
from purrflow.server.json_body import CheckedJSONRoute
from purrflow.server.schemas import iso, jsonable
from purrflow.services.events import MAX_EVENTS_PAGE
from purrflow.store import Event

router = APIRouter(prefix="/api/v1/events", route_class=CheckedJSONRoute, tags=["events"])


def event_json(event: Event, project: str) -> dict[str, Any]:
    return {
        "id": event.id,
        "project": project,
        "source": event.source,
        "event_type": event.event_type,
        "created_at": iso(event.created_at),
    }


@router.get("")
async def list_events(
    user: CurrentUser,
    projects: Projects,
    events: Events,
    project: str | None = None,
    source: Annotated[str | None, Query(description="a trigger or connection of the project")] = None,
    before: Annotated[str | None, Query(description="the `next` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 50,
) -> dict[str, Any]:
    """The team's events newest first, without their data; `next`, when present, is the `before` of the
    following page."""
    found = projects.named(user.team_id, project) if project else None
    page = events.recent(user.team_id, project=found, source=source, limit=limit, before=before)
    names = {project_id: projects.get(project_id).name for project_id in {e.project_id for e in page}}
    return {
        "events": [event_json(e, names[e.project_id]) for e in page],
        "next": page[-1].id if len(page) == limit else None,
    }


@router.get("/{event_id}")
async def get_event(event_id: str, user: CurrentUser, projects: Projects, events: Events) -> dict[str, Any]:
    """One event with its data (as received; read through the store's encryption) and its sessions."""
    event = events.get(user.team_id, event_id)
    body = event_json(event, projects.get(event.project_id).name)
    return {"event": body | {"data": jsonable(event.data), "session_ids": events.started_by(event)}}


@router.post("/{event_id}/redispatch", status_code=201, dependencies=[Depends(admitted)])
async def redispatch_event(event_id: str, user: CurrentUser, events: Events) -> dict[str, Any]:
    """The event received again: the triggers that match it now start, the subscriptions live now get it."""
    event = events.get(user.team_id, event_id)  # the whole id, when a prefix of it was given
    return {"event_id": event.id, "session_ids": events.redispatch(user.team_id, event.id)}
