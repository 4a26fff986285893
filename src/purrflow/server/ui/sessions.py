"""The sessions pages: the team's sessions (filtered, paged by cursor, live), one session (its facts, live
log, children, journal timeline, pending prompts) and what people do to one: stop, restart, rerun.

Live updates come from the server, never from the browser polling: `/sessions/stream` sends a `session`
event for each of the team's sessions that is created or moves on (SessionService announces creations
and ends at once; the orchestrator's own moves — queued, running, waiting — are read by `updated_at` at
each check), and `/sessions/{id}/logs/stream` is the API's log stream behind the login cookie.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from purrflow.errors import AuthError, InvalidInputError, PurrflowError
from purrflow.rules.analytics import parse_instant
from purrflow.server.api import AUTH_RECHECK_SECONDS, KEEP_ALIVE_SECONDS, log_events, sse
from purrflow.server.deps import Operations, Projects, Prompts, Sessions, platform_of
from purrflow.server.errors import error_body
from purrflow.server.ui.auth import Csrf, UiUser
from purrflow.server.ui.render import UiRoute, ago, iso_time, page, session_token
from purrflow.services.operations import SessionOperations
from purrflow.services.prompts import PromptService
from purrflow.services.sessions import SessionService
from purrflow.store import SESSION_STATES, Session, SessionFilter, User

router = APIRouter(route_class=UiRoute)

PAGE_SIZE = 50
#: Journal steps a session page shows at once (the rest a link away: a page stays quick at 10,000 steps).
JOURNAL_STEPS = 500


def _filters(
    trigger: str, state: list[str], since: str, until: str, id_prefix: str, *, parent_id: str | None = None
) -> SessionFilter:
    """The listing's filter from the form's fields (empty fields filter nothing)."""
    return SessionFilter(
        states=tuple(s for s in state if s),
        trigger=trigger.strip() or None,
        since=parse_instant(since, "since") if since.strip() else None,
        until=parse_instant(until, "until") if until.strip() else None,
        id_prefix=id_prefix.strip(),
        parent_id=parent_id,
    )


def row_json(session: Session, *, matches: bool) -> dict[str, Any]:
    """What the live sessions page needs to insert or update one row (`static/live.js`)."""
    return {
        "id": session.id,
        "url": f"/sessions/{session.id}",
        "project": session.project_name,
        "trigger": session.trigger_name or "",
        "entrypoint": session.entrypoint,
        "state": session.state,
        "created_at": iso_time(session.created_at),
        "created_ago": ago(session.created_at),
        "matches": matches,
    }


@router.get("/sessions", response_class=HTMLResponse)
async def sessions_page(
    request: Request,
    user: UiUser,
    sessions: Sessions,
    projects: Projects,
    project: str = "",
    trigger: str = "",
    state: Annotated[list[str] | None, Query()] = None,
    since: str = "",
    until: str = "",
    id_prefix: Annotated[str, Query(alias="id", max_length=64)] = "",
    before: str = "",
) -> HTMLResponse:
    """The team's sessions newest first; the first page also shows new ones as they come (live.js)."""
    rendered_at = time.time()  # before reading: a change after it reaches the page by the stream
    query = {"project": project, "trigger": trigger, "state": state or [], "since": since, "until": until}
    query = {"id": id_prefix} | query
    context: dict[str, Any] = {
        "projects": [info.project.name for info in projects.of_team(user.team_id)],
        "states": sorted(SESSION_STATES),
        "filters": query,
        "filtered": any(query.values()),
        "first_page": not before,
        "newest_url": f"/sessions?{_query(query)}",
        "stream_url": f"/sessions/stream?{_query(query | {'after': repr(rendered_at)})}",
    }
    try:
        filters = _filters(trigger, state or [], since, until, id_prefix)
        found = projects.named(user.team_id, project) if project else None
        listing = sessions.page(user.team_id, project=found, filters=filters, before=before or None, limit=PAGE_SIZE)
    except PurrflowError as err:  # a bad filter: the form again, saying what is wrong with it
        return page(request, user, "sessions.html", status_code=400, sessions=[], older_url=None,
                    error=err.message, hint=err.hint, **context)  # fmt: skip
    older = f"/sessions?{_query(query | {'before': listing.next})}" if listing.next else None
    return page(request, user, "sessions.html", sessions=listing.sessions, older_url=older, **context)


def _query(fields: dict[str, Any]) -> str:
    """A query string of the non-empty fields (a list is a repeated field)."""
    return urlencode({name: value for name, value in fields.items() if value}, doseq=True)


@router.get("/sessions/stream", response_model=None)
async def sessions_stream(
    request: Request,
    user: UiUser,
    sessions: Sessions,
    projects: Projects,
    after: Annotated[float, Query(description="changes after this Unix time (the page's rendered_at)")] = 0.0,
    project: str = "",
    trigger: str = "",
    state: Annotated[list[str] | None, Query()] = None,
    since: str = "",
    until: str = "",
    id_prefix: Annotated[str, Query(alias="id", max_length=64)] = "",
    session: Annotated[str, Query(description="only this session's changes")] = "",
) -> StreamingResponse:
    """Server-sent `session` events: each of the team's sessions created or moved on after `after` (a
    reconnecting browser resumes from Last-Event-ID), with whether it matches the page's filters."""
    resume = request.headers.get("last-event-id", "")
    try:
        changed_after = float(resume) if resume else after
    except ValueError:
        changed_after = after
    filters = _filters(trigger, state or [], since, until, id_prefix)
    project_id = projects.named(user.team_id, project).id if project else None

    def wanted(found: Session) -> bool | None:
        """None: not this page's business at all; else whether the listing would show it."""
        if session and found.id != session:
            return None
        return filters.matches(found) and project_id in (None, found.project_id)

    events = _session_changes(sessions, user.team_id, changed_after, wanted, _still_logged_in(request, user))
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-store"})


async def _session_changes(
    sessions: SessionService,
    team_id: str,
    changed_after: float,
    wanted: Callable[[Session], bool | None],
    still_allowed: Callable[[], bool],
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    queue = sessions.watch_changes(team_id)  # before the first read, so no change falls in between
    try:
        keep_alive = loop.time() + KEEP_ALIVE_SECONDS
        while True:
            for found in sessions.changed_since(team_id, changed_after):
                changed_after = max(changed_after, found.updated_at)
                matches = wanted(found)
                if matches is not None:
                    yield sse("session", row_json(found, matches=matches), event_id=repr(changed_after))
            try:
                await asyncio.wait_for(queue.get(), timeout=AUTH_RECHECK_SECONDS)
                while not queue.empty():  # one read serves every announcement so far
                    queue.get_nowait()
            except TimeoutError:
                if not still_allowed():
                    yield sse("error", _logged_out())
                    return
            if loop.time() >= keep_alive:
                keep_alive = loop.time() + KEEP_ALIVE_SECONDS
                yield ": keep-alive\n\n"
    finally:
        sessions.unwatch_changes(team_id, queue)


def _still_logged_in(request: Request, user: User) -> Callable[[], bool]:
    """Asked while a stream is open: the login of its cookie still is `user`'s (not logged out, revoked)."""
    identity = platform_of(request).identity
    token = session_token(request)

    def check() -> bool:
        try:
            return identity.user_of_token(token).id == user.id
        except AuthError:
            return False

    return check


def _logged_out() -> dict[str, object]:
    return error_body(AuthError.__name__, "your login ended; live updates stopped", "log in again and reload the page")


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
async def session_page(
    request: Request,
    session_id: str,
    user: UiUser,
    sessions: Sessions,
    operations: Operations,
    prompts: Prompts,
    after: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """`after`: the journal from the step after it (a long journal is shown JOURNAL_STEPS at a time)."""
    return session_view(request, user, session_id, sessions, operations, prompts, steps_after=after)


def session_view(
    request: Request,
    user: User,
    session_id: str,
    sessions: SessionService,
    operations: SessionOperations,
    prompts: PromptService,
    *,
    status_code: int = 200,
    steps_after: int = 0,
    **context: Any,
) -> HTMLResponse:
    """A session with everything about it; also re-rendered, with the refusal, after a bad form."""
    session = sessions.get(user.team_id, session_id)
    journal = operations.journal(user.team_id, session.id, after=steps_after, limit=JOURNAL_STEPS)
    lines = sessions.log_lines(session)
    children = sessions.recent(user.team_id, filters=SessionFilter(parent_id=session.id), limit=PAGE_SIZE)
    return page(
        request,
        user,
        "session.html",
        status_code=status_code,
        session=session,
        journal=journal,
        steps_after=steps_after,
        lines=lines,
        last_line=lines[-1].seq if lines else 0,
        children=children,
        prompts=prompts.open(user.team_id, session.id),
        rendered_at=time.time(),
        duration=took,
        **context,
    )


def took(seconds: float) -> str:
    """A step's duration as people read it: 12 ms, 3.4 s, 2 min 5 s."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


@router.get("/sessions/{session_id}/logs/stream", response_model=None)
async def session_log_stream(
    request: Request, session_id: str, user: UiUser, sessions: Sessions, after: Annotated[int, Query(ge=0)] = 0
) -> StreamingResponse:
    """The session's log as server-sent events, the API's stream behind the login cookie."""
    session = sessions.get(user.team_id, session_id)
    resume = request.headers.get("last-event-id", "")
    start = int(resume) if resume.isdigit() else after
    events = log_events(sessions, session, start, _still_logged_in(request, user), revoked=_logged_out)
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.post("/sessions/{session_id}/stop", dependencies=[Csrf], response_model=None)
async def stop_session(
    session_id: str, user: UiUser, sessions: Sessions, reason: Annotated[str, Form(max_length=500)] = ""
) -> RedirectResponse:
    stopped = sessions.stop(user.team_id, session_id, reason.strip())
    return RedirectResponse(f"/sessions/{stopped.id}", status_code=303)


@router.post("/sessions/{session_id}/restart", dependencies=[Csrf], response_model=None)
async def restart_session(session_id: str, user: UiUser, operations: Operations) -> RedirectResponse:
    """A new session like this ended one, on the project's current deployment; the page shows it."""
    return RedirectResponse(f"/sessions/{operations.restart(user.team_id, session_id, user_id=user.id)}", 303)


@router.post("/sessions/{session_id}/rerun", dependencies=[Csrf], response_model=None)
async def rerun_session(
    session_id: str, user: UiUser, operations: Operations, from_step: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """A new session replaying this one's steps before `from_step` and running the rest again."""
    if not from_step.strip().isdigit():
        raise InvalidInputError(f"{from_step!r} is not a step number", hint="use a step's “rerun from here” button")
    new_id = operations.rerun(user.team_id, session_id, int(from_step), user_id=user.id)
    return RedirectResponse(f"/sessions/{new_id}", status_code=303)
