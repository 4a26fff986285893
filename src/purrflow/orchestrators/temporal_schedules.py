"""Schedule triggers as Temporal Schedules: on a scaled platform no purrflow process keeps their time.

Each schedule trigger has one Temporal Schedule (its id: the platform's task queue, then the trigger's id),
whose every tick starts a `ScheduleTickWorkflow` (`temporal_workflow.py`); that workflow's one activity,
`ScheduleTicks.fire` on some worker, stores the tick's event and starts its sessions. So a schedule keeps
ticking while any worker is up, whichever API servers and workers come and go, and no tick fires twice:
the activity claims the tick's due time in the same commit as its event, and a tick claimed already (a
retried activity, a second reconciler's duplicate) does nothing.

The API servers keep the Temporal Schedules equal to the store's triggers (`TemporalSchedules`): at start,
after each deployment, and every few minutes in case a change was missed (Temporal was away, the server
died mid-way). The rule for late ticks is the local scheduler's: a tick whose next one is due already was
missed and is skipped; with `catch_up` the latest missed one fires, otherwise only a tick less than
`LATE_SECONDS` late does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from purrflow.cron import Schedule as CronSchedule
from purrflow.engine.commit import GroupCommitter
from purrflow.errors import InvalidInputError
from purrflow.orchestrators.temporal_workflow import FIRE_SCHEDULE, SCHEDULE_TICK, FireSchedule, ScheduleTick
from purrflow.store import Project, Store, Trigger

log = logging.getLogger("purrflow.orchestrators.temporal_schedules")
#: Without catch-up, a tick this late (Temporal or every worker was busy or away) still fires; a later one
#: is taken for missed. It is also the Temporal Schedules' catch-up window then.
LATE_SECONDS = 60.0
#: With catch-up, Temporal starts the ticks missed within this window; only the latest of them fires.
CATCH_UP_WINDOW = timedelta(days=365)
#: Every API server compares the Temporal Schedules with the triggers this often, besides after deploys.
RECONCILE_SECONDS = 300.0
#: The memo keys a Temporal Schedule carries: whose it is, and the schedule it was made for.
_PROJECT = "project"
_SCHEDULE = "schedule"


def schedule_id(task_queue: str, trigger_id: str) -> str:
    """A platform's schedules are told apart from another's on the same Temporal by its task queue."""
    return f"{_prefix(task_queue)}{trigger_id}"


def _prefix(task_queue: str) -> str:
    return f"{task_queue}/schedule/"


def temporal_spec(schedule: CronSchedule) -> ScheduleSpec:
    """The same times in Temporal's terms: cron in the schedule's zone; `@every` as an interval (counted
    from the epoch, where the local scheduler counts from the last tick)."""
    if schedule.every is not None:
        return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=schedule.every))])
    assert schedule.cron is not None  # parse() sets one of the two
    return ScheduleSpec(cron_expressions=[schedule.cron], time_zone_name=schedule.zone.key)


class ScheduleTicks:
    """The workers' activity: one tick of a schedule trigger, fired at most once."""

    def __init__(
        self,
        *,
        store: Store,
        committer: GroupCommitter,
        on_tick: Callable[[Project, Trigger], None],
        zone: ZoneInfo,
        catch_up: bool,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._committer = committer
        self._on_tick = on_tick
        self._zone = zone
        self._catch_up = catch_up
        self._clock = clock

    @activity.defn(name=FIRE_SCHEDULE)
    async def fire(self, tick: FireSchedule) -> bool:
        """Fire the tick; False when it does not fire (gone, changed, missed, or fired already)."""
        trigger = self._store.get_trigger(tick.trigger_id)
        project = self._store.get_project(trigger.project_id) if trigger is not None else None
        if trigger is None or project is None or trigger.spec.get("schedule") != tick.schedule:
            return False  # the trigger went or changed since: the reconciler removes or remakes its schedule
        if not self._on_time(CronSchedule.parse(tick.schedule, self._zone), tick.scheduled_at):
            log.info("schedule trigger %s: the tick due at %s was missed", trigger.name, tick.scheduled_at)
            return False
        with self._committer.write():
            fired = self._store.claim_schedule_fire(trigger.id, tick.scheduled_at)
            if fired:
                self._on_tick(project, trigger)
        await self._committer.flushed()  # the tick's sessions are stored before Temporal hears it fired
        return fired

    def _on_time(self, schedule: CronSchedule, due: float) -> bool:
        now = self._clock()
        if schedule.missed(due, now, anchor=due):  # the next tick is due already: this one was missed
            return False
        return self._catch_up or now - due <= LATE_SECONDS


class TemporalSchedules:
    """Keeps one Temporal Schedule per schedule trigger, as the store has them (an API server's part)."""

    def __init__(
        self,
        *,
        store: Store,
        client: Callable[[], Client],
        task_queue: str,
        zone: ZoneInfo,
        catch_up: bool,
    ) -> None:
        self._store = store
        self._client = client
        self._task_queue = task_queue
        self._zone = zone
        self._catch_up = catch_up
        self._tasks: set[asyncio.Task[None]] = set()
        self._rounds: asyncio.Task[None] | None = None
        #: The Temporal Schedules this server made or saw, and whose project each is.
        self._known: dict[str, str] = {}

    async def start(self) -> None:
        await self._reconcile_logged(None)
        self._rounds = asyncio.get_running_loop().create_task(self._reconcile_forever())

    def rearm_project(self, project_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._reconcile_logged(project_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._rounds is not None:
            self._rounds.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def _reconcile_forever(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE_SECONDS)
            await self._reconcile_logged(None)

    async def _reconcile_logged(self, project_id: str | None) -> None:
        try:
            await self.reconcile(project_id)
        except Exception:  # Temporal or the database is away: the next round (or deploy) tries again
            what = f"project {project_id}'s" if project_id else "every project's"
            log.exception("making %s Temporal Schedules match its schedule triggers failed", what)

    async def reconcile(self, project_id: str | None) -> None:
        """Make the Temporal Schedules of one project (or of all) what its triggers say: new ones made,
        changed ones made again, ones whose trigger went deleted.

        What is gone is found in Temporal's list of Schedules, which may lag a moment behind, and in what
        this server made or saw itself; one made by another server a moment ago that it misses is deleted
        by a later round, and until then its ticks find no trigger and do not fire."""
        client = self._client()
        kept = (
            self._store.list_triggers(project_id) if project_id is not None
            else self._store.list_triggers_of_kind("schedule")
        )  # fmt: skip
        wanted = {schedule_id(self._task_queue, t.id): t for t in kept if t.kind == "schedule"}
        listed: dict[str, str | None] = {}  # schedule id → the schedule it was made for
        async for found in await client.list_schedules():
            if found.id.startswith(_prefix(self._task_queue)):  # not another platform's, on the same Temporal
                listed[found.id] = await found.memo_value(_SCHEDULE, None)
                self._known[found.id] = await found.memo_value(_PROJECT, "")
        for gone in {sid for sid, owner in self._known.items() if project_id in (None, owner)} - wanted.keys():
            await self._delete(client, gone)
            self._known.pop(gone, None)  # (a reconcile beside this one may have deleted it too)
        for sid, trigger in wanted.items():
            text = str(trigger.spec.get("schedule") or "")
            if listed.get(sid) != text:
                await self._make(client, sid, trigger, text)
            self._known[sid] = trigger.project_id

    async def _make(self, client: Client, sid: str, trigger: Trigger, text: str) -> None:
        try:
            schedule = CronSchedule.parse(text, self._zone)
        except InvalidInputError as err:  # the manifest refuses these: only a database edited by hand has one
            log.error("schedule trigger %s is not scheduled: %s", trigger.name, err.message)
            return
        window = CATCH_UP_WINDOW if self._catch_up else timedelta(seconds=LATE_SECONDS)
        wanted = Schedule(
            action=ScheduleActionStartWorkflow(
                SCHEDULE_TICK, ScheduleTick(trigger.id, text), id=sid, task_queue=self._task_queue
            ),
            spec=temporal_spec(schedule),
            # Every tick its own workflow: whether a late one fires is the activity's rule, not Temporal's.
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=window),
        )
        memo = {_PROJECT: trigger.project_id, _SCHEDULE: text}
        try:
            await client.create_schedule(sid, wanted, memo=memo)
            return
        except ScheduleAlreadyRunningError:
            pass  # changed (or made by another API server a moment ago, and not listed yet)
        described = await client.get_schedule_handle(sid).describe()
        if await described.memo_value(_SCHEDULE, None) == text:
            return
        await self._delete(client, sid)  # a memo cannot be updated: made again, with the new schedule
        with suppress(ScheduleAlreadyRunningError):  # another API server made it again first
            await client.create_schedule(sid, wanted, memo=memo)

    async def _delete(self, client: Client, sid: str) -> None:
        try:
            await client.get_schedule_handle(sid).delete()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
