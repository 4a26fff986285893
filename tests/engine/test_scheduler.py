"""The scheduler keeps one timer per schedule trigger, and a deployment re-arms only its own project's."""

from __future__ import annotations

import asyncio
from pathlib import Path
from zoneinfo import ZoneInfo

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.scheduler import Scheduler
from purrflow.store import Project, Trigger, open_store


def test_deploying_one_project_leaves_the_other_projects_schedules_armed(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        store = open_store(tmp_path / "purrflow.db", durability="normal")
        team = store.create_team("team")
        first = store.get_or_create_project(team.id, "first")
        second = store.get_or_create_project(team.id, "second")
        store.replace_triggers(first.id, [("hourly", "schedule", {"schedule": "@every 1h"})])
        store.replace_triggers(second.id, [("nightly", "schedule", {"schedule": "@daily"})])
        ticks: list[tuple[Project, Trigger]] = []
        scheduler = Scheduler(
            store,
            GroupCommitter(store),
            on_tick=lambda project, trigger: ticks.append((project, trigger)),
            zone=ZoneInfo("UTC"),
            catch_up=False,
            clock=lambda: 1_000_000.0,
        )
        await scheduler.start()
        armed = [len(scheduler)]
        store.replace_triggers(second.id, [("weekly", "schedule", {"schedule": "@weekly"})])
        scheduler.rearm_project(second.id)  # second's nightly goes, weekly comes; first's hourly stays
        armed.append(len(scheduler))
        store.replace_triggers(second.id, [])
        scheduler.rearm_project(second.id)
        armed.append(len(scheduler))
        await scheduler.close()
        store.close()
        return armed

    assert asyncio.run(scenario()) == [2, 2, 1]
