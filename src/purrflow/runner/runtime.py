"""The runner's implementation of the SDK runtime: steps, replay, host calls and durable waits.

Replay is local: the host sends the whole journal with `StartSession`, so replaying k steps costs no
round trips. A new step is journaled write-ahead: the runner sends its outcome and waits for the
host's acknowledgement (the commit) before user code continues.

A step whose result cannot be pickled, or whose pickle is over `MAX_RESULT_BYTES`, *runs live*: its
journal entry is a marker (`LIVE_MARKER`, which no pickle can be) that keeps its place in the sequence,
and replay runs the function again at that place instead of returning a journaled result.

A step under a retry policy (`RetryPolicy`: its own, or the session's trigger's) journals each failed
attempt as a step of its own, marked retried or not, and waits before the next one in a durable sleep.
Replay walks the attempts from the journal, following each recorded decision, and runs none of them again.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from purrflow.errors import InvalidInputError, NonDeterminismError, RemoteError, SessionSuspended
from purrflow.rules.prompts import SECRET_TYPES
from purrflow.rules.sizes import describe_size
from purrflow.runner.channel import HostLink
from purrflow.runner.classify import CallKind, classify, register_no_activity
from purrflow.runner.output import valid_text
from purrflow.wire import (
    NO_RETRIES,
    CallHost,
    CallResult,
    HostOp,
    JournalChunk,
    JournalEntry,
    JournalRecord,
    LogLine,
    LogLines,
    PromptWait,
    RetryPolicy,
    SecretGet,
    SecretSet,
    SleepUntil,
    StepAck,
    StepRecorded,
    Suspend,
    Wait,
    WaitResult,
    WaitSpec,
    summarize_call,
)

M = TypeVar("M")
R = TypeVar("R")

#: The largest pickled step result that is journaled; a larger one runs live (again on replay).
MAX_RESULT_BYTES = 1024 * 1024
#: The payload of a live step's journal entry. Every pickle has at least one byte, so it is never a result.
LIVE_MARKER = b""
#: What an attempt returns when it failed and is tried again (no user code can return it).
_RETRY: Any = object()


class PrimingRefused(BaseException):
    """The project's code asked for a session's service (a step, a host call, a wait) while it was imported
    before any session was known: this deployment cannot have warm runners; its sessions import it after
    they start. A BaseException, so that the module's own `except Exception:` does not hide it."""


class _NoSessionYet:
    """The host link of a runtime not yet given its session: every request is refused."""

    def send(self, message: object) -> None:
        raise PrimingRefused(f"{type(message).__name__} before a session started")

    def recv(self) -> object:
        raise PrimingRefused("a reply before a session started")


class SessionRuntime:
    """Everything one session's process needs to turn calls into durable steps.

    Made with `priming()` before its session is known (a warm runner imports the project then; what it
    prints is held back), and given its session with `begin()`.
    """

    def __init__(
        self,
        channel: HostLink,
        *,
        session_id: str,
        project_dir: str,
        journal: Iterable[JournalRecord],
        output_position: tuple[int, int] = (0, 0),
        retries: RetryPolicy = NO_RETRIES,
    ) -> None:
        self._channel = channel
        self._session_id = session_id
        self.project_dir = os.path.realpath(project_dir)
        #: The journal as sent (plain tuples, by seq), named as replay reaches each entry.
        self._journal: dict[int, JournalRecord] = {entry[0]: entry for entry in journal}
        #: More of the journal is on its way (`JournalChunk`s, read as replay reaches them).
        self._more_journal = False
        #: Output printed before `begin` (while the project was imported), sent once the session is known.
        self._held: list[tuple[str, list[str]]] | None = None
        self._next_seq = 1
        self._in_activity = False
        self._inhibited = 0
        self._warned_live: set[str] = set()
        self._quiet_until, self._quiet_lines = output_position
        self._retries = retries
        #: Secret values the session has read or set: never part of a step's argument summary.
        self._secrets: set[str] = set()
        #: Set while an external process (an ops.yml command) runs: its waits must keep this process.
        self.hold_waits = False

    @classmethod
    def priming(cls, project_dir: str) -> SessionRuntime:
        """A runtime for importing the project before any session is known."""
        runtime = cls(_NoSessionYet(), session_id="", project_dir=project_dir, journal=[])
        runtime._held = []
        return runtime

    def begin(
        self,
        channel: HostLink,
        *,
        session_id: str,
        journal: Iterable[JournalRecord],
        output_position: tuple[int, int],
        retries: RetryPolicy,
        more_journal: bool = False,
    ) -> None:
        """The session is known: talk to its host from now on, and send what was printed before."""
        self._channel = channel
        self._session_id = session_id
        self._journal = {entry[0]: entry for entry in journal}
        self._more_journal = more_journal
        self._quiet_until, self._quiet_lines = output_position
        self._retries = retries
        held, self._held = self._held or [], None
        for stream, lines in held:
            self.emit(stream, lines)

    @property
    def session_id(self) -> str | None:
        return self._session_id or None

    # -- the call hook installed into rewritten project modules ---------------------------------
    def dispatch_call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if self._in_activity or self._inhibited:
            return fn(*args, **kwargs)
        decision = classify(fn, self.project_dir)
        if decision.kind is CallKind.DIRECT:
            return fn(*args, **kwargs)
        if decision.kind is CallKind.SLEEP:
            seconds = args[0] if args else kwargs.get("secs", kwargs.get("seconds", 0))
            return self.sleep(float(seconds))
        return self.run_step(decision.name, fn, args, kwargs)

    # -- steps ---------------------------------------------------------------------------------
    def run_step(
        self,
        name: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        retry: RetryPolicy | None = None,
    ) -> Any:
        if self._in_activity:  # everything inside an activity is part of that one step
            return fn(*args, **kwargs)
        policy = self._retries if retry is None else retry
        attempt = 1
        while True:
            value = self._attempt(name, fn, args, kwargs, attempt, policy)
            if value is not _RETRY:
                return value
            delay = policy.delay(attempt)
            attempt += 1
            self._wait(SleepUntil(time.time() + delay), f"backoff {delay:g} s before attempt {attempt}")

    def _attempt(
        self, name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], attempt: int,
        policy: RetryPolicy,
    ) -> Any:  # fmt: skip
        """One attempt of step `name`: its result (or its journaled one), or `_RETRY` when it failed and
        is tried again. Failures not retried are raised."""
        entry = self._peek(name)
        if entry is not None and not _is_live_marker(entry):
            self._next_seq += 1
            return _RETRY if entry.retried else _outcome(entry.payload, entry.failed)
        # A new step, or a live one being replayed: it runs at the position it ran at the first time, so
        # its output lines (and the note about running live) are the ones that run already logged.
        started, summary = time.time(), summarize_call(args, kwargs, self._secrets)  # before the call changes them
        numbered = attempt if policy.retries else 0
        self._in_activity = True
        try:
            value = fn(*args, **kwargs)
        except Exception as err:
            self._in_activity = False
            if entry is not None:  # it succeeded the first time; the handler sees how it fails now
                self._next_seq += 1
                raise
            retried = policy.retries_after(err, attempt)
            self._record(name, _pickle_exception(err), True, started, summary, numbered, retried)
            if retried:
                return _RETRY
            raise
        finally:
            self._in_activity = False
        if entry is not None:  # replaying a live step: only the note about it is left to repeat
            if name not in self._warned_live and (why_live := _encode_result(value)[1]) is not None:
                self._warn_live(name, value, why_live)
            self._next_seq += 1
            return value
        payload, why_live = _encode_result(value)
        if why_live is not None:
            self._warn_live(name, value, why_live)
        self._record(name, LIVE_MARKER if payload is None else payload, False, started, summary, numbered)
        return value

    def notify(self, text: str) -> None:
        self.emit("ux", [text])

    def emit_line(self, stream: str, text: str) -> None:
        self.emit(stream, text.split("\n"))

    def register_no_activity(self, items: Any) -> None:
        register_no_activity(items)

    def run_inhibited(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run `fn` with no automatic steps inside (SDK calls still are steps)."""
        self._inhibited += 1
        try:
            return fn(*args, **kwargs)
        finally:
            self._inhibited -= 1

    def call_host(self, op: HostOp[R]) -> R:
        if self._in_activity:
            raise InvalidInputError(
                f"{op.step.label}() cannot be called inside an @activity",
                hint="call it from the handler (or a plain function) before or after the activity",
            )
        if isinstance(op, SecretSet) and op.value:
            self._secrets.add(op.value)
        entry = self._replay(op.step)
        if entry is not None:
            result: R = _outcome(entry.payload, entry.failed)
        else:
            seq = self._take_seq()
            self._channel.send(CallHost(seq=seq, op=op))
            reply = self._expect(CallResult, seq)
            result = _outcome(reply.payload, reply.failed)
        if isinstance(op, SecretGet) and isinstance(result, dict) and result.get("found") and result.get("value"):
            self._secrets.add(str(result["value"]))
        return result

    def sleep(self, seconds: float) -> None:
        if self._in_activity:
            time.sleep(seconds)
            return
        self._wait(SleepUntil(time.time() + max(0.0, seconds)), f"{seconds:g} s")

    def wait(self, wait: WaitSpec) -> Any:
        """A durable wait: the host answers it (possibly after this process was replaced)."""
        return self._wait(wait, "")

    def _wait(self, wait: WaitSpec, args: str) -> Any:
        """`wait`, with what it is for the journal (`args`)."""
        if self._in_activity:
            raise InvalidInputError(
                f"{wait.step.label}() cannot wait inside an @activity",
                hint="wait in the handler, before or after the activity",
            )
        entry = self._replay(wait.step)
        if entry is not None:
            answer = _outcome(entry.payload, entry.failed)
        else:
            seq = self._take_seq()
            self._channel.send(Wait(seq=seq, wait=wait, hold=self.hold_waits, args=args))
            reply = self._expect(WaitResult, seq)
            answer = _outcome(reply.payload, reply.failed)
        if isinstance(wait, PromptWait) and wait.spec.get("type") in SECRET_TYPES and answer:
            self._secrets.add(str(answer))
        return answer

    # -- output --------------------------------------------------------------------------------
    def emit(self, stream: str, lines: list[str]) -> None:
        """Send output lines, except those an earlier run of this session already logged."""
        if self._held is not None:
            self._held.append((stream, lines))
            return
        position = self._next_seq - 1
        if position < self._quiet_until:
            return
        if position == self._quiet_until and self._quiet_lines:
            skipped = min(self._quiet_lines, len(lines))
            self._quiet_lines -= skipped
            lines = lines[skipped:]
        if not lines:
            return
        now = time.time()
        self._channel.send(
            LogLines([LogLine(ts=now, stream=stream, text=valid_text(line), position=position) for line in lines])
        )

    # -- internals -----------------------------------------------------------------------------
    def _replay(self, name: str) -> JournalEntry | None:
        """The journal entry at this position (consumed), or None past the journal's end."""
        entry = self._peek(name)
        if entry is not None:
            self._next_seq += 1
        return entry

    def _peek(self, name: str) -> JournalEntry | None:
        """The journal entry at this position, if it is a step called `name`; None past the journal's end."""
        record = self._journal.get(self._next_seq)
        while record is None and self._more_journal:
            self._receive_journal()
            record = self._journal.get(self._next_seq)
        if record is None:
            return None
        entry = JournalEntry._make(record)
        if entry.name != name:
            raise NonDeterminismError(
                f"non-deterministic replay at step {entry.seq}: journal has {entry.name}, code called {name}",
                hint="the code changed under a running session; deploy the old code back, or stop the session",
            )
        return entry

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _record(
        self, name: str, payload: bytes, failed: bool, started: float, args: str, attempt: int, retried: bool = False
    ) -> None:
        """Journal the step at the next position and wait for the host's commit."""
        seq = self._take_seq()
        self._channel.send(StepRecorded(seq, name, payload, failed, started, args, attempt, retried))
        ack = self._expect(StepAck, seq)
        if ack.failure is not None:  # the host could not journal it: the handler sees why
            raise pickle.loads(ack.failure)

    def _receive_journal(self) -> None:
        """The next part of a streamed journal (it comes before any reply: the runner asks for nothing
        until it has replayed the whole journal)."""
        chunk = self._channel.recv()
        if not isinstance(chunk, JournalChunk):
            raise RuntimeError(f"protocol error: expected more of the journal, got {chunk!r}")
        self._journal.update((entry[0], entry) for entry in chunk.entries)
        self._more_journal = not chunk.last

    def _expect(self, kind: type[M], seq: int) -> M:
        message = self._channel.recv()
        if isinstance(message, Suspend):
            raise SessionSuspended()
        if not isinstance(message, kind) or getattr(message, "seq", None) != seq:
            raise RuntimeError(f"protocol error: expected {kind.__name__} for step {seq}, got {message!r}")
        return message

    def _warn_live(self, name: str, value: object, why: str) -> None:
        if name in self._warned_live:
            return
        self._warned_live.add(name)
        self.emit(
            "system",
            [
                f"step {name} returned a {type(value).__name__}, which {why}; "
                "it runs live: only its place in the journal is recorded, and it runs again on replay"
            ],
        )


def _encode_result(value: object) -> tuple[bytes | None, str | None]:
    """(the pickled result, None), or (None, why it runs live): it cannot be pickled, or is too large."""
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:
        return None, f"cannot be pickled ({type(err).__name__}: {err})"
    if len(payload) > MAX_RESULT_BYTES:
        return (
            None,
            f"is too large to journal: {describe_size(len(payload))} pickled,"
            f" over the limit of {describe_size(MAX_RESULT_BYTES)}",
        )
    return payload, None


def _is_live_marker(entry: JournalEntry) -> bool:
    return entry.payload == LIVE_MARKER and not entry.failed


def _pickle_exception(err: BaseException) -> bytes:
    try:
        payload = pickle.dumps(err, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(payload)
        return payload
    except Exception:
        stand_in = RemoteError(str(err), type_name=f"{type(err).__module__}.{type(err).__qualname__}")
        return pickle.dumps(stand_in, protocol=pickle.HIGHEST_PROTOCOL)


def _outcome(payload: bytes, failed: bool) -> Any:
    value = pickle.loads(payload)
    if failed:
        raise value
    return value
