"""Operating sessions after the fact: reading a session's journal step by step, and restarting one.

Both are scoped to a team through `SessionService.get` (another team's session does not exist for the
caller). The journal is shown, never replayed: results are pickles written by user code, so they are read
with an unpickler that builds only plain values and stands in for every other class by its name — no code
of a project runs in the server to show it, and a class the server cannot import is no error. A step that
can carry a secret (a secret read, an answer to a secret or password prompt) shows "(hidden)".
"""

from __future__ import annotations

import builtins
import collections
import datetime
import decimal
import fractions
import io
import pickle
import uuid
from dataclasses import dataclass
from typing import Any

from purrflow import errors
from purrflow.engine.deploy import DeploymentFiles, check_entrypoint
from purrflow.errors import InvalidInputError, NotFoundError, PurrflowError, SessionStateError
from purrflow.rules.prompts import SECRET_TYPES
from purrflow.services.projects import ProjectService
from purrflow.services.sessions import SessionService
from purrflow.store import LIVE_STATES, Session, Store
from purrflow.wire.steps import StepName, WaitKind

#: How much of a result's repr a journal entry shows.
SUMMARY_CHARS = 200
HIDDEN = "(hidden)"

_WAIT_STEPS = frozenset(
    {StepName.SLEEP, StepName.WAIT_FOR_SIGNAL, StepName.NEXT_SIGNAL, StepName.NEXT_EVENT, StepName.PROMPT}
)
_STATE_STEPS = frozenset({StepName.STATE_GET, StepName.STATE_GET_ALL, StepName.STATE_SET})
_STEP_NAMES = frozenset(StepName)


@dataclass(frozen=True, slots=True)
class JournalStep:
    """One finished step as people read it. `outcome` is "ok", "error", or "live" (a result too large to
    journal: the step runs again on replay)."""

    seq: int
    name: str
    kind: str  # "activity", "host", "wait" or "state"
    outcome: str
    summary: str
    recorded_at: float | None


@dataclass(frozen=True, slots=True)
class OpenWaitView:
    """What a waiting session waits for at step `seq`, and until when (None: no deadline)."""

    seq: int
    kind: str
    waits_for: str
    deadline: float | None


@dataclass(frozen=True, slots=True)
class JournalView:
    session: Session
    steps: list[JournalStep]
    waiting: OpenWaitView | None


class SessionOperations:
    def __init__(
        self, store: Store, *, sessions: SessionService, projects: ProjectService, deployments: DeploymentFiles
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._projects = projects
        self._deployments = deployments

    # -- the journal ---------------------------------------------------------------------------
    def journal(self, team_id: str, session_id: str) -> JournalView:
        """The team's session's steps in order, each with a short summary of its result or error."""
        session = self._sessions.get(team_id, session_id)
        prompts = {p.seq: p for p in self._store.session_prompts(session.id)}
        hidden = {seq for seq, p in prompts.items() if p.spec.get("type") in SECRET_TYPES}
        steps = [
            _step(seq, name, payload, failed, at, hide=seq in hidden or _always_hidden(name, seq, prompts))
            for seq, name, payload, failed, at in self._store.read_journal_times(session.id)
        ]
        return JournalView(
            session, steps, self._waiting(session, len(steps), prompts) if not session.is_final else None
        )

    def _waiting(self, session: Session, done: int, prompts: dict[int, Any]) -> OpenWaitView | None:
        wait = self._store.session_wait(session.id)
        if wait is not None:
            names = ", ".join(wait.names)
            what = f"an event ({names})" if wait.kind == WaitKind.EVENT else f"a signal ({names})"
            return OpenWaitView(wait.seq, wait.kind, what, wait.deadline)
        for seq, prompt in prompts.items():
            if prompt.answered_at is None and seq > done:
                return OpenWaitView(seq, WaitKind.PROMPT, f"an answer to prompt {prompt.id}", None)
        for timer in self._store.session_timers(session.id):
            if timer.seq > done:
                return OpenWaitView(timer.seq, WaitKind.SLEEP, "its sleep to end", timer.fire_at)
        return None

    # -- restarting ----------------------------------------------------------------------------
    def restart(self, team_id: str, session_id: str, *, user_id: str | None = None) -> str:
        """A new session with the old one's entry point, event and trigger, on the project's current
        deployment (so a fix deployed since is what runs). A session still under way is refused: two
        sessions of the same event running at once would repeat its side effects."""
        old = self._sessions.get(team_id, session_id)
        if old.state in LIVE_STATES:
            raise SessionStateError(
                f"session {old.id} is still {old.state}; only an ended session can be restarted",
                hint=f"stop it first: `purr sessions stop {old.id}`",
            )
        project = self._projects.get(old.project_id)
        if project.deployment_id is None:
            raise NotFoundError(f"project {project.name!r} has no deployment", hint="run `purr deploy` first")
        try:
            check_entrypoint(self._deployments.ensure(project.deployment_id), old.entrypoint)
        except PurrflowError as err:
            raise InvalidInputError(
                f"session {old.id} ran {old.entrypoint!r}, which is not in the current deployment: {err.message}",
                hint=f"deploy a version of {project.name!r} that has it, or start another with `purr sessions start`",
            ) from None
        event = old.event
        data = event.get("data")
        return self._sessions.create(
            project,
            old.entrypoint,
            data if isinstance(data, dict) else {},
            event_type=event.get("event_type"),
            event_id=event.get("event_id"),
            trigger_name=old.trigger_name,
            memo=old.memo,
            durable=old.durable,
            user_id=user_id or old.user_id,
        )


def _always_hidden(name: str, seq: int, prompts: dict[int, Any]) -> bool:
    """A secret read is always hidden, and so is an answer whose question is unknown (it may be secret)."""
    return name == StepName.SECRET_GET or (name == StepName.PROMPT and seq not in prompts)


def _kind(name: str) -> str:
    if name in _WAIT_STEPS:
        return "wait"
    if name in _STATE_STEPS:
        return "state"
    return "host" if name in _STEP_NAMES else "activity"


def _step(seq: int, name: str, payload: bytes, failed: bool, at: float | None, *, hide: bool) -> JournalStep:
    if not payload and not failed:  # the runner's live marker: the result was too large to journal
        return JournalStep(seq, name, _kind(name), "live", "(not journaled: it runs again on replay)", at)
    outcome = "error" if failed else "ok"
    return JournalStep(seq, name, _kind(name), outcome, HIDDEN if hide else summarize(payload, failed), at)


def summarize(payload: bytes, failed: bool = False) -> str:
    """A short, readable form of a pickled result or exception, without running any project code."""
    try:
        value = _SafeUnpickler(io.BytesIO(payload)).load()
    except Exception as err:  # any broken or hostile pickle is shown, not raised
        return f"(a pickled value of {len(payload)} bytes that cannot be shown: {type(err).__name__})"
    try:
        if failed and isinstance(value, errors.RemoteError):
            text = f"{value.type_name}: {value.message}"
        elif failed and isinstance(value, BaseException):
            text = f"{type(value).__name__}: {value}"
        else:
            text = repr(value)
    except Exception as err:  # a repr that fails is no reason to fail the whole journal
        text = f"(cannot be shown: {type(err).__name__})"
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


class _Opaque:
    """Stands in for a class the journal viewer does not build: keeps only its name and arguments."""

    _name = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> _Opaque:
        made = object.__new__(cls)
        made._args = args
        return made

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args

    def __setstate__(self, state: Any) -> None:
        pass

    def __repr__(self) -> str:
        return f"{self._name}({', '.join(repr(a) for a in self._args)})"

    _args: tuple[Any, ...]


_SAFE: dict[str, frozenset[str]] = {
    "builtins": frozenset(
        {"set", "frozenset", "complex", "bytearray", "slice", "range", "bytes", "str", "int", "float", "bool"}
        | {name for name, obj in vars(builtins).items() if isinstance(obj, type) and issubclass(obj, BaseException)}
    ),
    "collections": frozenset({"OrderedDict", "deque", "Counter", "defaultdict"}),
    "datetime": frozenset({"date", "datetime", "time", "timedelta", "timezone"}),
    "decimal": frozenset({"Decimal"}),
    "fractions": frozenset({"Fraction"}),
    "uuid": frozenset({"UUID", "SafeUUID"}),
    "purrflow.errors": frozenset(
        {"_rebuild_error", "_rebuild_remote"}
        | {name for name, obj in vars(errors).items() if isinstance(obj, type) and issubclass(obj, BaseException)}
    ),
}
_MODULES = {
    "builtins": builtins,
    "collections": collections,
    "datetime": datetime,
    "decimal": decimal,
    "fractions": fractions,
    "uuid": uuid,
    "purrflow.errors": errors,
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in _SAFE.get(module, ()):
            return getattr(_MODULES[module], name)
        return type(name, (_Opaque,), {"_name": f"{module}.{name}"})
