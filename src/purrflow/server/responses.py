"""What the main routes answer, as pydantic models: the OpenAPI document shows each answer's fields, and a
client generated from it gets types.

The routes still build their answers as dicts (`schemas.py`); these models describe them and never
change them: a route declares one with `response_model_exclude_unset=True`, so a key an answer leaves out
stays out (a session's `event` and `memo` come only with the session itself), and `extra="allow"` passes a
key the model does not name yet unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: How a route declares its answer: the model, and the answer's own keys only.
EXACT: dict[str, Any] = {"response_model_exclude_unset": True}


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class SessionErrorOut(_Answer):
    type: str
    message: str
    traceback: str = ""


class WaitOut(_Answer):
    """What a waiting session waits for, until when."""

    seq: int = Field(description="the step that waits")
    kind: str = Field(description="sleep, signal, event, prompt, …")
    waits_for: str
    deadline: str | None = Field(description="ISO-8601, when the wait times out; null: no timeout")


class SessionOut(_Answer):
    id: str
    project: str
    entrypoint: str
    state: str = Field(description="created, queued, running, waiting, completed, error or stopped")
    trigger: str | None
    parent_id: str | None
    created_at: str
    updated_at: str
    result_repr: str = Field(description="repr() of the result, once completed")
    error: SessionErrorOut | None
    steps: int = Field(description="steps journaled so far")
    deployment_id: str
    rerun_of: str | None = None
    rerun_from: int | None = None
    event: Any = Field(default=None, description="only on GET /sessions/{id}: the event that started it")
    memo: Any = Field(default=None, description="only on GET /sessions/{id}")
    waiting: WaitOut | None = Field(default=None, description="only on GET /sessions/{id}")


class SessionsOut(_Answer):
    sessions: list[SessionOut]
    next: str | None = Field(default=None, description="the cursor of the next page (`before`), if any")


class OneSessionOut(_Answer):
    session: SessionOut


class StartedOut(_Answer):
    session_id: str


class RestartedOut(_Answer):
    session_id: str = Field(description="the new session")
    restarted: str = Field(description="the session it restarts")


class JournalStepOut(_Answer):
    seq: int
    name: str
    kind: str
    outcome: str = Field(description="ok, error or live")
    summary: str
    recorded_at: str | None
    args: str = Field(default="", description="a short summary of the step's arguments")
    started_at: str | None = None
    duration_ms: float | None = None
    attempt: int | None = Field(default=None, description="of an activity with retries")
    replayed: bool = False


class JournalOut(_Answer):
    session_id: str
    state: str
    steps: list[JournalStepOut]
    waiting: WaitOut | None
    next_after: int | None = Field(description="the `after` of the next page; null on the last page")


class LogLineOut(_Answer):
    seq: int
    ts: float = Field(description="seconds since the epoch")
    stream: str = Field(description="stdout, stderr, log, ux or system")
    text: str


class LogsOut(_Answer):
    logs: list[LogLineOut]
    state: str


class ProjectOut(_Answer):
    id: str
    name: str
    deployment_id: str | None
    deployed_at: str | None


class ProjectsOut(_Answer):
    projects: list[ProjectOut]


class TriggerOut(_Answer):
    id: str
    project: str
    name: str
    kind: str = Field(description="webhook, schedule, connection or manual")
    event_type: str | None
    filter: str
    call: str | None
    is_sync: bool
    is_durable: bool
    schedule: str | None
    connection: str | None
    webhook_url: str | None


class TriggersOut(_Answer):
    triggers: list[TriggerOut]


class EventSentOut(_Answer):
    event_id: str
    session_ids: list[str] = Field(description="the sessions it started")
