"""The REST API under /api/v1: projects, triggers, events, connections, sessions. Every route is scoped
to the caller's team, and answers once what it wrote is committed (`server/durable.py`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from purrflow import __version__
from purrflow.cron import parse_duration
from purrflow.engine.logs import SessionEnded
from purrflow.errors import AuthError, InvalidInputError
from purrflow.rules.analytics import parse_instant
from purrflow.server import responses
from purrflow.server.deploying import deploy_files
from purrflow.server.deps import (
    Connections,
    CurrentUser,
    Events,
    Operations,
    Projects,
    Sessions,
    Triggers,
    admitted,
    platform_of,
)
from purrflow.server.errors import error_body
from purrflow.server.json_body import CheckedJSONRoute
from purrflow.server.limits import check_data_size
from purrflow.server.schemas import (
    DeleteSessionsRequest,
    DeployRequest,
    RerunSessionRequest,
    SendEventRequest,
    StartSessionRequest,
    StopSessionRequest,
    decode_files,
    iso,
    session_json,
    trigger_json,
)
from purrflow.services.operations import JOURNAL_PAGE, MAX_JOURNAL_PAGE, JournalView, OpenWaitView
from purrflow.services.sessions import DELETE_BATCH, SessionService
from purrflow.store import LogRecord, Session, SessionFilter

router = APIRouter(prefix="/api/v1", route_class=CheckedJSONRoute)


@router.get("/health", tags=["server"])
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.post("/projects/deploy", status_code=201, tags=["projects"])
async def deploy(
    body: DeployRequest, user: CurrentUser, projects: Projects, triggers: Triggers, connections: Connections
) -> dict[str, Any]:
    """Store a deployment. A requirements.txt is installed first, in a thread (it may take minutes; the
    server goes on serving meanwhile); an install that fails refuses the deploy with the installer's
    last lines, and the project's current deployment is untouched."""
    result = await deploy_files(projects, user, decode_files(body.files), name=body.name, migrate=body.migrate)
    project = result.project
    env = result.requirements
    return {
        "project": {"id": project.id, "name": project.name},
        "deployment": {
            "id": result.deployment.id,
            "created_at": iso(result.deployment.created_at),
            "file_count": len(body.files),
        },
        "triggers": [trigger_json(t, project.name, triggers.webhook_url(t)) for t in result.triggers],
        "migrated_sessions": result.migrated_sessions,
        "connections": [
            {"name": c.name, "integration": c.integration, "status": c.status, "inbound_url": c.inbound_url}
            for c in connections.views(project)
        ],
        "requirements": (
            {"env": env.digest, "packages": env.packages, "cached": env.cached, "seconds": round(env.seconds, 3)}
            if env
            else None
        ),
    }


@router.get("/projects", tags=["projects"], response_model=responses.ProjectsOut, **responses.EXACT)
async def list_projects(user: CurrentUser, projects: Projects) -> dict[str, Any]:
    return {
        "projects": [
            {
                "id": info.project.id,
                "name": info.project.name,
                "deployment_id": info.project.deployment_id,
                "deployed_at": iso(info.deployment.created_at) if info.deployment else None,
            }
            for info in projects.of_team(user.team_id)
        ]
    }


@router.delete("/projects/{name}", tags=["projects"])
async def delete_project(
    name: str, user: CurrentUser, projects: Projects, force: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    """Remove a project and everything of it (sessions, triggers, connections, vars, values, events,
    deployments); its webhook URLs answer 404 after. Sessions still under way refuse it (409) unless
    `force`, which stops them first."""
    deleted = projects.delete(user.team_id, name, force=force)
    return {
        "project": deleted.project.name,
        "sessions_deleted": deleted.sessions,
        "sessions_stopped": deleted.stopped,
        "deployments_deleted": deleted.deployments,
    }


@router.get("/triggers", tags=["projects"], response_model=responses.TriggersOut, **responses.EXACT)
async def list_triggers(
    user: CurrentUser, projects: Projects, triggers: Triggers, project: str | None = None
) -> dict[str, Any]:
    found = [projects.named(user.team_id, project)] if project else [i.project for i in projects.of_team(user.team_id)]
    return {
        "triggers": [
            trigger_json(trigger, p.name, triggers.webhook_url(trigger))
            for p in found
            for trigger in triggers.of_project(p)
        ]
    }


@router.post(
    "/events",
    status_code=201,
    tags=["events"],
    response_model=responses.EventSentOut,
    dependencies=[Depends(admitted)],
    **responses.EXACT,
)
async def send_event(body: SendEventRequest, user: CurrentUser, projects: Projects, events: Events) -> dict[str, Any]:
    """Inject an event into a trigger or connection: it starts matching triggers and reaches subscriptions."""
    check_data_size(body.data, "the event's data")
    event, started = events.send(projects.named(user.team_id, body.project), body.source, body.event_type, body.data)
    return {"event_id": event.id, "session_ids": started}


@router.get("/sessions", tags=["sessions"], response_model=responses.SessionsOut, **responses.EXACT)
async def list_sessions(
    user: CurrentUser,
    projects: Projects,
    sessions: Sessions,
    project: str | None = None,
    trigger: str | None = None,
    state: Annotated[list[str] | None, Query(description="one or more states (repeat the parameter)")] = None,
    since: Annotated[str | None, Query(description="created at or after this ISO-8601 time")] = None,
    until: Annotated[str | None, Query(description="created before this ISO-8601 time")] = None,
    id_prefix: Annotated[str, Query(alias="id", description="a prefix of the session id", max_length=64)] = "",
    before: Annotated[str | None, Query(description="the `next` cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """The team's sessions newest first, one page at a time: `next`, when present, is the `before` of the
    following page (keyset paging: deep pages cost what the first does)."""
    found = projects.named(user.team_id, project) if project else None
    filters = SessionFilter(
        states=tuple(state or ()),
        trigger=trigger,
        since=parse_instant(since, "since") if since is not None else None,
        until=parse_instant(until, "until") if until is not None else None,
        id_prefix=id_prefix,
    )
    page = sessions.page(user.team_id, project=found, filters=filters, before=before, limit=limit)
    return {"sessions": [session_json(s) for s in page.sessions], "next": page.next}


@router.post(
    "/sessions",
    status_code=201,
    tags=["sessions"],
    response_model=responses.StartedOut,
    dependencies=[Depends(admitted)],
    **responses.EXACT,
)
async def start_session(
    body: StartSessionRequest, user: CurrentUser, projects: Projects, sessions: Sessions
) -> dict[str, str]:
    check_data_size(body.data, "the session's data")
    check_data_size(body.memo, "the session's memo")
    project = projects.named(user.team_id, body.project)
    return {"session_id": sessions.start(project, body.entrypoint, body.data, memo=body.memo, user_id=user.id)}


@router.get("/sessions/{session_id}", tags=["sessions"], response_model=responses.OneSessionOut, **responses.EXACT)
async def get_session(session_id: str, user: CurrentUser, sessions: Sessions, operations: Operations) -> dict[str, Any]:
    """One session in detail; `waiting` says what a session under way waits for, until when (or null)."""
    session = sessions.get(user.team_id, session_id)
    return {"session": session_json(session, detail=True) | {"waiting": _wait_json(operations.waiting(session))}}


@router.delete("/sessions/{session_id}", tags=["sessions"])
async def delete_session(session_id: str, user: CurrentUser, sessions: Sessions) -> dict[str, Any]:
    """Remove an ended session and all that is its own (journal, logs, prompts, timers, waits, signals);
    one still running or waiting is refused (409): stop it first."""
    return {"deleted": sessions.delete(user.team_id, [session_id])}


@router.post("/sessions/delete", tags=["sessions"])
async def delete_sessions(
    body: DeleteSessionsRequest, user: CurrentUser, projects: Projects, sessions: Sessions
) -> dict[str, Any]:
    """Remove ended sessions: the ones named (all or none, in one commit), or those of a project, of a
    final state, that ended longer ago than `older_than` — in batches of a bounded size, each its own
    commit. `dry_run` counts them instead (`{"matched": n}`)."""
    filters = (body.project, body.older_than, body.state)
    if body.session_ids:
        if any(f is not None for f in filters):
            raise InvalidInputError("name sessions, or filter them (project, older_than, state), not both")
        if body.dry_run:
            raise InvalidInputError("dry_run counts the sessions a filter matches; named sessions are known")
        return {"deleted": sessions.delete(user.team_id, body.session_ids)}
    if all(f is None for f in filters):
        raise InvalidInputError(
            "say which sessions to delete", hint="name them, or give project, older_than or state (e.g. older_than 30d)"
        )
    ended_before = time.time() - (parse_duration(body.older_than, "older_than") if body.older_than else 0.0)
    project_id = projects.named(user.team_id, body.project).id if body.project else None
    if body.dry_run:
        count = sessions.count_ended(
            team_id=user.team_id, ended_before=ended_before, project_id=project_id, state=body.state
        )
        return {"matched": count}
    total = 0
    while True:
        deleted = sessions.delete_ended(
            team_id=user.team_id, ended_before=ended_before, project_id=project_id, state=body.state
        )
        total += deleted
        if deleted < DELETE_BATCH:
            return {"deleted": total}
        await asyncio.sleep(0)  # let this batch commit, and other work run, before the next


@router.post(
    "/sessions/{session_id}/stop", tags=["sessions"], response_model=responses.OneSessionOut, **responses.EXACT
)
async def stop_session(
    session_id: str, user: CurrentUser, sessions: Sessions, body: StopSessionRequest | None = None
) -> dict[str, Any]:
    return {"session": session_json(sessions.stop(user.team_id, session_id, body.reason if body else ""))}


@router.get("/sessions/{session_id}/journal", tags=["sessions"], response_model=responses.JournalOut, **responses.EXACT)
async def session_journal(
    session_id: str,
    user: CurrentUser,
    operations: Operations,
    after: Annotated[int, Query(ge=0, description="the last step of the page before (its `next_after`)")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_JOURNAL_PAGE)] = JOURNAL_PAGE,
) -> dict[str, Any]:
    """The session's steps in order, a page at a time: number, name, kind, arguments, a short summary of the
    result or error (secrets hidden), when each began and was recorded; what a waiting session waits for,
    until when; and `next_after`, the `after` of the next page (null on the last)."""
    return _journal_json(operations.journal(user.team_id, session_id, after=after, limit=limit))


@router.post(
    "/sessions/{session_id}/restart",
    status_code=201,
    tags=["sessions"],
    response_model=responses.RestartedOut,
    dependencies=[Depends(admitted)],
    **responses.EXACT,
)
async def restart_session(
    session_id: str, user: CurrentUser, sessions: Sessions, operations: Operations
) -> dict[str, str]:
    """A new session like an ended one (entry point, event, trigger) on the project's current deployment;
    a session still running or waiting is refused (409): stop it first."""
    old = sessions.get(user.team_id, session_id).id  # the whole id, when a prefix of it was given
    return {"session_id": operations.restart(user.team_id, old, user_id=user.id), "restarted": old}


@router.post("/sessions/{session_id}/rerun", status_code=201, tags=["sessions"], dependencies=[Depends(admitted)])
async def rerun_session(
    session_id: str, body: RerunSessionRequest, user: CurrentUser, sessions: Sessions, operations: Operations
) -> dict[str, Any]:
    """A new session like an ended one, on its deployment, whose steps before `from_step` replay from the
    old journal and the rest run again; a session still running or waiting is refused (409)."""
    old = sessions.get(user.team_id, session_id).id  # the whole id, when a prefix of it was given
    new_id = operations.rerun(user.team_id, old, body.from_step, user_id=user.id)
    return {"session_id": new_id, "rerun_of": old, "from_step": body.from_step}


def _wait_json(wait: OpenWaitView | None) -> dict[str, Any] | None:
    if wait is None:
        return None
    return {
        "seq": wait.seq,
        "kind": wait.kind,
        "waits_for": wait.waits_for,
        "deadline": iso(wait.deadline) if wait.deadline is not None else None,
    }


def _journal_json(view: JournalView) -> dict[str, Any]:
    return {
        "session_id": view.session.id,
        "state": view.session.state,
        "steps": [
            {
                "seq": step.seq,
                "name": step.name,
                "kind": step.kind,
                "outcome": step.outcome,
                "summary": step.summary,
                "recorded_at": iso(step.recorded_at) if step.recorded_at is not None else None,
                "args": step.args,
                "started_at": iso(step.started_at) if step.started_at is not None else None,
                "duration_ms": round(step.duration * 1000, 3) if step.duration is not None else None,
                "attempt": step.attempt,
                "replayed": step.replayed,
            }
            for step in view.steps
        ],
        "waiting": _wait_json(view.waiting),
        "next_after": view.next_after,
    }


def _log_json(record: LogRecord) -> dict[str, Any]:
    return {"seq": record.seq, "ts": record.ts, "stream": record.stream, "text": record.text}


@router.get("/sessions/{session_id}/logs", tags=["sessions"], response_model=responses.LogsOut, **responses.EXACT)
async def session_logs(
    session_id: str, user: CurrentUser, sessions: Sessions, after: Annotated[int, Query(ge=0)] = 0
) -> dict[str, Any]:
    session = sessions.get(user.team_id, session_id)
    return {"logs": [_log_json(r) for r in sessions.log_lines(session, after=after)], "state": session.state}


@router.get("/sessions/{session_id}/logs/stream", tags=["sessions"])
async def stream_logs(
    request: Request, session_id: str, user: CurrentUser, sessions: Sessions, after: Annotated[int, Query(ge=0)] = 0
) -> StreamingResponse:
    """Server-sent events: `log` for each line (history first, then live), `end` with the final state.

    The caller's token is checked again every AUTH_RECHECK_SECONDS: once it no longer authenticates
    (revoked), the stream sends `error` (an AuthError) and closes."""
    session = sessions.get(user.team_id, session_id)
    identity = platform_of(request).identity
    authorization = request.headers.get("authorization", "")

    def still_allowed() -> bool:
        try:
            return identity.authenticate(authorization).id == user.id
        except AuthError:
            return False

    return StreamingResponse(log_events(sessions, session, after, still_allowed), media_type="text/event-stream")


AUTH_RECHECK_SECONDS = 1.0
KEEP_ALIVE_SECONDS = 15.0


async def log_events(
    sessions: SessionService,
    session: Session,
    after: int,
    still_allowed: Callable[[], bool],
    *,
    revoked: Callable[[], dict[str, object]] | None = None,
) -> AsyncIterator[str]:
    """A session's log as server-sent events (the API's stream and the web UI's): `log` for each line after
    `after`, history first, then live, each with its seq as the event id; `end` with the final state.
    `still_allowed` is asked every AUTH_RECHECK_SECONDS; once it says no, `error` (`revoked()`, by default
    a revoked token) ends the stream."""
    loop = asyncio.get_running_loop()
    queue = sessions.watch(session)  # before reading history, so no line falls in between
    try:
        last = after
        for record in sessions.log_lines(session, after=after):
            last = record.seq
            yield sse("log", _log_json(record), event_id=str(record.seq))
        now = sessions.lookup(session.id)
        if now is not None and now.is_final:
            yield sse("end", {"state": now.state})
            return
        next_check = loop.time() + AUTH_RECHECK_SECONDS
        keep_alive = loop.time() + KEEP_ALIVE_SECONDS
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=max(0.0, next_check - loop.time()))
            except TimeoutError:
                item = None
            if loop.time() >= next_check:
                if not still_allowed():
                    yield sse("error", (revoked or _revoked)())
                    return
                next_check = loop.time() + AUTH_RECHECK_SECONDS
            if item is None:
                if loop.time() >= keep_alive:
                    keep_alive = loop.time() + KEEP_ALIVE_SECONDS
                    yield ": keep-alive\n\n"
                continue
            if isinstance(item, SessionEnded):
                yield sse("end", {"state": item.state})
                return
            if item.seq > last:
                last = item.seq
                yield sse("log", _log_json(item), event_id=str(item.seq))
    finally:
        sessions.unwatch(session, queue)


def _revoked() -> dict[str, object]:
    return error_body(
        AuthError.__name__,
        "the token of this stream is unknown or revoked; the stream is closed",
        "use a live token (see `purr tokens list`) and open the stream again",
    )


def sse(event: str, data: dict[str, Any], *, event_id: str | None = None) -> str:
    """One server-sent event; `event_id` is what a reconnecting browser sends back as Last-Event-ID."""
    prefix = f"id: {event_id}\n" if event_id is not None else ""
    return f"{prefix}event: {event}\ndata: {json.dumps(data)}\n\n"


@router.get("/server/stats", tags=["server"])
async def server_stats(request: Request, user: CurrentUser, sessions: Sessions) -> dict[str, Any]:
    """The team's sessions by state; for admins also what the server holds (runner processes, timers)."""
    stats: dict[str, Any] = {"sessions": sessions.counts(user.team_id)}
    if user.role == "admin":
        health = platform_of(request).health()
        stats |= {
            "runners": health.runners,
            "queued": health.queued,
            "timers": health.timers,
            "commits": health.commits,
        }
    return stats
