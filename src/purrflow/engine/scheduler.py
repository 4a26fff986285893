"""Schedule triggers: one timer per trigger, each tick an event on the trigger.

The schedules themselves (cron, `@every`, macros, time zones) are `purrflow.cron`'s. After a stall (the
server was down or the machine asleep) missed ticks are skipped rather than fired in a burst; with
`catch_up` one tick — the latest missed — fires at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol
from zoneinfo import ZoneInfo

from purrflow.cron import Schedule
from purrflow.engine.commit import GroupCommitter
from purrflow.engine.timers import TimerQueue
from purrflow.errors import InvalidInputError
from purrflow.store import Project, Store, Trigger

log = logging.getLogger("purrflow.engine.scheduler")


class Schedules(Protocol):
    """What the platform asks of whoever keeps the schedule triggers' time: `Scheduler` here, in this
    process; or Temporal, whose Schedules outlive every purrflow process
    (`orchestrators/temporal_schedules.py`)."""

    async def start(self) -> None:
        """Take up every project's schedules."""
        ...

    def rearm_project(self, project_id: str) -> None:
        """The project was deployed or deleted: its schedules become what its triggers say now."""
        ...

    async def close(self) -> None: ...


class Scheduler:
    """Keeps one timer per schedule trigger; each tick is an event on that trigger ("tick", no data)."""

    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        *,
        on_tick: Callable[[Project, Trigger], None],
        zone: ZoneInfo,
        catch_up: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._committer = committer
        self._on_tick = on_tick
        self._zone = zone
        self._catch_up = catch_up
        self._clock = clock
        self._timers = TimerQueue(self._fire, clock=clock)
        self._armed: dict[str, tuple[str, Schedule]] = {}  # trigger id → (project id, schedule)

    def __len__(self) -> int:
        return len(self._armed)

    async def start(self) -> None:
        for trigger in self._store.list_triggers_of_kind("schedule"):
            self.arm(trigger, catch_up=self._catch_up)

    async def close(self) -> None:
        self._timers.close()

    def rearm_project(self, project_id: str) -> None:
        """After a deployment of this project: its schedules that went away stop, new or changed ones start.
        Other projects' schedules are not touched."""
        current = {t.id: t for t in self._store.list_triggers(project_id) if t.kind == "schedule"}
        gone = [tid for tid, (owner, _) in self._armed.items() if owner == project_id and tid not in current]
        for trigger_id in gone:
            self._disarm(trigger_id)
        for trigger in current.values():
            armed = self._armed.get(trigger.id)
            if armed is None or armed[1].text != trigger.spec.get("schedule"):
                self.arm(trigger, catch_up=False)

    def arm(self, trigger: Trigger, *, catch_up: bool) -> None:
        try:
            schedule = Schedule.parse(str(trigger.spec.get("schedule") or ""), self._zone)
        except InvalidInputError as err:
            log.error("schedule trigger %s is not armed: %s", trigger.name, err.message)
            return
        now = self._clock()
        last = self._store.last_schedule_fire(trigger.id)
        self._armed[trigger.id] = (trigger.project_id, schedule)
        if catch_up and last is not None and schedule.missed(last, now, anchor=last):
            self._timers.schedule(trigger.id, 0, now)  # the latest missed tick, once
            return
        self._timers.schedule(trigger.id, 0, schedule.next_after(now, anchor=last if last is not None else now))

    def _disarm(self, trigger_id: str) -> None:
        self._armed.pop(trigger_id, None)
        self._timers.cancel_session(trigger_id)

    def _fire(self, trigger_id: str, _: int) -> None:
        armed = self._armed.get(trigger_id)
        trigger = self._store.get_trigger(trigger_id)
        project = self._store.get_project(trigger.project_id) if trigger else None
        if armed is None or trigger is None or project is None:
            self._disarm(trigger_id)
            return
        now = self._clock()
        try:
            with self._committer.write():
                if self._store.claim_schedule_fire(trigger_id, now):
                    self._on_tick(project, trigger)
        except Exception:  # one failed tick must not stop the schedule (nor the others')
            log.exception("schedule trigger %s of project %s: the tick at %s failed", trigger.name, project.name, now)
        self._timers.schedule(trigger_id, 0, armed[1].next_after(now, anchor=now))
