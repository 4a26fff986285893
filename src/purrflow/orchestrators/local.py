"""The `local` orchestrator: sessions driven by asyncio in this process, runners as its children.

It owns the drivers (one per live runner) and decides when a session runs: when it is created, when a
wait of a suspended session ends, when its timer is due, and after a restart. What a session's messages
mean is the `SessionHost`'s business (the services); how a runner starts is the `Launcher`'s.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.journal import Journal
from purrflow.engine.logs import LogBus
from purrflow.engine.seams import Launcher, SessionHost
from purrflow.engine.timers import TimerQueue
from purrflow.faults import Faults
from purrflow.orchestrators.admission import AdmissionQueue, Backpressure, Overload, Ticket
from purrflow.orchestrators.driver import DriverContext, SessionDriver
from purrflow.orchestrators.sticky import HotWaits
from purrflow.store import Session, Store
from purrflow.store.bridge import bridged
from purrflow.telemetry import Census, SessionInfo, SessionTelemetry, Telemetry
from purrflow.wire import Limits

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
        hot_memory_bytes: int,
        prewarm_seconds: float,
        runner_attempts: int,
        limits: Limits,
        max_runners: int,
        max_queued: int,
        max_queue_wait: float,
        max_active: int,
        telemetry: Telemetry,
    ) -> None:
        self._store = store
        self._telemetry = telemetry
        #: Every session not yet ended that this process has heard of, with what it reports into.
        self._live: dict[str, SessionTelemetry] = {}
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
            hot=HotWaits(hot_memory_bytes),
            prewarm_seconds=prewarm_seconds,
            on_ended=self._forget,
            still_holds=self._still_holds,
            relaunch=self._relaunch,
            on_waiting=self._admit,
            runner_attempts=runner_attempts,
            limits=limits,
        )
        self._host = host
        self._committer = committer
        self._max_runners = max_runners
        #: Runners running user code at once (a waiting one does not count): beyond the CPUs' worth, more
        #: only share them, so sessions queue instead, and backpressure sees the queue.
        self._max_active = max_active
        self._backpressure = Backpressure(max_queued=max_queued, max_wait=max_queue_wait)
        self._queue = AdmissionQueue()
        self._drivers: dict[str, SessionDriver] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Runners asked to be given up for queued sessions, not yet gone.
        self._freeing = 0
        #: Sessions whose runner died, to be replayed after a backoff.
        self._relaunching: set[str] = set()
        #: What `drive` waits on, by session: resolved once the session is out of this process's hands.
        self._settled: dict[str, asyncio.Future[None]] = {}
        self._closing = False
        #: An admission round is under way; another was asked for meanwhile (`_admit`).
        self._admitting = False
        self._admit_again = False
        #: The stretch (on Temporal) each session run here is held by, checked at each of its steps.
        self._holders: dict[str, str] = {}

    @property
    def live_runners(self) -> int:
        return sum(1 for driver in self._drivers.values() if driver.proc is not None and driver.alive)

    def driving(self, session_id: str) -> bool:
        """A runner of this process runs the session (or waits in it)."""
        driver = self._drivers.get(session_id)
        return driver is not None and driver.alive

    @property
    def closing(self) -> bool:
        """The process is stopping: its runners are being ended, and no session starts any more."""
        return self._closing

    @property
    def queued(self) -> int:
        """Sessions waiting for a runner."""
        return len(self._queue)

    def overloaded(self, *, arriving: int, lag: float, may_queue: bool) -> Overload | None:
        """Why a new session should be turned away now (503, Retry-After), if it should: it would wait too
        long to start, or too many wait, counting `arriving` sessions created but not yet queued and
        the event loop's standing `lag` (`orchestrators/admission.py`)."""
        free = max(0, min(self._max_runners - len(self._drivers), self._max_active - self._active()))
        return self._backpressure.verdict(
            self._queue, free_runners=free, arriving=arriving, lag=lag, may_queue=may_queue
        )

    async def start(self) -> None:
        """Resume what the last process left: running sessions replay, sleeping ones re-arm their timers."""
        resumed = self._store.session_ids_in_states(["created", "queued", "running"])
        for session_id in resumed:
            self.launch(session_id)
        waiting = set(self._store.session_ids_in_states(["waiting"]))
        for session_id in waiting:  # counted among the waiting sessions, and their end with their labels
            session = self._store.get_session(session_id)
            if session is not None:
                self._know(session)
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

    async def drive(self, session_id: str, holder: str | None = None) -> None:
        """Run the session until it is out of this process's hands — ended, stopped, or waiting with its
        runner given up — however often its runner dies and replays meanwhile. A Temporal worker runs one
        stretch of a session this way, as `holder` (which it took in the store): should another process
        take the session over, its runner here stops at its next step."""
        if holder is not None:
            self._holders[session_id] = holder
        settled = self._settled.get(session_id)
        if settled is None:
            settled = self._settled[session_id] = asyncio.get_running_loop().create_future()
        try:
            self.launch(session_id)
            self._settle(session_id)
            await asyncio.shield(settled)
        finally:
            if holder is not None and self._holders.get(session_id) == holder:
                del self._holders[session_id]

    def _still_holds(self, session_id: str) -> bool:
        """Whether the session is still this process's to run (always, but for a stretch on Temporal)."""
        holder = self._holders.get(session_id)
        return holder is None or self._store.stretch_holder(session_id) == holder

    def _settle(self, session_id: str) -> None:
        """Tell `drive` when nothing of the session is left here: no driver, no place in the queue, no replay due."""
        if session_id in self._drivers or session_id in self._queue or session_id in self._relaunching:
            return
        settled = self._settled.pop(session_id, None)
        if settled is not None and not settled.done():
            settled.set_result(None)

    # -- what the services announce --------------------------------------------------------------
    def launch(self, session_id: str) -> None:
        """Run the session — start it, or resume it by replaying its journal — as soon as it is admitted."""
        if self._closing:
            return
        session = self._store.get_session(session_id)
        if session is None or session.is_final:
            self._live.pop(session_id, None)
            return
        self._know(session)
        ticket = Ticket(session_id, self._host.admission(session), resume=session.state in ("running", "waiting"))
        self._queue.push(ticket)
        self._admit(fresh=session)
        if session_id in self._queue and session.state == "created":
            with self._committer.write(atomic=False):
                self._store.set_session_state(session_id, "queued")

    def stop(self, session_id: str) -> None:
        """The session was stopped: end its runner (or its wait for one) and forget its timers."""
        self._queue.discard(session_id)
        telemetry = self._live.pop(session_id, None)
        if telemetry is not None:
            telemetry.ended("stopped", self._context.clock())
        driver = self._drivers.get(session_id)
        if driver is not None:
            driver.kill()
        self._timers.cancel_session(session_id)
        self._relaunching.discard(session_id)
        self._admit()
        if self._settled:
            self._settle(session_id)

    def admit_queued(self) -> None:
        """A session ended in another process: a session queued here for its trigger's place may start."""
        self._admit()

    def _admit(self, fresh: Session | None = None) -> None:
        """Start queued sessions while runners are free (`fresh`: a session just read, which its driver
        need not read again if it starts now). When none is free, a session waiting in its runner gives it
        up for the first in the queue.

        Over a networked store a claim waits for the database, and meanwhile the loop may ask for another
        admission (a notice, a runner that ended): that one is made by the round under way, after it, so
        that two rounds never take from the queue at once."""
        if self._admitting:
            self._admit_again = True
            return
        self._admitting = True
        try:
            while True:
                self._admit_again = False
                self._admit_round(fresh)
                if not self._admit_again:
                    return
                fresh = None
        finally:
            self._admitting = False

    def _admit_round(self, fresh: Session | None) -> None:
        active = self._active()
        while not self._closing and active < self._max_active:
            if len(self._drivers) >= self._max_runners:
                if len(self._queue) > self._freeing and self._context.hot.make_room():
                    self._freeing += 1  # its runner is on its way out; `_forget` admits the next
                return
            ticket = self._queue.pop(self._may_start)
            if ticket is None:
                return
            current = self._drivers.get(ticket.session_id)
            if current is not None and current.alive:
                continue  # already driven (asked for twice): one runner per session, ever
            known = fresh if fresh is not None and fresh.id == ticket.session_id else None
            driver = SessionDriver(self._context, ticket.session_id, self._live[ticket.session_id], known)
            self._drivers[ticket.session_id] = driver
            active += 1
            task = asyncio.get_running_loop().create_task(driver.run())
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._driven, ticket.session_id))

    def _driven(self, session_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._settled:
            self._settle(session_id)

    def _active(self) -> int:
        """Runners running user code (or starting to): not waiting in their runner."""
        return sum(1 for driver in self._drivers.values() if driver.pending_wait is None)

    def _may_start(self, ticket: Ticket) -> bool:
        admission = ticket.admission
        if ticket.resume or admission.trigger is None or admission.concurrency is None:
            return True
        with self._committer.write():  # the count and the claim in one transaction
            return self._host.claim_place(ticket.session_id, admission.trigger, admission.concurrency)

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

    def _relaunch(self, session_id: str, delay: float) -> None:
        """Its runner died: replay the session after a backoff (unless it has ended meanwhile)."""
        if not self._closing:
            self._relaunching.add(session_id)
            asyncio.get_running_loop().call_later(delay, bridged(self._replay), session_id)

    def _replay(self, session_id: str) -> None:
        self._relaunching.discard(session_id)
        self._resume(session_id)
        if self._settled:
            self._settle(session_id)

    def _resume(self, session_id: str) -> None:
        session = self._store.get_session(session_id)
        if session is not None and not session.is_final:
            self.launch(session_id)

    # -- what operators see ------------------------------------------------------------------------
    def _know(self, session: Session) -> None:
        """Remember a session until it ends: a new one counts as started now."""
        if session.id not in self._live:
            info = SessionInfo(
                session.id, session.project_name, session.trigger_name or "", session.entrypoint, session.created_at
            )
            self._live[session.id] = self._telemetry.session(info, new=session.state in ("created", "queued"))

    def census(self) -> Census:
        """The sessions not yet ended by project, trigger and state — queued for a runner, running (holding
        one and not waiting), or waiting (in its runner, suspended, or between a dead runner and its replay)
        — the sticky ones, and the warm shapes, for a scrape."""
        counts: Counter[tuple[str, str, str]] = Counter()
        for session_id, telemetry in self._live.items():
            driver = self._drivers.get(session_id)
            if session_id in self._queue:
                state = "queued"
            elif driver is not None and driver.pending_wait is None:
                state = "running"
            else:
                state = "waiting"
            counts[(telemetry.info.project, telemetry.info.trigger, state)] += 1
        hot = self._context.hot
        return Census(counts, self.live_runners, self.queued, len(hot), hot.used_bytes, self._launcher.warm_shapes)

    def _forget(self, driver: SessionDriver) -> bool:
        if self._drivers.get(driver.session_id) is not driver:
            return False
        del self._drivers[driver.session_id]
        if driver.suspended and self._freeing:
            self._freeing -= 1
        if driver.finished:
            self._live.pop(driver.session_id, None)
        self._admit()  # its runner is free, and maybe a place under its trigger's concurrency
        return True
