"""A session as a Temporal workflow: drive it on some worker, then wait — for its timer or a `wake` — and
drive it again, until it has ended.

The workflow holds no session data: the journal stays in the store (see docs/architecture.md, "Sessions on
Temporal"). What Temporal keeps is *when* the session runs: one activity per stretch of running, a durable
timer or a signal between stretches. So no machine holds a waiting session, a worker that dies mid-stretch
is replaced by Temporal retrying the activity elsewhere (the journal replays; finished steps do not run
again), and the history grows by a handful of events per wait, not per step.

This module is the workflow's code, which Temporal's sandbox re-imports for every run: it imports nothing of
purrflow's and nothing that is not deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

#: The task queue purrflow's workers poll, unless told another.
TASK_QUEUE = "purrflow-sessions"
WORKFLOW = "purrflow.session"
DRIVE = "purrflow.drive_session"
SCHEDULE_TICK = "purrflow.schedule_tick"
FIRE_SCHEDULE = "purrflow.fire_schedule"
#: Temporal sets it on every workflow a schedule starts: the time the tick was due (not when it started).
SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
#: A tick's activity (store its event, start its sessions) is short; one that fails is tried again.
FIRE_TIMEOUT = timedelta(minutes=1)
#: The signal that a wait of the session ended (its result is journaled already).
WAKE = "wake"
#: A worker that stops heartbeating for this long is taken for dead; the stretch runs again elsewhere.
HEARTBEAT_TIMEOUT = timedelta(seconds=5)
#: How long one stretch may run: the session's own timeout (if it has one) ends it well before.
STRETCH_TIMEOUT = timedelta(days=365)
#: A stretch that failed (its worker died, the database was away) runs again after 1 s, 2 s, … 30 s.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)


@dataclass(frozen=True)
class SessionRun:
    """The workflow's input (and its continuation's, when the history is renewed)."""

    session_id: str
    #: The session's timers are due: the first stretch fires them.
    timers_due: bool = False
    #: How many stretches the session's earlier runs had (stretches are numbered through continue-as-new).
    stretches: int = 0


@dataclass(frozen=True)
class Drive:
    """One stretch: run the session on a worker until it ends or waits."""

    session_id: str
    timers_due: bool = False
    #: Its number in the session (from 1): with Temporal's attempt, what orders two workers' claims to it.
    stretch: int = 0


@dataclass(frozen=True)
class Driven:
    """How a stretch left the session."""

    ended: bool
    #: When its earliest timer (a sleep, a wait's deadline) is due, in seconds since the epoch; None: it waits
    #: for a signal only.
    wake_at: float | None = None


@workflow.defn(name=WORKFLOW)
class SessionWorkflow:
    def __init__(self) -> None:
        self._wakes = 0

    @workflow.signal(name=WAKE)
    def wake(self) -> None:
        self._wakes += 1

    @workflow.run
    async def run(self, start: SessionRun) -> None:
        timers_due, stretch = start.timers_due, start.stretches
        while True:
            seen = self._wakes  # a wake that comes while the stretch runs is not lost: it runs again at once
            stretch += 1
            driven = await workflow.execute_activity(
                DRIVE,
                Drive(start.session_id, timers_due, stretch),
                result_type=Driven,
                start_to_close_timeout=STRETCH_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=RETRY,
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
            if driven.ended:
                return
            timers_due = False
            if self._wakes == seen:
                timers_due = await self._wait(seen, driven.wake_at)
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(SessionRun(start.session_id, timers_due, stretch))

    async def _wait(self, seen: int, wake_at: float | None) -> bool:
        """Until a wake or the session's timer; True when it was the timer."""
        timeout: float | None = None
        if wake_at is not None:
            timeout = wake_at - workflow.now().timestamp()
            if timeout <= 0:
                return True
        try:
            await workflow.wait_condition(lambda: self._wakes != seen, timeout=timeout)
        except TimeoutError:
            return True
        return False


@dataclass(frozen=True)
class ScheduleTick:
    """A Temporal Schedule's action input: the trigger it ticks for, and its schedule as it was when the
    Temporal Schedule was made (a tick of a schedule changed since is not fired)."""

    trigger_id: str
    schedule: str


@dataclass(frozen=True)
class FireSchedule:
    """One tick, at the time it was due."""

    trigger_id: str
    schedule: str
    scheduled_at: float


@workflow.defn(name=SCHEDULE_TICK)
class ScheduleTickWorkflow:
    """One tick of a schedule trigger: its event is stored and its sessions start on some worker."""

    @workflow.run
    async def run(self, tick: ScheduleTick) -> None:
        due = workflow.info().typed_search_attributes.get(SCHEDULED_AT) or workflow.now()
        await workflow.execute_activity(
            FIRE_SCHEDULE,
            FireSchedule(tick.trigger_id, tick.schedule, due.timestamp()),
            start_to_close_timeout=FIRE_TIMEOUT,
            retry_policy=RETRY,
        )
