"""Plain records the store hands out. Frozen dataclasses: values, not live rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FINAL_STATES = frozenset({"completed", "error", "stopped"})
#: `queued`: admitted later, when a runner is free (the server's limit, or its trigger's concurrency).
LIVE_STATES = frozenset({"created", "queued", "running", "waiting"})
#: Every state a session can be in.
SESSION_STATES = FINAL_STATES | LIVE_STATES


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class User:
    id: str
    team_id: str
    username: str
    email: str
    role: str


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: never its value (only its hash is stored)."""

    id: str
    name: str
    username: str
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    team_id: str
    name: str
    deployment_id: str | None
    created_at: float
    owner_id: str | None = None  # who deployed it first: webhook and schedule sessions run for them


@dataclass(frozen=True, slots=True)
class Deployment:
    id: str
    project_id: str
    manifest: dict[str, Any]
    created_at: float
    #: The SHA-256 of its requirements.txt: its runners import from `<data dir>/envs/<env>` (None: no file).
    env: str | None = None


@dataclass(frozen=True, slots=True)
class Trigger:
    id: str
    project_id: str
    name: str
    slug: str | None
    kind: str
    spec: dict[str, Any]

    @property
    def call(self) -> str | None:
        value = self.spec.get("call")
        return str(value) if value else None

    @property
    def is_sync(self) -> bool:
        return bool(self.spec.get("is_sync"))


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    project_id: str
    source: str
    event_type: str
    data: dict[str, Any]
    created_at: float


@dataclass(frozen=True, slots=True)
class SessionError:
    type: str
    message: str
    traceback: str = ""


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    project_id: str
    deployment_id: str
    entrypoint: str
    trigger_name: str | None
    event_id: str | None
    parent_id: str | None
    event: dict[str, Any]
    memo: dict[str, Any]
    durable: bool
    state: str
    result: bytes | None
    result_repr: str
    error: SessionError | None
    steps: int
    created_at: float
    updated_at: float
    project_name: str = field(default="")
    user_id: str | None = None  # whom the session runs for
    runner_deaths: int = 0  # runners that died before it finished (each death replays it, a bounded number of times)
    active_seconds: float = 0.0  # time run outside waits, in earlier runners (its wall-clock timeout counts it)
    rerun_of: str | None = None  # the session this one reruns from step `rerun_from` (its steps before were copied)
    rerun_from: int | None = None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True, slots=True)
class LogRecord:
    seq: int
    ts: float
    stream: str
    text: str
    position: int = 0


@dataclass(frozen=True, slots=True)
class Timer:
    session_id: str
    seq: int
    name: str
    fire_at: float
