"""The `temporal` orchestrator: each session a Temporal workflow (`temporal_workflow.py`), run a stretch at a
time by whichever worker takes the activity.

Every purrflow process of a scaled platform has one. An API server (`purr up --role api`) only announces:
a new session starts its workflow, a wait that ended signals it, a stop cancels it. A worker (`purr worker`)
also runs the activities, each stretch in its own runners through a `LocalOrchestrator` that keeps no
timers and no hot waits — Temporal's timers and signals hold every wait, so nothing waits in a process that
may die. `purr up --orchestrator temporal` without a role is both.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.notices import Notices
from purrflow.errors import PurrflowError
from purrflow.orchestrators.admission import Overload
from purrflow.orchestrators.local import LocalOrchestrator
from purrflow.orchestrators.temporal_schedules import ScheduleTicks
from purrflow.orchestrators.temporal_workflow import (
    DRIVE,
    TASK_QUEUE,
    WAKE,
    WORKFLOW,
    Drive,
    Driven,
    ScheduleTickWorkflow,
    SessionRun,
    SessionWorkflow,
)
from purrflow.store import Store
from purrflow.telemetry import Census

log = logging.getLogger("purrflow.orchestrators.temporal")
#: A running stretch tells Temporal it is alive this often (well within `HEARTBEAT_TIMEOUT`).
HEARTBEAT_SECONDS = 1.0
#: Sessions created but whose workflow did not start (the server that made them died first) are started by
#: any server that finds them this much later.
ADOPT_AFTER_SECONDS = 10.0
#: An announcement Temporal refused (it was away) is tried again after 1 s, 2 s, … 30 s.
RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class TemporalUnreachable(PurrflowError):
    """The Temporal service does not answer at the address given."""


@dataclass(frozen=True)
class TemporalSettings:
    address: str
    namespace: str = "default"
    task_queue: str = TASK_QUEUE


async def connect(settings: TemporalSettings) -> Client:
    try:
        return await Client.connect(settings.address, namespace=settings.namespace)
    except Exception as err:  # the client raises RuntimeError with the transport's reason
        raise TemporalUnreachable(
            f"cannot reach Temporal at {settings.address} (namespace {settings.namespace}): {err}",
            hint="start it (`temporal server start-dev --headless --ip 127.0.0.1`) or give its address with"
            " --temporal HOST:PORT (PURRFLOW_TEMPORAL)",
        ) from err


class SessionStretches:
    """The worker's activity: one stretch of a session, in this process's runners."""

    def __init__(
        self,
        *,
        local: LocalOrchestrator,
        store: Store,
        committer: GroupCommitter,
        fire_timer: Callable[[str, int], None],
        clock: Callable[[], float],
    ) -> None:
        #: The runners the stretches run in.
        self.local = local
        self._store = store
        self._committer = committer
        self._fire_timer = fire_timer
        self._clock = clock

    @activity.defn(name=DRIVE)
    async def drive(self, request: Drive) -> Driven:
        session_id = request.session_id
        info = activity.info()
        holder = f"{info.workflow_run_id}/{info.activity_id}/{info.attempt}"
        with self._committer.write():  # (seen by others no later than this stretch's first step)
            taken = self._store.take_stretch(session_id, holder, request.stretch, info.attempt)
        if not taken:  # a later attempt runs (this worker was cut off while Temporal gave the stretch on)
            raise _taken_over(session_id)
        if request.timers_due:
            now = self._clock()
            for timer in self._store.session_timers(session_id):
                if timer.fire_at <= now:
                    self._fire_timer(session_id, timer.seq)
            wait = self._store.session_wait(session_id)
            if wait is not None and wait.deadline is not None and wait.deadline <= now:
                self._fire_timer(session_id, wait.seq)
        stretch = asyncio.ensure_future(self.local.drive(session_id, holder))
        try:
            while not stretch.done():
                await asyncio.wait([stretch], timeout=HEARTBEAT_SECONDS)
                activity.heartbeat()
        except asyncio.CancelledError:
            if not activity.is_worker_shutdown():  # its workflow was cancelled: the session was stopped
                self.local.stop(session_id)
            raise  # (on shutdown the runner is abandoned, and Temporal runs the stretch again elsewhere)
        stretch.result()  # a stretch that failed (the database was away) fails the activity: Temporal retries it
        if self.local.closing:  # its runner was ended with this process: the stretch runs again elsewhere
            raise ApplicationError(f"the worker stopped while it ran session {session_id}", type="WorkerStopped")
        await self._committer.flushed()  # what the stretch wrote is committed before Temporal hears of it
        if self._store.stretch_holder(session_id) != holder:  # (Temporal gave the stretch to another worker)
            raise _taken_over(session_id)
        session = self._store.get_session(session_id)
        if session is None or session.is_final:
            return Driven(ended=True)
        return Driven(ended=False, wake_at=self._next_timer(session_id))

    def _next_timer(self, session_id: str) -> float | None:
        due = [timer.fire_at for timer in self._store.session_timers(session_id)]
        wait = self._store.session_wait(session_id)
        if wait is not None and wait.deadline is not None:
            due.append(wait.deadline)
        return min(due) if due else None


def _taken_over(session_id: str) -> ApplicationError:
    """A stale attempt's end: Temporal counts it for nothing (a later attempt runs), so it is not retried."""
    return ApplicationError(
        f"session {session_id} was taken over by a later attempt", type="StretchTakenOver", non_retryable=True
    )


@dataclass(frozen=True)
class WorkerActivities:
    """What a worker (`purr worker`) runs for Temporal: sessions' stretches and schedule triggers' ticks."""

    stretches: SessionStretches
    ticks: ScheduleTicks


class TemporalOrchestrator:
    """Announces sessions to Temporal; with `activities`, also runs them (a worker)."""

    def __init__(
        self,
        *,
        settings: TemporalSettings,
        store: Store,
        notices: Notices,
        activities: WorkerActivities | None,
        max_stretches: int,
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._store = store
        self._notices = notices
        self._local = activities.stretches.local if activities is not None else None
        self._activities = activities
        self._max_stretches = max_stretches
        self._clock = clock
        self._client: Client | None = None
        self._worker: Worker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._adopting: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        notices.on("wake", self._woken_elsewhere)
        if self._local is not None:  # a session that ended on another worker may free its trigger's place
            local = self._local
            notices.on("ended", lambda _session_id, _team_id, _state: local.admit_queued())
            notices.on_resync(local.admit_queued)

    @property
    def client(self) -> Client:
        """The connection to Temporal (there from `start` on)."""
        assert self._client is not None, "the orchestrator has not started"
        return self._client

    @property
    def live_runners(self) -> int:
        return self._local.live_runners if self._local is not None else 0

    @property
    def queued(self) -> int:
        return self._local.queued if self._local is not None else 0

    def overloaded(self, *, arriving: int, lag: float, may_queue: bool) -> Overload | None:
        """Never here: new sessions wait in Temporal's task queue for a worker, however many come."""
        return None

    async def start(self) -> None:
        self._client = await connect(self._settings)
        if self._activities is not None:
            self._worker = Worker(
                self._client,
                task_queue=self._settings.task_queue,
                workflows=[SessionWorkflow, ScheduleTickWorkflow],
                activities=[self._activities.stretches.drive, self._activities.ticks.fire],
                max_concurrent_activities=self._max_stretches,
            )
            self._worker_task = asyncio.get_running_loop().create_task(self._worker.run())
        self._adopting = asyncio.get_running_loop().create_task(self._adopt_forever())

    async def close(self) -> None:
        self._closing = True
        if self._adopting is not None:
            self._adopting.cancel()
        if self._local is not None:
            # Its runners end first, then their stretches fail (`WorkerStopped`) and run again on another
            # worker: never two runners of one session at once.
            await self._local.close()
        if self._worker is not None:
            await self._worker.shutdown()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    # -- what the services announce --------------------------------------------------------------
    def launch(self, session_id: str) -> None:
        """Start the session's workflow (once: a second start of a running one is the same workflow)."""
        self._spawn(f"starting session {session_id}", lambda client: self._start_workflow(client, session_id))

    def stop(self, session_id: str) -> None:
        if self._local is not None:
            self._local.stop(session_id)
        self._spawn(f"stopping session {session_id}", lambda client: client.get_workflow_handle(session_id).cancel())

    def wait_ended(self, session_id: str, seq: int, result: bytes) -> None:
        """A wait ended (its result is journaled): a runner of this process that waits on it (an ops.yml
        command keeps its process through waits) is answered; otherwise the workflow runs the session's next
        stretch."""
        if self._local is not None and self._local.driving(session_id):
            self._local.wait_ended(session_id, seq, result)
            return
        # A runner that holds its wait may be on another worker: it hears this notice; the workflow, the wake.
        self._notices.publish("wake", session_id, str(seq))
        self._spawn(f"waking session {session_id}", lambda client: client.get_workflow_handle(session_id).signal(WAKE))

    def _woken_elsewhere(self, session_id: str, seq: str) -> None:
        """Another process ended a wait: answer the runner of this worker that holds it, if one does."""
        if self._local is not None and self._local.driving(session_id):
            entry = self._store.journal_entry(session_id, int(seq))
            if entry is not None:
                self._local.wait_ended(session_id, int(seq), entry[1])

    def timer_due(self, session_id: str, seq: int) -> None:
        """Only through a stretch whose timers are due (`SessionStretches`): the workflow keeps the time."""
        if self._local is not None:
            self._local.timer_due(session_id, seq)

    def census(self) -> Census:
        if self._local is not None:
            return self._local.census()
        return Census(Counter(), 0, 0)

    # -- talking to Temporal -------------------------------------------------------------------------
    async def _start_workflow(self, client: Client, session_id: str) -> None:
        await client.start_workflow(
            WORKFLOW,
            SessionRun(session_id),
            id=session_id,
            task_queue=self._settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    def _spawn(self, what: str, call: Callable[[Client], Awaitable[object]]) -> None:
        if self._closing:
            return
        task = asyncio.get_running_loop().create_task(self._announce(what, call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self, what: str, call: Callable[[Client], Awaitable[object]]) -> None:
        """Tell Temporal, again after a pause while it is away; a workflow that has ended needs telling nothing."""
        for attempt, pause in enumerate((*RETRY_SECONDS, None)):
            client = self._client
            assert client is not None  # connected in start, before anything is announced
            try:
                await call(client)
                return
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:
                    return
                if pause is None or self._closing:
                    log.error("%s: Temporal refused %d times, giving up: %s", what, attempt + 1, err)
                    return
                log.warning("%s: Temporal refused (%s); trying again in %g s", what, err, pause)
                await asyncio.sleep(pause)

    async def _adopt_forever(self) -> None:
        """Start the workflows of sessions left created by a server that died before it could."""
        while True:
            try:
                self._adopt()
            except Exception:  # the database is away for a moment: the next round tries again
                log.exception("looking for sessions whose workflow did not start failed")
            await asyncio.sleep(ADOPT_AFTER_SECONDS)

    def _adopt(self) -> None:
        for session_id in self._store.sessions_created_before(self._clock() - ADOPT_AFTER_SECONDS):
            self.launch(session_id)
