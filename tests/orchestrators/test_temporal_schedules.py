"""Schedule triggers as Temporal Schedules, on a real Temporal dev server and a real store: Temporal keeps the
time, a worker's activity fires each tick once, and the API servers keep the Schedules equal to the triggers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleState
from temporalio.client import Schedule as TemporalSchedule
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from purrflow.cron import Schedule
from purrflow.engine.commit import GroupCommitter
from purrflow.orchestrators.temporal_schedules import (
    LATE_SECONDS,
    ScheduleTicks,
    TemporalSchedules,
    schedule_id,
    temporal_spec,
)
from purrflow.orchestrators.temporal_workflow import FireSchedule, ScheduleTickWorkflow
from purrflow.store import Project, Store, Trigger, open_store
from temporal_server import TemporalServer

pytestmark = pytest.mark.slow
UTC_ZONE = ZoneInfo("UTC")


class Scene:
    """A store with one project, the ticks it fired, and its platform's task queue."""

    def __init__(self, folder: Path, *, clock: Callable[[], float] = time.time, catch_up: bool = False) -> None:
        folder.mkdir(exist_ok=True)
        self.store: Store = open_store(folder / "purrflow.db", durability="normal")
        team = self.store.create_team("team")
        self.project = self.store.get_or_create_project(team.id, "jobs")
        self.fired: list[tuple[str, float]] = []  # (trigger name, when it was due)
        self.queue = f"schedules-{folder.name}-{time.time_ns()}"
        self.ticks = ScheduleTicks(
            store=self.store,
            committer=GroupCommitter(self.store),
            on_tick=self._ticked,
            zone=UTC_ZONE,
            catch_up=catch_up,
            clock=clock,
        )

    def _ticked(self, project: Project, trigger: Trigger) -> None:
        self.fired.append((trigger.name, self.store.last_schedule_fire(trigger.id) or 0.0))

    def triggers(self, **schedules: str) -> dict[str, Trigger]:
        made = self.store.replace_triggers(
            self.project.id, [(name, "schedule", {"schedule": text}) for name, text in schedules.items()]
        )
        return {trigger.name: trigger for trigger in made}

    def schedules(self, client: Client) -> TemporalSchedules:
        return TemporalSchedules(
            store=self.store, client=lambda: client, task_queue=self.queue, zone=UTC_ZONE, catch_up=False
        )


async def _until(condition: Callable[[], Awaitable[bool] | bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        met = condition()
        if await met if isinstance(met, Awaitable) else met:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)  # sleep-ok: the polling interval of a bounded wait


async def _memo(client: Client, sid: str) -> str | None:
    """The schedule a Temporal Schedule was made for; None when there is no such Temporal Schedule."""
    try:
        described = await client.get_schedule_handle(sid).describe()
    except RPCError as err:
        assert err.status == RPCStatusCode.NOT_FOUND
        return None
    return str(await described.memo_value("schedule"))


def test_a_trigger_ticks_through_temporal_once_per_due_time_and_its_schedule_follows_the_trigger(
    tmp_path: Path, temporal_server: TemporalServer
) -> None:
    scene = Scene(tmp_path)
    every = scene.triggers(every_second="@every 1s")["every_second"]
    sid = schedule_id(scene.queue, every.id)

    async def scenario() -> None:
        client = await Client.connect(temporal_server.address)
        schedules = scene.schedules(client)
        async with Worker(
            client, task_queue=scene.queue, workflows=[ScheduleTickWorkflow], activities=[scene.ticks.fire]
        ):
            await schedules.start()
            await _until(lambda: len(scene.fired) >= 3, "three ticks through Temporal")
            due = [at for _, at in scene.fired]
            assert due == sorted(set(due)), "each due time fires once, in order"
            assert all(at == int(at) for at in due), "the tick's due time, not when it ran"

            scene.triggers(every_second="@every 2s")  # a redeploy changes it
            await schedules.reconcile(scene.project.id)
            assert await _memo(client, sid) == "@every 2s"
            described = await client.get_schedule_handle(sid).describe()
            assert described.schedule.spec.intervals[0].every.total_seconds() == 2

            scene.triggers()  # and one without triggers removes it
            await schedules.reconcile(scene.project.id)
            assert await _memo(client, sid) is None
            late = await scene.ticks.fire(FireSchedule(every.id, "@every 2s", time.time()))
            assert late is False, "a tick already on its way when the trigger went does not fire"
            await schedules.close()

    asyncio.run(scenario())
    scene.store.close()


def test_a_tick_fires_once_however_often_it_is_delivered(tmp_path: Path) -> None:
    due = 3600.0 * 300  # an hour's start
    scene = Scene(tmp_path, clock=lambda: due + 5)  # five seconds later
    hourly = scene.triggers(hourly="@hourly")["hourly"]

    async def scenario() -> list[bool]:
        tick = FireSchedule(hourly.id, "@hourly", due)
        retried = await asyncio.gather(*(scene.ticks.fire(tick) for _ in range(3)))
        earlier = await scene.ticks.fire(FireSchedule(hourly.id, "@hourly", due - 3600))
        return [*retried, earlier]

    outcomes = asyncio.run(scenario())
    assert sorted(outcomes[:3]) == [False, False, True]
    assert outcomes[3] is False, "a tick older than one that fired is not fired after it"
    assert scene.fired == [("hourly", due)]
    scene.store.close()


@pytest.mark.parametrize("catch_up", [False, True])
def test_a_missed_tick_is_skipped_and_with_catch_up_only_the_latest_fires(tmp_path: Path, catch_up: bool) -> None:
    midnight = 1_000_000.0 - 1_000_000.0 % 86_400
    now = midnight + 7_200  # two hours after the daily tick was due: the server was away
    scene = Scene(tmp_path, clock=lambda: now, catch_up=catch_up)
    daily = scene.triggers(daily="@daily")["daily"]

    async def scenario() -> list[bool]:
        return [
            await scene.ticks.fire(FireSchedule(daily.id, "@daily", midnight - 86_400)),  # the next one is due
            await scene.ticks.fire(FireSchedule(daily.id, "@daily", midnight)),  # the latest missed
            await scene.ticks.fire(FireSchedule(daily.id, "@every 1h", midnight)),  # made for another schedule
        ]

    assert asyncio.run(scenario()) == [False, catch_up, False]
    assert now - midnight > LATE_SECONDS
    scene.store.close()


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("*/20 9-17 * * MON-FRI", "America/New_York"),
        ("30 2 * * 7", "Europe/Berlin"),  # 7 is Sunday too; a DST night has no 02:30
        ("0 0 1 JAN,JUL *", "UTC"),
        ("@weekly", "Asia/Kolkata"),
        ("@every 90m", "UTC"),
    ],
)
def test_temporal_ticks_a_schedule_when_purrflow_cron_says_it_is_due(
    temporal_server: TemporalServer, text: str, zone: str
) -> None:
    schedule = Schedule.parse(text, ZoneInfo(zone))

    async def upcoming() -> list[float]:
        client = await Client.connect(temporal_server.address)
        sid = f"cron-check-{time.time_ns()}"
        handle = await client.create_schedule(
            sid,
            TemporalSchedule(
                action=ScheduleActionStartWorkflow("never", id=sid, task_queue=sid),
                spec=temporal_spec(schedule),
                state=ScheduleState(paused=True),
            ),
        )
        described = await handle.describe()
        await handle.delete()
        return [moment.timestamp() for moment in described.info.next_action_times]

    temporal = asyncio.run(upcoming())
    assert len(temporal) >= 5
    expected = [schedule.next_after(temporal[0] - 1, anchor=0.0)]
    while len(expected) < len(temporal):
        expected.append(schedule.next_after(expected[-1], anchor=0.0))
    assert [datetime.fromtimestamp(t, UTC) for t in temporal] == [datetime.fromtimestamp(t, UTC) for t in expected]


def test_api_servers_reconciling_at_once_agree_and_leave_another_platforms_schedules_alone(
    tmp_path: Path, temporal_server: TemporalServer
) -> None:
    ours = Scene(tmp_path / "ours")
    theirs = Scene(tmp_path / "theirs")
    mine = ours.triggers(a="@every 1h", b="@daily")
    other = theirs.triggers(c="@weekly")["c"]

    async def scenario() -> list[str | None]:
        client = await Client.connect(temporal_server.address)
        await theirs.schedules(client).reconcile(None)
        servers = [ours.schedules(client) for _ in range(3)]
        await asyncio.gather(*(server.reconcile(None) for server in servers))  # three API servers at once
        ours.triggers(a="@every 1h")  # b goes
        await servers[0].reconcile(None)
        found = [await _memo(client, schedule_id(ours.queue, trigger.id)) for trigger in mine.values()]
        found.append(await _memo(client, schedule_id(theirs.queue, other.id)))
        return found

    assert asyncio.run(scenario()) == ["@every 1h", None, "@weekly"]
    ours.store.close()
    theirs.store.close()
