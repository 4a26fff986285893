"""The API's bodies (pydantic at the edge) and how records become JSON."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from purrflow.engine.webhooks import scrub_text
from purrflow.errors import InvalidInputError
from purrflow.store import Session, Trigger


class DeployRequest(BaseModel):
    name: str | None = Field(default=None, description="project name; defaults to the manifest's")
    files: dict[str, str] = Field(description="relative POSIX path → base64 content")
    migrate: bool = Field(default=False, description="move unfinished sessions to this deployment")


class StartSessionRequest(BaseModel):
    project: str
    entrypoint: str = Field(
        description="file.py:function, ops:<command or pipeline> of an ops.yml, or the name of a trigger"
    )
    data: dict[str, Any] = Field(default_factory=dict)
    memo: dict[str, Any] = Field(default_factory=dict)


class SendEventRequest(BaseModel):
    project: str
    source: str = Field(description="a trigger or connection of the project")
    event_type: str = Field(description="e.g. message, issue_comment, post")
    data: dict[str, Any] = Field(default_factory=dict)


class ConnectionVarsRequest(BaseModel):
    vars: dict[str, str | None] = Field(description="field → value; null removes the field")


class StopSessionRequest(BaseModel):
    reason: str = ""


class RerunSessionRequest(BaseModel):
    from_step: int = Field(description="the first step that runs again; the steps before it replay")


class DeleteSessionsRequest(BaseModel):
    session_ids: list[str] = Field(default_factory=list, max_length=1000, description="these ended sessions")
    project: str | None = Field(default=None, description="or: the ended sessions of this project")
    older_than: str | None = Field(default=None, description="that ended longer ago than this, e.g. 30d or 12h")
    state: str | None = Field(default=None, description="in this final state: completed, error or stopped")
    dry_run: bool = Field(default=False, description="only count what would be deleted")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def decode_files(files: dict[str, str]) -> dict[str, bytes]:
    decoded: dict[str, bytes] = {}
    for path, content in files.items():
        try:
            decoded[path] = base64.b64decode(content, validate=True)
        except ValueError:
            raise InvalidInputError(f"file {path!r} is not valid base64") from None
    return decoded


def jsonable(value: Any) -> Any:
    """Event data may hold bytes (webhook bodies): show them as text. Text with lone surrogates (stored
    before JSON from outside was scrubbed on the way in) is shown with U+FFFD, so it can be encoded."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub_text(str(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def session_json(session: Session, *, detail: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": session.id,
        "project": session.project_name,
        "entrypoint": session.entrypoint,
        "state": session.state,
        "trigger": session.trigger_name,
        "parent_id": session.parent_id,
        "created_at": iso(session.created_at),
        "updated_at": iso(session.updated_at),
        "result_repr": session.result_repr,
        "error": (
            {
                "type": session.error.type,
                "message": session.error.message,
                "traceback": session.error.traceback,
            }
            if session.error
            else None
        ),
        "steps": session.steps,
        "deployment_id": session.deployment_id,
        "rerun_of": session.rerun_of,
        "rerun_from": session.rerun_from,
    }
    if detail:
        body["event"] = jsonable(session.event)
        body["memo"] = jsonable(session.memo)
    return body


def trigger_json(trigger: Trigger, project: str, webhook_url: str | None) -> dict[str, Any]:
    spec = trigger.spec
    return {
        "id": trigger.id,
        "project": project,
        "name": trigger.name,
        "kind": trigger.kind,
        "event_type": spec.get("event_type"),
        "filter": spec.get("filter") or "",
        "call": spec.get("call"),
        "is_sync": bool(spec.get("is_sync")),
        "is_durable": bool(spec.get("is_durable", True)),
        "schedule": spec.get("schedule"),
        "connection": spec.get("connection"),
        "webhook_url": webhook_url,
    }
