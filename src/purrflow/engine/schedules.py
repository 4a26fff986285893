"""Schedule triggers: 5-field cron, `@every <duration>` and the usual macros, in a configurable time zone.

Time is a parameter (`now` in, `next` out), so the rules are tested without waiting for real minutes.
After a stall (the server was down or the machine asleep) missed ticks are skipped rather than fired in a
burst; with `catch_up` one tick — the latest missed — fires at once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from croniter import croniter  # type: ignore[import-untyped]

from purrflow.engine.timers import TimerQueue
from purrflow.errors import InvalidInputError
from purrflow.store import Trigger

if TYPE_CHECKING:
    from purrflow.engine.engine import Engine

log = logging.getLogger("purrflow.engine.schedules")

MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_every(text: str) -> float:
    """`15m`, `1h30m`, `10s`, `500ms` → seconds (Go's duration syntax, as AutoKitteh's @every uses)."""
    compact = text.replace(" ", "")
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise InvalidInputError(f"@every {text!r}: not a duration", hint="e.g. @every 15m, @every 1h30m, @every 10s")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise InvalidInputError(f"@every {text!r}: the interval must be longer than zero")
    return seconds


@dataclass(frozen=True)
class Schedule:
    text: str
    zone: ZoneInfo
    cron: str | None = None
    every: float | None = None

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> Schedule:
        spec = text.strip()
        if spec.startswith("@every"):
            return cls(spec, zone, every=parse_every(spec.removeprefix("@every")))
        cron = MACROS.get(spec, spec)
        fields = cron.split()
        if len(fields) != 5:
            raise InvalidInputError(f"schedule {text!r} has {len(fields)} fields; cron here has 5")
        if not croniter.is_valid(cron):
            raise InvalidInputError(f"schedule {text!r} is not a valid cron line")
        return cls(spec, zone, cron=cron)

    def next_after(self, moment: float, *, anchor: float | None = None) -> float:
        """The first tick strictly after `moment` (epoch seconds). `@every` counts from `anchor`."""
        if self.every is not None:
            start = anchor if anchor is not None else moment
            if moment < start:
                return start + self.every
            return start + (int((moment - start) // self.every) + 1) * self.every
        assert self.cron is not None  # parse() sets one of the two
        local = datetime.fromtimestamp(moment, self.zone)
        return float(croniter(self.cron, local).get_next(float))

    def missed(self, last: float, now: float, *, anchor: float | None = None) -> bool:
        """Did a tick fall in (last, now]?"""
        return self.next_after(last, anchor=anchor) <= now


class Scheduler:
    """Keeps one timer per schedule trigger; each tick is an event on that trigger ("tick", no data)."""

    def __init__(self, engine: Engine, *, zone: ZoneInfo, catch_up: bool) -> None:
        self._engine = engine
        self._zone = zone
        self._catch_up = catch_up
        self._timers = TimerQueue(self._fire, clock=engine.clock)
        self._armed: dict[str, Schedule] = {}

    def load(self) -> None:
        for trigger in self._engine.store.list_triggers_of_kind("schedule"):
            self.arm(trigger, catch_up=self._catch_up)

    def close(self) -> None:
        self._timers.close()

    def rearm_project(self, project_id: str) -> None:
        """After a deployment: schedules that went away stop, new or changed ones start."""
        current = {t.id: t for t in self._engine.store.list_triggers(project_id) if t.kind == "schedule"}
        for trigger_id in [tid for tid in self._armed if tid not in current]:
            self._disarm(trigger_id)
        for trigger in current.values():
            armed = self._armed.get(trigger.id)
            if armed is None or armed.text != trigger.spec.get("schedule"):
                self.arm(trigger, catch_up=False)

    def arm(self, trigger: Trigger, *, catch_up: bool) -> None:
        try:
            schedule = Schedule.parse(str(trigger.spec.get("schedule") or ""), self._zone)
        except InvalidInputError as err:
            log.error("schedule trigger %s is not armed: %s", trigger.name, err.message)
            return
        now = self._engine.clock()
        last = self._engine.store.last_schedule_fire(trigger.id)
        self._armed[trigger.id] = schedule
        if catch_up and last is not None and schedule.missed(last, now, anchor=last):
            self._timers.schedule(trigger.id, 0, now)  # the latest missed tick, once
            return
        self._timers.schedule(trigger.id, 0, schedule.next_after(now, anchor=last if last is not None else now))

    def _disarm(self, trigger_id: str) -> None:
        self._armed.pop(trigger_id, None)
        self._timers.cancel_session(trigger_id)

    def _fire(self, trigger_id: str, _: int) -> None:
        engine = self._engine
        schedule = self._armed.get(trigger_id)
        trigger = engine.store.get_trigger(trigger_id)
        project = engine.store.get_project(trigger.project_id) if trigger else None
        if schedule is None or trigger is None or project is None:
            self._disarm(trigger_id)
            return
        now = engine.clock()
        with engine.committer.write():
            engine.store.record_schedule_fire(trigger_id, now)
        engine.receive_event(project, trigger.name, "tick", {})
        self._timers.schedule(trigger_id, 0, schedule.next_after(now, anchor=now))
