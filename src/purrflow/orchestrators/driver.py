"""One runner conversation: start (or replay) a session in a runner and serve its messages.

A driver lives as long as its runner process. When the session suspends, is stopped, finishes or its
runner dies, the driver ends; resuming a session later is a new driver replaying the journal.

Every message is handled inside one boundary (`_handle`): an unexpected exception — a bug of ours, a
database that refuses a write — is logged once with its traceback and becomes an `InternalError`, on
the step the message carried (the handler sees it raised by the SDK call, and replay raises it again)
or, when there is no step to fail, on the session. A session never hangs on a reply that will not come.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass, replace

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.journal import Journal
from purrflow.engine.logs import LogBus
from purrflow.engine.seams import Launcher, RunnerExit, RunnerProcess, SessionEnd, SessionHost
from purrflow.engine.timers import TimerQueue
from purrflow.errors import InternalError, PurrflowError
from purrflow.faults import Faults
from purrflow.orchestrators import exits
from purrflow.orchestrators.launchers import RESOURCE_ERRORS
from purrflow.orchestrators.sticky import HotWaits
from purrflow.store import NO_DETAILS, LogRecord, Session, SessionError, StepDetails, Store
from purrflow.store.bridge import bridged
from purrflow.telemetry import SessionTelemetry
from purrflow.wire import (
    HEADER,
    JOURNAL_PAGE,
    CallHost,
    CallResult,
    Finished,
    HostOps,
    JournalChunk,
    Limits,
    LogLines,
    SleepUntil,
    StartSession,
    StepAck,
    StepName,
    StepRecorded,
    Suspend,
    Wait,
    WaitResult,
    decode_from_runner,
    encode,
    summarize_op,
)

log = logging.getLogger("purrflow.orchestrators.driver")
_NONE = pickle.dumps(None)
#: A session that found no process or descriptor for its runner is admitted again this much later.
RESOURCE_RETRY_SECONDS = 0.5
#: Messages that carry a step: a failure to handle one fails that step, not the session.
_StepMessage = StepRecorded | CallHost | Wait


@dataclass(frozen=True)
class DriverContext:
    """What every driver of one orchestrator shares."""

    store: Store
    committer: GroupCommitter
    journal: Journal
    launcher: Launcher
    host: SessionHost
    timers: TimerQueue
    logs: LogBus
    faults: Faults
    clock: Callable[[], float]
    #: A wait that ends within this many seconds keeps its runner; a longer one gives the process up.
    hot_wait_seconds: float
    #: The waiting sessions that keep their runners, within the hot-memory budget.
    hot: HotWaits
    #: A suspended sleep's runner is started this early so that it has replayed when the timer is due.
    prewarm_seconds: float
    #: Called once when the driver's runner is gone (finished, suspended, stopped or dead); False when
    #: another driver has taken the session over meanwhile.
    on_ended: Callable[[SessionDriver], bool]
    #: Whether the session is still this process's: False once another has taken it over (on Temporal, a
    #: stretch given to another worker), and then its runner here stops at its next step.
    still_holds: Callable[[str], bool]
    #: Run the session again after this many seconds (its runner died).
    relaunch: Callable[[str, float], None]
    #: A session now waits in its runner: it no longer counts as running user code.
    on_waiting: Callable[[], None]
    #: How often a session's runner may die and the session be replayed before it ends in error.
    runner_attempts: int
    #: Each runner's limits (to name the one a dead runner reached).
    limits: Limits


class SessionDriver:
    def __init__(
        self, context: DriverContext, session_id: str, telemetry: SessionTelemetry, session: Session | None = None
    ) -> None:
        """`session`: the session as just read, when the caller has it (else the driver reads it)."""
        self._cx = context
        self.session_id = session_id
        self._known = session
        #: The session's metrics, trace and log context, shared by all its runners.
        self._telemetry = telemetry
        self._heard = False  # from this runner yet
        self.proc: RunnerProcess | None = None
        self.pending_wait: int | None = None
        self.suspended = False
        self.stopping = False
        self.finished = False
        self.durable = True
        #: The runner asked to keep its process through waits (an ops.yml command is running).
        self.hold_waits = False
        self._session: Session | None = None
        self._ops: HostOps | None = None
        self._log_seq = 0
        #: What each sleep this runner waits in is (its journal entry is written when its timer fires).
        self._sleeps: dict[int, StepDetails] = {}
        #: The wall-clock timeout: time runs while the runner runs user code, not while it waits.
        self._timeout: float | None = None
        self._ran_before = 0.0  # in earlier runners
        self._ran = 0.0  # in this one, up to `_running_since`
        self._running_since: float | None = None
        self._deadline: asyncio.TimerHandle | None = None

    @property
    def alive(self) -> bool:
        """True while the runner runs user code for this session (not suspending, not ending)."""
        return not (self.suspended or self.stopping or self.finished)

    @property
    def runner_pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def give_up_runner(self) -> None:
        """Memory or a runner is wanted elsewhere: suspend now if the session is waiting in its runner."""
        if self.pending_wait is not None and self.alive:
            self._suspend()

    # -- lifecycle -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Drive the session until its runner is gone; never raises."""
        with self._telemetry.bound():
            try:
                await self._run()
            except Exception as err:  # a bug between the messages: the session must still end
                self._contain("driving the session", err)
            finally:
                try:
                    await self._runner_gone()
                except Exception as err:
                    log.error("session %s: recording that its runner ended failed", self.session_id, exc_info=err)

    async def _run(self) -> None:
        cx = self._cx
        session, self._known = self._known or cx.store.get_session(self.session_id), None
        if session is None or session.is_final:
            return
        self._log_seq = cx.store.last_log_seq(session.id)
        try:
            start = await self._launch_and_prepare(session)
        except OSError as err:
            if err.errno in RESOURCE_ERRORS:  # out of processes, memory or descriptors: not the session's fault
                self.stopping = True  # nothing to account for; the session is admitted again shortly
                log.warning("session %s waits for a runner: %s", self.session_id, err)
                cx.relaunch(self.session_id, RESOURCE_RETRY_SECONDS)
                return
            self._start_failed(err)
            return
        except PurrflowError as err:  # a broken deployment, a team this server will not run
            self._start_failed(err)
            return
        except Exception as err:
            self._contain("preparing the session's start", err)
            return
        proc = self.proc
        assert proc is not None  # launched by _launch_and_prepare
        streaming: asyncio.Task[None] | None = None
        try:
            proc.writer.write(encode(start))
            await proc.writer.drain()
            if start.more_journal:  # the rest of a long journal, while the runner replays the first page
                last = start.journal[-1][0]
                streaming = asyncio.get_running_loop().create_task(self._stream_journal(proc.writer, last))
            self._clock_runs()
            await self._serve(proc.reader)
        except (ConnectionError, OSError):
            pass
        finally:
            if streaming is not None:
                streaming.cancel()
            proc.writer.close()

    async def _stream_journal(self, writer: asyncio.StreamWriter, after: int) -> None:
        """Send the journal after step `after`, a page at a time, each read once the last is on its way (the
        runner reads them as its replay reaches them, before it asks for anything)."""
        try:
            while self.alive:
                page = self._cx.host.journal_after(self.session_id, after)
                last = len(page) < JOURNAL_PAGE
                writer.write(encode(JournalChunk(page, last=last)))
                if last:
                    return
                after = page[-1][0]
                await writer.drain()
        except (ConnectionError, OSError):
            return  # the runner is gone; its driver accounts for that
        except Exception as err:
            self._contain("sending the journal", err)

    async def _launch_and_prepare(self, session: Session) -> StartSession:
        """What the session starts with, and a runner for it: a warm one of its shape when one is ready."""
        start = self._prepare(session)
        proc = await self._cx.launcher.launch(start.prime)
        self.proc = proc
        return replace(start, prime=None) if proc.warm else start

    def _prepare(self, session: Session) -> StartSession:
        cx = self._cx
        # Its writes stand alone (a session marked running, at most), and a restart resumes the session from
        # where it was before them: they ride with the next commit.
        with cx.committer.write(atomic=False, urgent=False):
            cx.faults.check("prepare")
            start = cx.host.prepare(session)
        self._session = session
        self._ops = cx.host.host_ops(session)
        self.durable = session.durable
        self._timeout = cx.host.timeout(session)
        self._ran_before = session.active_seconds
        return start

    async def _serve(self, reader: asyncio.StreamReader) -> None:
        while not self.finished:
            try:
                header = await reader.readexactly(HEADER.size)
                body = await reader.readexactly(HEADER.unpack(header)[0])
            except asyncio.IncompleteReadError:
                return
            self._handle(body)

    def _start_failed(self, err: Exception) -> None:
        log.warning("session %s could not start: %s", self.session_id, err)
        self._finish_error(SessionError("RunnerStartError", f"could not start a runner: {err}"))

    async def _runner_gone(self) -> None:
        """The runner's process has ended, or was never started: account for it, and replay the session
        if it died before it finished."""
        cx = self._cx
        self._clock_stops()
        cx.hot.release(self.session_id)
        cx.host.runner_gone(self.session_id)
        if not cx.on_ended(self) or self.finished or self.suspended or self.stopping or self.proc is None:
            return
        try:
            ended = await asyncio.wait_for(self.proc.exited(), timeout=5)
        except TimeoutError:
            ended = RunnerExit()
        if exits.used_up_cpu(ended, cx.limits):
            limit = cx.limits.cpu_seconds
            self._finish_error(
                SessionError("CpuLimitExceeded", f"the session exceeded its CPU time limit of {limit} s")
            )
            return
        reason = exits.describe(ended)
        with cx.committer.write():
            self._save_time()  # the replay's timeout counts what this runner ran
            deaths = cx.store.record_runner_death(self.session_id)
        if deaths > cx.runner_attempts:
            message = f"{reason}; its runner died {deaths} times, so the session is not replayed again"
            self._finish_error(SessionError("RunnerDied", message))
            return
        delay = exits.backoff(deaths)
        attempt = f"replay {deaths} of {cx.runner_attempts}"
        self._logs(
            [(cx.clock(), "system", f"{reason}; the session replays from its journal in {delay:g} s ({attempt})", 0)]
        )
        log.warning("session %s: %s; replaying in %g s (%s)", self.session_id, reason, delay, attempt)
        cx.relaunch(self.session_id, delay)

    # -- the wall-clock timeout ----------------------------------------------------------------
    def _clock_runs(self) -> None:
        """User code runs (again): time counts, and the timeout is armed for what is left of it."""
        if self._running_since is not None or not self.alive:
            return
        self._cx.hot.release(self.session_id)
        loop = asyncio.get_running_loop()
        self._running_since = loop.time()
        if self._timeout is not None:
            left = self._timeout - self._ran_before - self._ran
            self._deadline = loop.call_later(
                max(0.0, left), bridged(self._guarded("ending a timed-out session", self._timed_out))
            )

    def _save_time(self) -> None:
        """Record the time this runner ran outside waits (in the caller's write), if the timeout needs it."""
        if self._timeout is not None and self._ran:
            self._cx.store.add_active_time(self.session_id, self._ran)
            self._ran_before += self._ran
            self._ran = 0.0

    def _clock_stops(self) -> None:
        """The session waits (or its runner is gone): time stops counting."""
        if self._running_since is None:
            return
        self._ran += asyncio.get_running_loop().time() - self._running_since
        self._running_since = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        if not self.alive:
            return
        self._clock_stops()
        self._finish_error(
            SessionError(
                "Timeout",
                f"the session ran for longer than its timeout of {self._timeout:g} s"
                " (time spent waiting does not count)",
            )
        )
        if self.proc is not None:
            self.proc.kill()

    def kill(self) -> None:
        """The session was stopped: end its process."""
        self.stopping = True
        if self.proc is not None:
            self.proc.kill()

    def abandon(self) -> None:
        """Server shutdown: end the process but keep the session as it is, to resume on next start."""
        self.stopping = True
        if self.proc is not None:
            self.proc.kill()

    # -- the boundary --------------------------------------------------------------------------
    def _handle(self, body: bytes) -> None:
        if not self.alive:
            return  # after Suspend/stop the process is on its way out; nothing more it says counts
        if not self._heard:
            self._heard = True
            self._telemetry.heard(self._cx.clock())
        message: object = None
        try:
            message = decode_from_runner(body)
            self._dispatch(message)
        except Exception as err:
            self._contain(_describe(message), err, message)

    def _dispatch(self, message: object) -> None:
        if isinstance(message, _StepMessage | Finished):
            if not self._cx.still_holds(self.session_id):
                self._taken_over()
                return
            if not self._keep_files(message):
                return
        if isinstance(message, StepRecorded):
            self._cx.faults.check("step")
            details = StepDetails(message.args, message.started_at or None, message.attempt, message.retried)
            self._journal(
                message.seq, message.name, message.payload, message.failed, reply=StepAck(message.seq), details=details
            )
            self._journaled("activity", message.name, message.seq, details, message.failed)
        elif isinstance(message, CallHost):
            self._call_host(message)
        elif isinstance(message, Wait):
            self._wait(message)
        elif isinstance(message, LogLines):
            self._cx.faults.check("logs")
            self._logs([(line.ts, line.stream, line.text, line.position) for line in message.lines])
        elif isinstance(message, Finished):
            self._cx.faults.check("finish")
            self._finished(message)
        else:
            raise InternalError(f"the runner sent a message the host does not know: {type(message).__name__}")

    def _taken_over(self) -> None:
        """Another process runs the session now (this one lost Temporal for longer than a heartbeat's
        timeout): its runner here ends before it journals anything more, or runs anything more."""
        log.warning("session %s was taken over by another worker: its runner here stops", self.session_id)
        self.abandon()

    def _keep_files(self, message: _StepMessage | Finished) -> bool:
        """What the runner wrote to its folders up to this message, kept in the commit of what it says (a
        journaled step has its files kept); False when they could not be, and the step failed (or the
        session ended) for it."""
        try:
            self._cx.host.keep_files(self.session_id)
        except PurrflowError as err:
            if isinstance(message, Finished):
                self._finish_error(SessionError(type(err).__name__, str(err)))
            else:
                self._fail_step(message, err)
            return False
        return True

    def _contain(self, what: str, err: Exception, message: object = None) -> None:
        """An unexpected exception: fail the step `message` carried, else the session; log it once."""
        log.error("session %s: the host failed while %s", self.session_id, what, exc_info=err)
        failure = InternalError(
            f"purrflow failed while {what}: {type(err).__name__}: {err}",
            hint="the host's log has the details (under `purr run`, the line above); "
            "this is a bug in purrflow or a problem with its database",
        )
        if isinstance(message, _StepMessage) and self.alive:
            try:
                self._fail_step(message, failure)
                return
            except Exception as second:  # the journal itself refuses: end the session instead
                log.error("session %s: recording the failure failed too", self.session_id, exc_info=second)
        if not self.finished:
            try:
                self._finish_error(SessionError("InternalError", failure.message))
                if self.proc is not None:
                    self.proc.kill()  # the session has ended; whatever its runner does next counts for nothing
            except Exception as third:  # nothing can be recorded: give up the process; a restart resumes it
                log.error("session %s: the session's end could not be recorded", self.session_id, exc_info=third)
                self.abandon()

    def _fail_step(self, message: _StepMessage, failure: PurrflowError) -> None:
        payload = pickle.dumps(failure)
        reply: object
        if isinstance(message, StepRecorded):
            name, reply = message.name, StepAck(message.seq, failure=payload)
        elif isinstance(message, CallHost):
            name, reply = message.op.step, CallResult(message.seq, payload, True)
        else:
            name, reply = message.wait.step, WaitResult(message.seq, payload, True)
        if isinstance(message, Wait):
            self.pending_wait = None
        self._journal(message.seq, name, payload, True, reply=reply)

    def _guarded(self, what: str, action: Callable[[], None], message: object = None) -> Callable[[], None]:
        """`action`, to run after a commit, inside the same boundary as the message it answers."""

        def run() -> None:
            with self._telemetry.bound():
                try:
                    action()
                except Exception as err:
                    self._contain(what, err, message)

        return run

    # -- messages ------------------------------------------------------------------------------
    def send(self, message: object) -> None:
        if self.proc is not None and not self.proc.writer.is_closing():
            self.proc.writer.write(encode(message))

    def _journal(
        self, seq: int, name: str, payload: bytes, failed: bool, *, reply: object, details: StepDetails = NO_DETAILS
    ) -> None:
        cx = self._cx
        with cx.committer.write(atomic=False):
            cx.journal.append(self.session_id, seq, name, payload, failed, details)
        cx.committer.after_commit(lambda: self.send(reply), self.kill)

    def _call_host(self, message: CallHost) -> None:
        assert self._ops is not None  # set before the runner starts
        cx, op = self._cx, message.op
        details = StepDetails(summarize_op(op), cx.clock())  # its duration ends when its result is journaled
        try:
            with cx.committer.write():
                cx.faults.check(f"host.{op.step.label}")
                value = op.perform(self._ops)
                payload, failed = pickle.dumps(value), False
                cx.journal.append(self.session_id, message.seq, op.step, payload, failed, details)
        except PurrflowError as err:  # the call's own failure: the handler sees it raised
            payload, failed = pickle.dumps(err), True
            with cx.committer.write(atomic=False):
                cx.journal.append(self.session_id, message.seq, op.step, payload, failed, details)
        reply = CallResult(message.seq, payload, failed)
        cx.committer.after_commit(lambda: self.send(reply), self.kill)
        self._journaled("host", op.step.label, message.seq, details, failed)

    def _journaled(self, kind: str, name: str, seq: int, details: StepDetails, failed: bool) -> None:
        """Once the step's entry is committed: its latency and its span (from when it began)."""
        started = details.started_at
        if started is not None:
            telemetry, clock = self._telemetry, self._cx.clock
            self._cx.committer.after_commit(
                lambda: telemetry.step(kind, name, seq, details.attempt, started, clock(), failed)
            )

    def _wait(self, message: Wait) -> None:
        cx, wait = self._cx, message.wait
        self.hold_waits = self.hold_waits or message.hold
        done = cx.journal.entry(self.session_id, message.seq)
        if done is not None:  # it ended while this runner was still replaying towards it
            self.send(WaitResult(message.seq, done.payload, done.failed))
            return
        cx.faults.check(f"wait.{wait.kind}")
        if isinstance(wait, SleepUntil):
            received = cx.clock()
            with cx.committer.write():
                timer = cx.store.put_timer(self.session_id, message.seq, wait.step, wait.until)
            # A replayed sleep keeps its first deadline, so it began as long before that as it lasts.
            self._sleeps[message.seq] = StepDetails(message.args, timer.fire_at - (wait.until - received))
            begin = self._guarded("starting a sleep", lambda: self._begin_sleep(message.seq, timer.fire_at), message)
            cx.committer.after_commit(begin)
            return
        assert self._session is not None  # set before the runner starts
        try:
            with cx.committer.write():
                result = cx.host.open_wait(self._session, message.seq, wait)
        except PurrflowError as err:  # a malformed wait (an unknown subscription, a bad prompt)
            failure = pickle.dumps(err)
            self._journal(message.seq, wait.step, failure, True, reply=WaitResult(message.seq, failure, True))
            return
        if result is not None:
            cx.committer.after_commit(lambda: self.send(WaitResult(message.seq, result)), self.kill)
            return
        self.pending_wait = message.seq
        self._clock_stops()
        cx.committer.after_commit(self._guarded("waiting", lambda: self._hold(message.seq), message))

    def _hold(self, seq: int) -> None:
        """Keep the process while the hot-memory budget allows, for the hot-wait limit at most."""
        # One that cannot be replayed (or runs a command) keeps its process however long it waits.
        if self.durable and not self.hold_waits:
            if not self._cx.hot.hold(self):
                self._give_up(seq)
                return
            asyncio.get_running_loop().call_later(self._cx.hot_wait_seconds, bridged(self._give_up), seq)
        self._show_waiting()
        self._cx.on_waiting()

    def _give_up(self, seq: int) -> None:
        if self.pending_wait != seq or not self.alive:
            return
        self._suspend()

    def _suspend(self) -> None:
        self._clock_stops()
        self._cx.hot.release(self.session_id)
        self.suspended = True
        self.send(Suspend())
        with self._cx.committer.write():
            self._save_time()
            self._cx.store.set_session_state(self.session_id, "waiting")

    def _show_waiting(self) -> None:
        """The session waits in its runner: its state says so, as it would once suspended (whatever ends
        the wait sets it running again, in the commit that journals how it ended). Nothing waits for this
        write, and a restart finds a waiting session by its wait either way."""
        with self._cx.committer.write(atomic=False, urgent=False):
            self._cx.store.set_session_state(self.session_id, "waiting")

    def answer(self, seq: int, payload: bytes) -> None:
        """A wait this runner is blocked on ended (its result is already journaled)."""
        self.pending_wait = None
        self._clock_runs()
        self.send(WaitResult(seq, payload))

    def _begin_sleep(self, seq: int, fire_at: float) -> None:
        if not self.alive:
            return
        cx = self._cx
        if fire_at <= cx.clock():
            # Due already (a replay past its deadline): it ends now. Held as a wait instead, it could lend its
            # runner to a queued session before its timer fired, and two such sessions suspend each other
            # forever.
            self.pending_wait = seq
            self.timer_fired(seq)
            return
        # A non-durable session cannot be replayed, so it keeps its process however long it waits; so
        # does one running an external command, which replay would start again.
        keep = not self.durable or self.hold_waits
        if keep or fire_at - cx.clock() <= cx.hot_wait_seconds:
            self.pending_wait = seq
            self._clock_stops()
            if keep or cx.hot.hold(self):
                cx.timers.schedule(self.session_id, seq, fire_at)
                self._show_waiting()
                cx.on_waiting()
                return
        if self.alive:  # (the budget may have suspended it already)
            self._suspend()
        cx.timers.schedule(self.session_id, seq, fire_at - cx.prewarm_seconds)

    def timer_fired(self, seq: int) -> None:
        """The timer of step `seq` is due; answer it if the runner is waiting on exactly that."""
        if self.pending_wait != seq or not self.alive:
            return  # the runner is still replaying towards this wait; its Wait re-arms the timer
        self.pending_wait = None
        cx = self._cx
        try:
            with cx.committer.write():
                cx.store.delete_timer(self.session_id, seq)
                cx.journal.append(self.session_id, seq, StepName.SLEEP, _NONE, False, self._sleeps.pop(seq, NO_DETAILS))
                cx.store.set_session_state(self.session_id, "running")  # (it showed waiting, in its runner)
        except Exception as err:
            with self._telemetry.bound():  # called by the timers, outside the session's task
                self._contain("ending a sleep", err)
            return
        self._clock_runs()
        cx.committer.after_commit(lambda: self.send(WaitResult(seq, _NONE)), self.kill)

    def _logs(self, lines: list[tuple[float, str, str, int]]) -> None:
        records = []
        for ts, stream, text, position in lines:
            self._log_seq += 1
            records.append(LogRecord(seq=self._log_seq, ts=ts, stream=stream, text=text, position=position))
        self._cx.logs.append(self.session_id, records)

    def _finished(self, message: Finished) -> None:
        self._clock_stops()
        if message.failure is None:
            self.finished = True
            end = SessionEnd("completed", message.result, message.result_repr, completion=message.completion)
            self._cx.host.finish(self.session_id, end)
            self._telemetry.ended("completed", self._cx.clock())
            return
        failure = message.failure
        self._finish_error(SessionError(failure.type, failure.message, failure.traceback), message.completion)

    def _finish_error(self, error: SessionError, completion: bytes | None = None) -> None:
        self._clock_stops()
        self.finished = True
        self._logs([(self._cx.clock(), "system", f"session failed: {error.type}: {error.message}", 0)])
        self._cx.host.finish(self.session_id, SessionEnd("error", error=error, completion=completion))
        self._telemetry.ended("error", self._cx.clock(), f"{error.type}: {error.message}")


def _describe(message: object) -> str:
    """What the host was doing, for a person reading the error."""
    if isinstance(message, CallHost):
        return f"performing {message.op.step.label}() (step {message.seq})"
    if isinstance(message, Wait):
        return f"opening a {message.wait.kind} wait (step {message.seq})"
    if isinstance(message, StepRecorded):
        return f"journaling step {message.seq} ({message.name})"
    if isinstance(message, LogLines):
        return "recording output"
    if isinstance(message, Finished):
        return "recording the session's end"
    return "reading a message from the runner"
