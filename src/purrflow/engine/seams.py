"""The engine's seams: the interfaces by which sessions are driven, and the callbacks parts announce with.

Orchestrators (`purrflow.orchestrators`) drive sessions: they start runner processes through a
`Launcher`, talk to each `RunnerProcess`, and ask a `SessionHost` what a session's messages mean. The
services implement `SessionHost`; the composition root (`purrflow.platform`) wires one to the other,
so neither imports the other and an orchestrator can be replaced (a Temporal one, say) without touching
the rules of sessions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from purrflow.store import Session, SessionError
from purrflow.wire import HostOps, JournalRecord, Prime, StartSession, WaitSpec

#: A session was created (or must run again): drive it once the write that made it is committed.
SessionCallback = Callable[[str], None]
#: A journaled wait of a session ended with this (pickled) result: answer its runner, or resume it.
WaitEnded = Callable[[str, int, bytes], None]
#: Call back at wall-clock time `at` about (session id, step).
ScheduleTimer = Callable[[str, int, float], None]


@dataclass(frozen=True, slots=True)
class RunnerExit:
    """How a runner process ended: its exit code (negative: the signal that ended it) and CPU time;
    None where it is not known (the process that could tell died first)."""

    code: int | None = None
    cpu_seconds: float | None = None


class RunnerProcess(Protocol):
    """One runner: a process serving one session over a framed stream."""

    @property
    def pid(self) -> int: ...
    @property
    def reader(self) -> asyncio.StreamReader: ...
    @property
    def writer(self) -> asyncio.StreamWriter: ...
    @property
    def warm(self) -> bool:
        """Primed already (its shape's project imported): its `StartSession` carries no `Prime`."""
        ...

    def kill(self) -> None: ...
    async def exited(self) -> RunnerExit:
        """Wait until the process has ended; how it ended."""
        ...


class Launcher(Protocol):
    """Starts runner processes (a zygote's forks, or fresh interpreters)."""

    async def launch(self, prime: Prime | None = None) -> RunnerProcess:
        """A runner for a session of this shape: a warm one when one is ready, else a cold one (and
        maybe a shape made warm for the next sessions)."""
        ...

    @property
    def warm_shapes(self) -> int:
        """Shapes with a warm zygote ready."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """How a session ended, as its runner (or the host) reports it."""

    state: str  # "completed" | "error" | "stopped"
    result: bytes | None = None
    result_repr: str = ""
    error: SessionError | None = None
    #: What its parent receives (`{"completed", "value", "error"}`, pickled); derived when None.
    completion: bytes | None = None


@dataclass(frozen=True, slots=True)
class Admission:
    """What decides when a session may start: its team (teams take turns) and its trigger's concurrency."""

    team_id: str
    #: (project id, trigger name) of the trigger whose `concurrency` bounds it, if it has one.
    trigger: tuple[str, str] | None = None
    concurrency: int | None = None


class SessionHost(Protocol):
    """What a session's messages mean: the services' side of driving a session.

    Each method runs inside the caller's write batch, so what it writes commits together with the step
    it answers; a `PurrflowError` it raises is the step's failure, which the handler sees raised."""

    def prepare(self, session: Session) -> StartSession:
        """The runner's start: deployment folder, journal (in clear; its first page, when it is long),
        environment. Marks it running."""
        ...

    def journal_after(self, session_id: str, seq: int) -> list[JournalRecord]:
        """The next page of the journal of a session being started: the steps after `seq`."""
        ...

    def timeout(self, session: Session) -> float | None:
        """How long the session may run, outside waits, before it ends in error (None: no limit)."""
        ...

    def host_ops(self, session: Session) -> HostOps:
        """The host operations, bound to this session."""
        ...

    def admission(self, session: Session) -> Admission:
        """Its team, and its trigger's concurrency."""
        ...

    def claim_place(self, session_id: str, trigger: tuple[str, str], concurrency: int) -> bool:
        """Whether the session may start under its trigger's `concurrency` (fewer of its sessions are
        running or waiting, in every process); if so, it is under way from now and counts for the next."""
        ...

    def open_wait(self, session: Session, seq: int, wait: WaitSpec) -> bytes | None:
        """Open a signal, event or prompt wait: its journaled result if it ended at once, else None
        (the result comes later through `WaitEnded`)."""
        ...

    def finish(self, session_id: str, end: SessionEnd) -> None:
        """Record the session's end and announce it."""
        ...

    def keep_files(self, session_id: str) -> None:
        """The runner has reached a step (or its end): what it wrote to the session's folders is kept with
        it, where they are carried between workers (else nothing is done). A `PurrflowError` (the folders are
        past their limits) fails the step, or ends the session."""
        ...

    def runner_gone(self, session_id: str) -> None:
        """The session's runner has ended: what this process held for it alone may go."""
        ...
