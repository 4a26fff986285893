"""One runner conversation: start (or replay) a session in a runner and serve its messages.

A driver lives as long as its runner process. When the session suspends, is stopped, finishes or its
runner dies, the driver ends; resuming a session later is a new driver replaying the journal.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from typing import TYPE_CHECKING

from purrflow.engine.protocol import (
    HEADER,
    CallHost,
    CallResult,
    Finished,
    JournalEntry,
    LogLines,
    StartSession,
    StepAck,
    StepRecorded,
    Suspend,
    Wait,
    WaitResult,
    decode,
    encode,
)
from purrflow.errors import PurrflowError
from purrflow.orchestrators.runners import RunnerProcess
from purrflow.prompt_types import check_spec
from purrflow.store import LogRecord, OpenWait, Session, SessionError

if TYPE_CHECKING:
    from purrflow.engine.engine import Engine

log = logging.getLogger("purrflow.engine.driver")
_NONE = pickle.dumps(None)
#: Host operations whose results are secrets: their journal entries are encrypted.
SEALED_OPS = frozenset({"secret_get"})


class SessionDriver:
    def __init__(self, engine: Engine, session_id: str) -> None:
        self.engine = engine
        self.session_id = session_id
        self.proc: RunnerProcess | None = None
        self.pending_wait: int | None = None
        self.suspended = False
        self.stopping = False
        self.finished = False
        self.durable = True
        #: The runner asked to keep its process through waits (an ops.yml command is running).
        self.hold_waits = False
        self.session: Session | None = None
        self._log_seq = 0

    @property
    def alive(self) -> bool:
        """True while the runner runs user code for this session (not suspending, not ending)."""
        return not (self.suspended or self.stopping or self.finished)

    @property
    def _store(self):  # type: ignore[no-untyped-def]  # the engine's Store; typed there
        return self.engine.store

    # -- lifecycle -----------------------------------------------------------------------------
    async def run(self) -> None:
        session = self._store.get_session(self.session_id)
        if session is None or session.is_final:
            return
        try:
            start = self._prepare(session)
            self.proc = await self.engine.launcher.launch()
        except Exception as err:  # a broken deployment or no way to fork: the session cannot run
            log.exception("session %s could not start", self.session_id)
            self._finish_error(SessionError("RunnerStartError", f"could not start a runner: {err}"))
            return
        try:
            self.proc.writer.write(encode(start))
            await self.proc.writer.drain()
            await self._serve(self.proc.reader)
        except (ConnectionError, OSError):
            pass
        finally:
            self.proc.writer.close()
        self._ended()

    def _prepare(self, session: Session) -> StartSession:
        project_dir = self.engine.deployments.ensure(session.deployment_id)
        self.session = session
        self.durable = session.durable
        if not session.durable:  # a non-durable session that was interrupted runs again from the start
            with self.engine.committer.write():
                self._store.clear_journal(session.id)
        unseal = self.engine.secrets.unseal  # the runner replays secrets in clear; they rest sealed
        journal = [JournalEntry(s, n, unseal(p), f) for s, n, p, f in self._store.read_journal(session.id)]
        self._log_seq = self._store.last_log_seq(session.id)
        if session.state != "running":
            with self.engine.committer.write():
                self._store.set_session_state(session.id, "running")
        return StartSession(
            session_id=session.id,
            project_dir=str(project_dir),
            entrypoint=session.entrypoint,
            event=session.event,
            journal=journal,
            env=self.engine.session_env(session),
            durable=session.durable,
            output_position=self._store.output_position(session.id) if session.durable else (0, 0),
        )

    async def _serve(self, reader: asyncio.StreamReader) -> None:
        while not self.finished:
            try:
                header = await reader.readexactly(HEADER.size)
                body = await reader.readexactly(HEADER.unpack(header)[0])
            except asyncio.IncompleteReadError:
                return
            self._handle(decode(body))

    def _ended(self) -> None:
        engine = self.engine
        if engine.current_driver(self.session_id) is not self:
            return
        engine.forget_driver(self.session_id)
        if self.finished or self.suspended or self.stopping or engine.closing:
            return
        self._finish_error(
            SessionError(
                "RunnerExited",
                "the runner process ended before the session finished (it was killed, crashed, or called os._exit)",
            )
        )

    def kill(self) -> None:
        self.stopping = True
        if self.proc is not None:
            self.proc.kill()

    def abandon(self) -> None:
        """Server shutdown: end the process but keep the session as it is, to resume on next start."""
        if self.proc is not None:
            self.proc.kill()

    # -- messages ------------------------------------------------------------------------------
    def _handle(self, message: object) -> None:
        if not self.alive:
            return  # after Suspend/stop the process is on its way out; nothing more it says counts
        if isinstance(message, StepRecorded):
            self._journal(message.seq, message.name, message.payload, message.failed, reply=StepAck(message.seq))
        elif isinstance(message, CallHost):
            self._call_host(message)
        elif isinstance(message, Wait):
            self._wait(message)
        elif isinstance(message, LogLines):
            self._logs([(line.ts, line.stream, line.text, line.position) for line in message.lines])
        elif isinstance(message, Finished):
            self._finished(message)
        else:
            log.error("session %s: unexpected message %r", self.session_id, message)

    def send(self, message: object) -> None:
        if self.proc is not None and not self.proc.writer.is_closing():
            self.proc.writer.write(encode(message))

    def _journal(self, seq: int, name: str, payload: bytes, failed: bool, *, reply: object) -> None:
        with self.engine.committer.write(atomic=False):
            self._store.append_journal(self.session_id, seq, name, payload, failed)
        self.engine.committer.after_commit(lambda: self.send(reply), self.kill)

    def _call_host(self, message: CallHost) -> None:
        assert self.session is not None  # set before the runner starts
        try:
            with self.engine.committer.write():
                value = self.engine.ops.perform(self.session, message.op, message.args)
                payload, failed = pickle.dumps(value), False
                stored = self.engine.secrets.seal(payload) if message.op in SEALED_OPS else payload
                self._store.append_journal(self.session_id, message.seq, message.name, stored, failed)
        except PurrflowError as err:
            payload, failed = pickle.dumps(err), True
            with self.engine.committer.write():
                self._store.append_journal(self.session_id, message.seq, message.name, payload, failed)
        reply = CallResult(message.seq, payload, failed)
        self.engine.committer.after_commit(lambda: self.send(reply), self.kill)

    def _wait(self, message: Wait) -> None:
        self.hold_waits = self.hold_waits or message.hold
        done = self._store.journal_entry(self.session_id, message.seq)
        if done is not None:  # it ended while this runner was still replaying towards it
            self.send(WaitResult(message.seq, done[1], done[2]))
            return
        if message.kind == "sleep":
            until = float(message.spec.get("until", 0.0))
            with self.engine.committer.write():
                timer = self._store.put_timer(self.session_id, message.seq, message.name, until)
            self.engine.committer.after_commit(lambda: self._begin_wait(message.seq, timer.fire_at))
            return
        assert self.session is not None  # set before the runner starts
        if message.kind == "prompt":
            try:
                check_spec(message.spec)
            except PurrflowError as err:
                failure = pickle.dumps(err)
                self._journal(message.seq, message.name, failure, True, reply=WaitResult(message.seq, failure, True))
                return
            with self.engine.committer.write():
                self.engine.prompts.ask(self.session, message.seq, message.spec)
            self.pending_wait = message.seq
            self.engine.committer.after_commit(lambda: self._hold(message.seq))
            return
        if message.kind == "event":
            try:
                self.engine.events.check_owned(self.session_id, [str(n) for n in message.spec["names"]])
            except PurrflowError as err:
                self._journal(
                    message.seq,
                    message.name,
                    pickle.dumps(err),
                    True,
                    reply=WaitResult(message.seq, pickle.dumps(err), True),
                )
                return
        wait = OpenWait(
            session_id=self.session_id,
            seq=message.seq,
            project_id=self.session.project_id,
            kind=message.kind,
            names=[str(name) for name in message.spec["names"]],
            deadline=message.spec.get("deadline"),
        )
        with self.engine.committer.write():
            result = self.engine.signals.begin(wait)
        if result is not None:
            self.engine.committer.after_commit(lambda: self.send(WaitResult(message.seq, result)), self.kill)
            return
        self.pending_wait = message.seq
        self.engine.committer.after_commit(lambda: self._hold(message.seq))

    def _hold(self, seq: int) -> None:
        """Keep the process for the hot-wait limit; give it up if the wait has not ended by then."""
        if self.durable and not self.hold_waits:
            asyncio.get_running_loop().call_later(self.engine.config.hot_wait_seconds, self._give_up, seq)

    def _give_up(self, seq: int) -> None:
        if self.pending_wait != seq or not self.alive:
            return
        self.suspended = True
        self.send(Suspend())
        with self.engine.committer.write():
            self._store.set_session_state(self.session_id, "waiting")

    def answer(self, seq: int, payload: bytes) -> None:
        """A wait this runner is blocked on ended (its result is already journaled)."""
        self.pending_wait = None
        self.send(WaitResult(seq, payload))

    def _begin_wait(self, seq: int, fire_at: float) -> None:
        if not self.alive:
            return
        engine = self.engine
        # A non-durable session cannot be replayed, so it keeps its process however long it waits; so
        # does one running an external command, which replay would start again.
        if not self.durable or self.hold_waits or fire_at - engine.clock() <= engine.config.hot_wait_seconds:
            self.pending_wait = seq
            engine.timers.schedule(self.session_id, seq, fire_at)
            return
        self.suspended = True
        self.send(Suspend())
        with engine.committer.write():
            self._store.set_session_state(self.session_id, "waiting")
        engine.timers.schedule(self.session_id, seq, fire_at - engine.config.prewarm_seconds)

    def timer_fired(self, seq: int) -> None:
        """The timer of step `seq` is due; answer it if the runner is waiting on exactly that."""
        if self.pending_wait != seq or not self.alive:
            return  # the runner is still replaying towards this wait; its Wait re-arms the timer
        self.pending_wait = None
        with self.engine.committer.write():
            self._store.delete_timer(self.session_id, seq)
            self._store.append_journal(self.session_id, seq, "sleep", _NONE, False)
        self.engine.committer.after_commit(lambda: self.send(WaitResult(seq, _NONE)), self.kill)

    def _logs(self, lines: list[tuple[float, str, str, int]]) -> None:
        records = []
        for ts, stream, text, position in lines:
            self._log_seq += 1
            records.append(LogRecord(seq=self._log_seq, ts=ts, stream=stream, text=text, position=position))
        with self.engine.committer.write():
            self._store.append_logs(self.session_id, records)
        self.engine.committer.after_commit(lambda: self.engine.logs.publish(self.session_id, list(records)))

    def _finished(self, message: Finished) -> None:
        self.finished = True
        if message.failure is None:
            self.engine.finish_session(
                self.session_id,
                state="completed",
                result=message.result,
                result_repr=message.result_repr,
                completion=message.completion,
            )
            return
        failure = message.failure
        self._logs([(self.engine.clock(), "system", f"session failed: {failure.type}: {failure.message}", 0)])
        self.engine.finish_session(
            self.session_id,
            state="error",
            error=SessionError(failure.type, failure.message, failure.traceback),
            completion=message.completion,
        )

    def _finish_error(self, error: SessionError) -> None:
        self.finished = True
        self._logs([(self.engine.clock(), "system", f"session failed: {error.type}: {error.message}", 0)])
        self.engine.finish_session(self.session_id, state="error", error=error)
