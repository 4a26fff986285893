"""The events pages: the team's events newest first (by project and source, paged by cursor), one event
with its raw payload and the sessions it started, and redispatching it (`EventService.redispatch`)."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from purrflow.server.deps import Events, Projects
from purrflow.server.schemas import jsonable
from purrflow.server.ui.auth import Csrf, UiUser
from purrflow.server.ui.render import UiRoute, page

router = APIRouter(route_class=UiRoute)

PAGE_SIZE = 50


@router.get("/events", response_class=HTMLResponse)
async def events_page(
    request: Request,
    user: UiUser,
    events: Events,
    projects: Projects,
    project: str = "",
    source: str = "",
    before: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    names = {info.project.id: info.project.name for info in projects.of_team(user.team_id)}
    found = projects.named(user.team_id, project) if project else None
    listed = events.recent(
        user.team_id, project=found, source=source.strip() or None, before=before or None, limit=PAGE_SIZE + 1
    )
    query = {name: value for name, value in (("project", project), ("source", source.strip())) if value}
    older = urlencode(query | {"before": listed[PAGE_SIZE - 1].id}) if len(listed) > PAGE_SIZE else None
    return page(
        request,
        user,
        "events.html",
        events=listed[:PAGE_SIZE],
        project_names=names,
        filters={"project": project, "source": source},
        first_page=not before,
        newest_url=f"/events?{urlencode(query)}",
        older_url=f"/events?{older}" if older else None,
    )


@router.get("/events/{event_id}", response_class=HTMLResponse)
async def event_page(
    request: Request,
    event_id: str,
    user: UiUser,
    events: Events,
    projects: Projects,
    started: Annotated[list[str] | None, Query()] = None,
) -> HTMLResponse:
    """The event, its payload as pretty JSON, the sessions it started; after a redispatch, the new ones."""
    event = events.get(user.team_id, event_id)
    return page(
        request,
        user,
        "event.html",
        event=event,
        project=projects.get(event.project_id).name,
        payload=json.dumps(jsonable(event.data), indent=2, sort_keys=True, ensure_ascii=False),
        sessions=events.started_by(event),
        redispatched=started,
    )


@router.post("/events/{event_id}/redispatch", dependencies=[Csrf], response_model=None)
async def redispatch_event(event_id: str, user: UiUser, events: Events) -> RedirectResponse:
    """Receive the event again (today's triggers and subscriptions); the event page lists what it started."""
    started = events.redispatch(user.team_id, event_id)
    query = urlencode({"started": started or [""]}, doseq=True)
    return RedirectResponse(f"/events/{event_id}?{query}", status_code=303)
