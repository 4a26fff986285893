"""The REST API under /api/v1. Every route is scoped to the caller's team."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from purrflow import __version__
from purrflow.engine.deploy import check_entrypoint
from purrflow.engine.engine import Engine
from purrflow.engine.logs import SessionEnded
from purrflow.errors import InvalidInputError, NotFoundError
from purrflow.server.auth import current_user
from purrflow.server.schemas import (
    ConnectionVarsRequest,
    DeployRequest,
    SendEventRequest,
    StartSessionRequest,
    StopSessionRequest,
    decode_files,
    iso,
    session_json,
    trigger_json,
)
from purrflow.store import LogRecord, Project, Session, User

router = APIRouter(prefix="/api/v1")
CurrentUser = Annotated[User, Depends(current_user)]


def engine_of(request: Request) -> Engine:
    engine = request.app.state.engine
    assert isinstance(engine, Engine)
    return engine


def project_named(engine: Engine, user: User, name: str) -> Project:
    project = engine.store.get_project_by_name(user.team_id, name)
    if project is None:
        raise NotFoundError(f"no project named {name!r}", hint="deploy it with `purr deploy`, or check the name")
    return project


def session_of(engine: Engine, user: User, session_id: str) -> Session:
    session = engine.store.get_session(session_id)
    project = engine.store.get_project(session.project_id) if session else None
    if session is None or project is None or project.team_id != user.team_id:
        raise NotFoundError(f"no session {session_id!r}", hint="list sessions with `purr sessions list`")
    return session


@router.get("/health", tags=["server"])
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.post("/projects/deploy", status_code=201, tags=["projects"])
async def deploy(body: DeployRequest, request: Request, user: CurrentUser) -> dict[str, Any]:
    engine = engine_of(request)
    result = engine.deploy(
        user.team_id, decode_files(body.files), name=body.name, migrate=body.migrate, owner_id=user.id
    )
    await engine.committer.flushed()
    project = result.project
    return {
        "project": {"id": project.id, "name": project.name},
        "deployment": {
            "id": result.deployment.id,
            "created_at": iso(result.deployment.created_at),
            "file_count": len(body.files),
        },
        "triggers": [_trigger(engine, t, project.name) for t in result.triggers],
        "migrated_sessions": result.migrated_sessions,
    }


def _trigger(engine: Engine, trigger: Any, project: str) -> dict[str, Any]:
    return trigger_json(trigger, project, engine.webhook_url(trigger.slug) if trigger.slug else None)


@router.get("/projects", tags=["projects"])
async def list_projects(request: Request, user: CurrentUser) -> dict[str, Any]:
    engine = engine_of(request)
    projects = engine.store.list_projects(user.team_id)
    deployed = {p.id: engine.store.get_deployment(p.deployment_id) if p.deployment_id else None for p in projects}
    return {
        "projects": [
            {
                "id": p.id,
                "name": p.name,
                "deployment_id": p.deployment_id,
                "deployed_at": iso(deployed[p.id].created_at) if deployed[p.id] else None,  # type: ignore[union-attr]
            }
            for p in projects
        ]
    }


@router.get("/triggers", tags=["projects"])
async def list_triggers(request: Request, user: CurrentUser, project: str | None = None) -> dict[str, Any]:
    engine = engine_of(request)
    projects = [project_named(engine, user, project)] if project else engine.store.list_projects(user.team_id)
    return {
        "triggers": [
            _trigger(engine, trigger, p.name) for p in projects for trigger in engine.store.list_triggers(p.id)
        ]
    }


@router.post("/events", status_code=201, tags=["events"])
async def send_event(body: SendEventRequest, request: Request, user: CurrentUser) -> dict[str, Any]:
    """Inject an event into a trigger or connection: it starts matching triggers and reaches subscriptions."""
    engine = engine_of(request)
    project = project_named(engine, user, body.project)
    event, started = engine.receive_event(project, body.source, body.event_type, body.data)
    await engine.committer.flushed()
    return {"event_id": event.id, "session_ids": started}


@router.get("/connections", tags=["projects"])
async def list_connections(project: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    """A project's connections and the names of their fields (values are not shown)."""
    engine = engine_of(request)
    found = project_named(engine, user, project)
    fields = engine.store.connection_vars(found.id)
    return {"connections": [{"name": name, "fields": sorted(values)} for name, values in fields.items()]}


@router.patch("/connections/{name}", tags=["projects"])
async def set_connection_vars(
    name: str, project: str, body: ConnectionVarsRequest, request: Request, user: CurrentUser
) -> dict[str, Any]:
    """Set fields of a connection; sessions see them as `<connection>__<field>` environment variables."""
    engine = engine_of(request)
    found = project_named(engine, user, project)
    bad = [key for key in body.vars if not key or not key.replace("_", "").isalnum()]
    if bad:
        raise InvalidInputError(f"connection field names must be letters, digits and '_': {', '.join(map(repr, bad))}")
    with engine.committer.write():
        known = engine.store.set_connection_vars(found.id, name, body.vars)
    if not known:
        raise NotFoundError(f"project {project!r} has no connection named {name!r}", hint="declare it in purrflow.yaml")
    await engine.committer.flushed()
    return {"name": name, "fields": sorted(engine.store.connection_vars(found.id)[name])}


@router.get("/sessions", tags=["sessions"])
async def list_sessions(
    request: Request,
    user: CurrentUser,
    project: str | None = None,
    state: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    engine = engine_of(request)
    project_id = project_named(engine, user, project).id if project else None
    sessions = engine.store.list_sessions(user.team_id, project_id=project_id, state=state, limit=limit)
    return {"sessions": [session_json(s) for s in sessions]}


@router.post("/sessions", status_code=201, tags=["sessions"])
async def start_session(body: StartSessionRequest, request: Request, user: CurrentUser) -> dict[str, str]:
    engine = engine_of(request)
    project = project_named(engine, user, body.project)
    if project.deployment_id is None:
        raise NotFoundError(f"project {project.name!r} has no deployment", hint="run `purr deploy` first")
    named = {t.name: t for t in engine.store.list_triggers(project.id) if t.call}
    trigger = named.get(body.entrypoint)
    entrypoint = trigger.call if trigger is not None and trigger.call else body.entrypoint
    check_entrypoint(engine.deployments.ensure(project.deployment_id), entrypoint)
    session_id = engine.create_session(
        project,
        entrypoint,
        body.data,
        memo=body.memo,
        user_id=user.id,
        trigger_name=trigger.name if trigger is not None else None,
    )
    await engine.committer.flushed()
    return {"session_id": session_id}


@router.get("/sessions/{session_id}", tags=["sessions"])
async def get_session(session_id: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    return {"session": session_json(session_of(engine_of(request), user, session_id), detail=True)}


@router.post("/sessions/{session_id}/stop", tags=["sessions"])
async def stop_session(
    session_id: str, request: Request, user: CurrentUser, body: StopSessionRequest | None = None
) -> dict[str, Any]:
    engine = engine_of(request)
    session_of(engine, user, session_id)
    session = await engine.stop_session(session_id, body.reason if body else "")
    return {"session": session_json(session)}


def _log_json(record: LogRecord) -> dict[str, Any]:
    return {"seq": record.seq, "ts": record.ts, "stream": record.stream, "text": record.text}


@router.get("/sessions/{session_id}/logs", tags=["sessions"])
async def session_logs(
    session_id: str, request: Request, user: CurrentUser, after: Annotated[int, Query(ge=0)] = 0
) -> dict[str, Any]:
    engine = engine_of(request)
    session = session_of(engine, user, session_id)
    return {
        "logs": [_log_json(r) for r in engine.store.read_logs(session_id, after=after)],
        "state": session.state,
    }


@router.get("/sessions/{session_id}/logs/stream", tags=["sessions"])
async def stream_logs(
    session_id: str, request: Request, user: CurrentUser, after: Annotated[int, Query(ge=0)] = 0
) -> StreamingResponse:
    """Server-sent events: `log` for each line (history first, then live), `end` with the final state."""
    engine = engine_of(request)
    session_of(engine, user, session_id)
    return StreamingResponse(_log_events(engine, session_id, after), media_type="text/event-stream")


async def _log_events(engine: Engine, session_id: str, after: int) -> AsyncIterator[str]:
    queue = engine.logs.subscribe(session_id)  # before reading history, so no line falls in between
    try:
        last = after
        for record in engine.store.read_logs(session_id, after=after):
            last = record.seq
            yield _sse("log", _log_json(record))
        session = engine.store.get_session(session_id)
        if session is not None and session.is_final:
            yield _sse("end", {"state": session.state})
            return
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=15)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if isinstance(item, SessionEnded):
                yield _sse("end", {"state": item.state})
                return
            if item.seq > last:
                last = item.seq
                yield _sse("log", _log_json(item))
    finally:
        engine.logs.unsubscribe(session_id, queue)


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@router.get("/server/stats", tags=["server"])
async def server_stats(request: Request, user: CurrentUser) -> dict[str, Any]:
    """The team's sessions by state; for admins also what the engine holds (runner processes, timers)."""
    engine = engine_of(request)
    stats: dict[str, Any] = {"sessions": engine.store.count_sessions_by_state(user.team_id)}
    if user.role == "admin":
        stats |= {"runners": engine.live_runners, "timers": len(engine.timers), "commits": engine.committer.commits}
    return stats
