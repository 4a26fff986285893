"""The `local` orchestrator: sessions driven by asyncio in this process, runners as its children.

It owns the drivers (one per live runner) and decides when a session runs: when it is created, when a
wait of a suspended session ends, when its timer is due, and after a restart. What a session's messages
mean is the `SessionHost`'s business (the services); how a runner starts is the `Launcher`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.journal import Journal
from purrflow.engine.logs import LogBus
from purrflow.engine.seams import Launcher, SessionHost
from purrflow.engine.timers import TimerQueue
from purrflow.faults import Faults
from purrflow.orchestrators.driver import DriverContext, SessionDriver
from purrflow.store import Store

log = logging.getLogger("purrflow.orchestrators.local")


class LocalOrchestrator:
    def __init__(
        self,
        *,
        store: Store,
        committer: GroupCommitter,
        journal: Journal,
        launcher: Launcher,
        host: SessionHost,
        timers: TimerQueue,
        logs: LogBus,
        faults: Faults,
        clock: Callable[[], float],
        hot_wait_seconds: float,
        prewarm_seconds: float,
    ) -> None:
        self._store = store
        self._timers = timers
        self._launcher = launcher
        self._prewarm = prewarm_seconds
        self._context = DriverContext(
            store=store,
            committer=committer,
            journal=journal,
            launcher=launcher,
            host=host,
            timers=timers,
            logs=logs,
            faults=faults,
            clock=clock,
            hot_wait_seconds=hot_wait_seconds,
            prewarm_seconds=prewarm_seconds,
            on_ended=self._forget,
        )
        self._drivers: dict[str, SessionDriver] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def live_runners(self) -> int:
        return sum(1 for driver in self._drivers.values() if driver.proc is not None and driver.alive)

    async def start(self) -> None:
        """Resume what the last process left: running sessions replay, sleeping ones re-arm their timers."""
        resumed = self._store.session_ids_in_states(["created", "running"])
        for session_id in resumed:
            self.launch(session_id)
        waiting = set(self._store.session_ids_in_states(["waiting"]))
        for timer in self._store.list_timers():
            if timer.session_id in waiting:
                self._timers.schedule(timer.session_id, timer.seq, timer.fire_at - self._prewarm)
        if resumed or waiting:
            log.info("resumed %d running and re-armed %d waiting sessions", len(resumed), len(waiting))

    async def close(self) -> None:
        self._closing = True
        for driver in list(self._drivers.values()):
            driver.abandon()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        await self._launcher.close()

    # -- what the services announce --------------------------------------------------------------
    def launch(self, session_id: str) -> None:
        """Run the session now: start it, or resume it by replaying its journal."""
        if self._closing:
            return
        driver = SessionDriver(self._context, session_id)
        self._drivers[session_id] = driver
        task = asyncio.get_running_loop().create_task(driver.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self, session_id: str) -> None:
        """The session was stopped: end its runner and forget its timers."""
        driver = self._drivers.get(session_id)
        if driver is not None:
            driver.kill()
        self._timers.cancel_session(session_id)

    def wait_ended(self, session_id: str, seq: int, result: bytes) -> None:
        """A journaled wait ended: answer the runner blocked on it, or bring the session back."""
        driver = self._drivers.get(session_id)
        if driver is not None and driver.alive:
            if driver.pending_wait == seq:
                driver.answer(seq, result)
            return  # still replaying towards the wait: its Wait finds the journaled result
        self._resume(session_id)

    def timer_due(self, session_id: str, seq: int) -> None:
        """A sleep's timer is due (a wait's deadline is the signal waits' business, asked first)."""
        driver = self._drivers.get(session_id)
        if driver is not None and driver.alive:
            driver.timer_fired(seq)
            return
        self._resume(session_id)  # replay brings it back to the wait; its Wait re-arms this timer

    def _resume(self, session_id: str) -> None:
        session = self._store.get_session(session_id)
        if session is not None and not session.is_final:
            self.launch(session_id)

    def _forget(self, driver: SessionDriver) -> bool:
        if self._drivers.get(driver.session_id) is not driver:
            return False
        del self._drivers[driver.session_id]
        return True
