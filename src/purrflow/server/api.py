"""The REST API under /api/v1: projects, triggers, events, connections, sessions. Every route is scoped
to the caller's team, and answers once what it wrote is committed (`server/durable.py`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from purrflow import __version__
from purrflow.engine.logs import SessionEnded
from purrflow.errors import AuthError
from purrflow.server.deps import (
    Connections,
    CurrentUser,
    Events,
    Operations,
    Projects,
    Sessions,
    Triggers,
    platform_of,
)
from purrflow.server.errors import error_body
from purrflow.server.json_body import CheckedJSONRoute
from purrflow.server.limits import check_data_size
from purrflow.server.schemas import (
    DeployRequest,
    SendEventRequest,
    StartSessionRequest,
    StopSessionRequest,
    decode_files,
    iso,
    session_json,
    trigger_json,
)
from purrflow.services.operations import JournalView
from purrflow.services.sessions import SessionService
from purrflow.store import LogRecord, Session

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
    files = decode_files(body.files)
    staged = projects.stage(user.team_id, files, body.name)
    try:
        staged = await asyncio.to_thread(projects.install_requirements, staged)
    except asyncio.CancelledError:  # the client went away: nothing is stored
        projects.discard(staged)
        raise
    result = projects.deploy(user.team_id, files, name=body.name, migrate=body.migrate, owner_id=user.id, staged=staged)
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


@router.get("/projects", tags=["projects"])
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


@router.get("/triggers", tags=["projects"])
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


@router.post("/events", status_code=201, tags=["events"])
async def send_event(body: SendEventRequest, user: CurrentUser, projects: Projects, events: Events) -> dict[str, Any]:
    """Inject an event into a trigger or connection: it starts matching triggers and reaches subscriptions."""
    check_data_size(body.data, "the event's data")
    event, started = events.send(projects.named(user.team_id, body.project), body.source, body.event_type, body.data)
    return {"event_id": event.id, "session_ids": started}


@router.get("/sessions", tags=["sessions"])
async def list_sessions(
    user: CurrentUser,
    projects: Projects,
    sessions: Sessions,
    project: str | None = None,
    state: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    found = projects.named(user.team_id, project) if project else None
    return {
        "sessions": [session_json(s) for s in sessions.recent(user.team_id, project=found, state=state, limit=limit)]
    }


@router.post("/sessions", status_code=201, tags=["sessions"])
async def start_session(
    body: StartSessionRequest, user: CurrentUser, projects: Projects, sessions: Sessions
) -> dict[str, str]:
    check_data_size(body.data, "the session's data")
    check_data_size(body.memo, "the session's memo")
    project = projects.named(user.team_id, body.project)
    return {"session_id": sessions.start(project, body.entrypoint, body.data, memo=body.memo, user_id=user.id)}


@router.get("/sessions/{session_id}", tags=["sessions"])
async def get_session(session_id: str, user: CurrentUser, sessions: Sessions) -> dict[str, Any]:
    return {"session": session_json(sessions.get(user.team_id, session_id), detail=True)}


@router.post("/sessions/{session_id}/stop", tags=["sessions"])
async def stop_session(
    session_id: str, user: CurrentUser, sessions: Sessions, body: StopSessionRequest | None = None
) -> dict[str, Any]:
    return {"session": session_json(sessions.stop(user.team_id, session_id, body.reason if body else ""))}


@router.get("/sessions/{session_id}/journal", tags=["sessions"])
async def session_journal(session_id: str, user: CurrentUser, operations: Operations) -> dict[str, Any]:
    """The session's steps in order: number, name, kind, a short summary of the result or error (secrets
    hidden), when each was recorded; and what a waiting session waits for, until when."""
    return _journal_json(operations.journal(user.team_id, session_id))


@router.post("/sessions/{session_id}/restart", status_code=201, tags=["sessions"])
async def restart_session(session_id: str, user: CurrentUser, operations: Operations) -> dict[str, str]:
    """A new session like an ended one (entry point, event, trigger) on the project's current deployment;
    a session still running or waiting is refused (409): stop it first."""
    return {"session_id": operations.restart(user.team_id, session_id, user_id=user.id), "restarted": session_id}


def _journal_json(view: JournalView) -> dict[str, Any]:
    wait = view.waiting
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
            }
            for step in view.steps
        ],
        "waiting": (
            {
                "seq": wait.seq,
                "kind": wait.kind,
                "waits_for": wait.waits_for,
                "deadline": iso(wait.deadline) if wait.deadline is not None else None,
            }
            if wait
            else None
        ),
    }


def _log_json(record: LogRecord) -> dict[str, Any]:
    return {"seq": record.seq, "ts": record.ts, "stream": record.stream, "text": record.text}


@router.get("/sessions/{session_id}/logs", tags=["sessions"])
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

    return StreamingResponse(_log_events(sessions, session, after, still_allowed), media_type="text/event-stream")


AUTH_RECHECK_SECONDS = 1.0
KEEP_ALIVE_SECONDS = 15.0


async def _log_events(
    sessions: SessionService, session: Session, after: int, still_allowed: Callable[[], bool]
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    queue = sessions.watch(session)  # before reading history, so no line falls in between
    try:
        last = after
        for record in sessions.log_lines(session, after=after):
            last = record.seq
            yield _sse("log", _log_json(record))
        now = sessions.lookup(session.id)
        if now is not None and now.is_final:
            yield _sse("end", {"state": now.state})
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
                    yield _sse("error", _revoked())
                    return
                next_check = loop.time() + AUTH_RECHECK_SECONDS
            if item is None:
                if loop.time() >= keep_alive:
                    keep_alive = loop.time() + KEEP_ALIVE_SECONDS
                    yield ": keep-alive\n\n"
                continue
            if isinstance(item, SessionEnded):
                yield _sse("end", {"state": item.state})
                return
            if item.seq > last:
                last = item.seq
                yield _sse("log", _log_json(item))
    finally:
        sessions.unwatch(session, queue)


def _revoked() -> dict[str, object]:
    return error_body(
        AuthError.__name__,
        "the token of this stream is unknown or revoked; the stream is closed",
        "use a live token (see `purr tokens list`) and open the stream again",
    )


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


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
