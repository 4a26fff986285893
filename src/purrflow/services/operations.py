"""Operating sessions after the fact: reading a session's journal step by step, restarting one, rerunning
one from a step, and the retention sweep that deletes ended sessions after a while.

All are scoped to a team through `SessionService.get` (another team's session does not exist for the
caller). The journal is shown, never replayed: results are pickles written by user code, so they are read
with an unpickler that builds only plain values and stands in for every other class by its name — no code
of a project runs in the server to show it, and a class the server cannot import is no error. A step that
can carry a secret (a secret read, an answer to a secret or password prompt) shows "(hidden)".
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import contextlib
import datetime
import decimal
import fractions
import io
import logging
import pickle
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from purrflow import errors
from purrflow.engine.commit import GroupCommitter
from purrflow.engine.deploy import DeploymentFiles, check_entrypoint
from purrflow.errors import InvalidInputError, NotFoundError, PurrflowError, SessionStateError
from purrflow.rules.prompts import SECRET_TYPES
from purrflow.services.projects import ProjectService
from purrflow.services.sessions import DELETE_BATCH, SessionService
from purrflow.store import LIVE_STATES, JournalRow, Session, Store
from purrflow.wire.steps import StepName, WaitKind

log = logging.getLogger("purrflow.services.operations")

#: The longest and the shortest the retention sweep rests between two sweeps that deleted no full batch.
MAX_SWEEP_PAUSE = 60.0
MIN_SWEEP_PAUSE = 1.0
#: Steps a journal page holds unless asked otherwise, and at most.
JOURNAL_PAGE = 1000
MAX_JOURNAL_PAGE = 10_000
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
    """One finished step as people read it. `outcome` is "ok", "error", "retried" (an attempt that failed
    and was tried again after the backoff sleep that follows it), or "live" (a result too large to
    journal: the step runs again on replay)."""

    seq: int
    name: str
    kind: str  # "activity", "host", "wait" or "state"
    outcome: str
    summary: str
    recorded_at: float | None
    #: A short summary of the step's arguments ("" when none were recorded).
    args: str = ""
    #: When the step began (runner steps: the runner's clock; host calls: when the host received it).
    started_at: float | None = None
    #: Seconds from `started_at` until its outcome was journaled.
    duration: float | None = None
    #: The attempt number under a retry policy (None: the step has none).
    attempt: int | None = None
    #: Whether the session's latest runner answered the step from the journal instead of running it.
    replayed: bool = False


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
    #: Where the next page starts (the `after` to ask for), or None when this page is the last.
    next_after: int | None = None


class SessionOperations:
    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        *,
        sessions: SessionService,
        projects: ProjectService,
        deployments: DeploymentFiles,
    ) -> None:
        self._store = store
        self._committer = committer
        self._sessions = sessions
        self._projects = projects
        self._deployments = deployments

    # -- the journal ---------------------------------------------------------------------------
    def journal(self, team_id: str, session_id: str, *, after: int = 0, limit: int = JOURNAL_PAGE) -> JournalView:
        """The team's session's steps after step `after`, in order and at most `limit` of them, each with a
        short summary of its result or error. A page at a time: a session of many thousand steps is read
        (and unsealed, and summarised) only as far as someone looks; `next_after` says where to go on."""
        if not 1 <= limit <= MAX_JOURNAL_PAGE:
            raise InvalidInputError(f"a journal page holds 1 to {MAX_JOURNAL_PAGE} steps, not {limit}")
        session = self._sessions.get(team_id, session_id)
        prompts = {p.seq: p for p in self._store.session_prompts(session.id)}
        hidden = {seq for seq, p in prompts.items() if p.spec.get("type") in SECRET_TYPES}
        runner_started = self._store.runner_started_at(session.id)
        rows = self._store.read_journal(session.id, after=after, limit=limit + 1)
        more = len(rows) > limit
        steps = [
            _step(row, runner_started, hide=row.seq in hidden or _always_hidden(row.name, row.seq, prompts))
            for row in rows[:limit]
        ]
        waiting = None
        if not session.is_final:
            waiting = self._waiting(session, self._store.last_step(session.id), prompts)
        return JournalView(session, steps, waiting, steps[-1].seq if more else None)

    def waiting(self, session: Session) -> OpenWaitView | None:
        """What a session under way waits for, and until when (None: it waits for nothing, or has ended)."""
        if session.is_final:
            return None
        return self._waiting(session, session.steps, {p.seq: p for p in self._store.session_prompts(session.id)})

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
    def rerun(self, team_id: str, session_id: str, from_step: int, *, user_id: str | None = None) -> str:
        """A new session like an ended one (entry point, event, trigger, memo) whose journal is a copy of
        the old one's steps before `from_step`: those replay from their recorded outcomes, and the steps
        from `from_step` on run again (Temporal's reset, DBOS's fork). The copy and the new session are
        one commit, so the new session never runs with part of its journal.

        It runs on the old session's deployment, not the current one: the copied outcomes were recorded
        by that code, and only that code is sure to take the same steps to `from_step` again (other code
        would fail as non-deterministic, or worse, agree by accident). To run a fix, `restart` instead.

        What steps before `from_step` did comes along as their outcomes only: an answered prompt, an
        elapsed sleep, a received signal replay as their results; a subscription or a child started
        there is not live again. A session still under way is refused, as `restart` refuses it."""
        old = self._sessions.get(team_id, session_id)
        if old.state in LIVE_STATES:
            raise SessionStateError(
                f"session {old.id} is still {old.state}; only an ended session can be rerun",
                hint=f"stop it first: `purr sessions stop {old.id}`",
            )
        last = old.steps
        if not 1 <= from_step <= last + 1:
            raise InvalidInputError(
                f"session {old.id} has steps 1 to {last}; it cannot be rerun from step {from_step}"
                if last
                else f"session {old.id} took no steps; it can only be rerun from step 1, not {from_step}",
                hint=f"pass --from-step between 1 and {last + 1} (see `purr sessions journal {old.id}`)",
            )
        if self._projects.deployment(old.deployment_id) is None:
            raise NotFoundError(
                f"deployment {old.deployment_id} that session {old.id} ran on no longer exists",
                hint=f"start it again on the current deployment: `purr sessions restart {old.id}`",
            )
        with self._committer.write():
            new_id = self._recreate(old, deployment_id=old.deployment_id, user_id=user_id)
            self._store.copy_steps(old.id, new_id, from_step)
        return new_id

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
        return self._recreate(old, deployment_id=project.deployment_id, user_id=user_id)

    def _recreate(self, old: Session, *, deployment_id: str, user_id: str | None) -> str:
        """A new session with the old one's entry point, event, trigger and memo (joins the write batch)."""
        event = old.event
        data = event.get("data")
        return self._sessions.create(
            self._projects.get(old.project_id),
            old.entrypoint,
            data if isinstance(data, dict) else {},
            deployment_id=deployment_id,
            event_type=event.get("event_type"),
            event_id=event.get("event_id"),
            trigger_name=old.trigger_name,
            memo=old.memo,
            durable=old.durable,
            user_id=user_id or old.user_id,
        )


class RetentionSweep:
    """Deletes ended sessions once they have been over for their retention: their project's own (its
    manifest's `retention:`) or else the server's (`purr up --retention`; None: they are kept).

    It runs beside the server, never in a request. Each sweep deletes, for each retention that applies,
    the oldest of the sessions it has let go a bounded batch at a time, each batch its own commit; a full
    batch means more are due, so the next sweep follows once the event loop has committed it and served
    everything else waiting. A sweep that fails is logged and tried again at the next."""

    def __init__(
        self,
        sessions: SessionService,
        projects: ProjectService,
        *,
        keep_seconds: float | None,
        batch: int = DELETE_BATCH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._projects = projects
        self._keep = keep_seconds
        self._batch = batch
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def sweep_once(self) -> tuple[int, float]:
        """One batch for each retention; how many sessions went, and the seconds until the next sweep:
        often enough that none outlives its retention by more than half of it (or a second), at least once
        a minute."""
        now = self._clock()
        due: list[tuple[str | None, float]] = list(self._projects.retentions().items())
        if self._keep is not None:
            due.append((None, self._keep))  # the projects without a retention of their own
        counts = [
            self._sessions.delete_ended(
                ended_before=now - keep, project_id=project_id, server_retention=project_id is None, limit=self._batch
            )
            for project_id, keep in due
        ]
        if any(count >= self._batch for count in counts):
            return sum(counts), 0.0
        return sum(counts), max(MIN_SWEEP_PAUSE, min([MAX_SWEEP_PAUSE, *(keep / 2 for _, keep in due)]))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                deleted, pause = self.sweep_once()
            except Exception:  # the database refused: say so, and try again at the next sweep
                log.exception("the retention sweep failed")
                deleted, pause = 0, MAX_SWEEP_PAUSE
            if deleted:
                log.info("retention: deleted %d ended session(s)", deleted)
            await asyncio.sleep(pause)


def _always_hidden(name: str, seq: int, prompts: dict[int, Any]) -> bool:
    """A secret read is always hidden, and so is an answer whose question is unknown (it may be secret)."""
    return name == StepName.SECRET_GET or (name == StepName.PROMPT and seq not in prompts)


def _kind(name: str) -> str:
    if name in _WAIT_STEPS:
        return "wait"
    if name in _STATE_STEPS:
        return "state"
    return "host" if name in _STEP_NAMES else "activity"


def _step(row: JournalRow, runner_started: float | None, *, hide: bool) -> JournalStep:
    """How `row` reads; it was answered by replay if it was recorded before the latest runner started."""
    details, at = row.details, row.recorded_at
    duration = at - details.started_at if at is not None and details.started_at is not None else None
    attempt = details.attempt or None
    if not row.payload and not row.failed:  # the runner's live marker: the result was too large to journal
        return JournalStep(
            row.seq, row.name, _kind(row.name), "live", "(not journaled: it runs again on replay)", at,
            details.args, details.started_at, duration, attempt, replayed=False,
        )  # fmt: skip
    outcome = "retried" if details.retried else "error" if row.failed else "ok"
    replayed = at is not None and runner_started is not None and at < runner_started
    return JournalStep(
        row.seq, row.name, _kind(row.name), outcome, HIDDEN if hide else summarize(row.payload, row.failed), at,
        details.args, details.started_at, duration, attempt, replayed,
    )  # fmt: skip


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
