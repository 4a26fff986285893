"""Messages between the host and a runner process, and their framing.

A message is a frozen dataclass, pickled and framed with a 4-byte big-endian length. The runner never
raises across this boundary: everything that happens in user code becomes a message. The host answers
every message that carries a step (`StepRecorded`, `CallHost`, `Wait`) exactly once, with the step's
outcome or with a failure the handler sees raised.

Flow of one session:
    host  → StartSession(journal=[…])
    runner replays the journal locally (no round trips), then for each new step:
    runner → StepRecorded            host journals it (group commit) → StepAck
    runner → CallHost(op)            host performs it, journals it   → CallResult
    runner → Wait(wait)              host waits (hot) → WaitResult, or gives up the process → Suspend
    runner → LogLines (any time), Finished (once, last)
"""

from __future__ import annotations

import io
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from purrflow.wire.ops import HostOp
from purrflow.wire.retries import NO_RETRIES, RetryPolicy
from purrflow.wire.sandbox import Limits, SandboxSpec
from purrflow.wire.waits import WaitSpec

HEADER = struct.Struct(">I")
#: A journal is sent to a replaying runner this many steps at a time: the first page in `StartSession`, the
#: rest in `JournalChunk`s, each read by the host while the runner replays the one before.
JOURNAL_PAGE = 1000
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: The zygote's control protocol. Each request is one byte. A zygote keeps the host supplied with *spares*:
#: runners forked in advance, each announced as (b"s", pid, 0, 0) with the host's end of its socket attached
#: (SCM_RIGHTS), so that a session starts by writing its start there. It offers one as it begins, and one
#: more for each SPARE_REQUEST, or says (b"n", errno, 0, 0) when it could not fork. (b"X", pid, exit code,
#: CPU seconds) says that one of its spares ended, used or not (a negative code is the signal).
#: SHAPE_REQUEST, with a control socket attached, asks the server's zygote for a zygote of one shape: it
#: answers (b"F", pid, 0, 0), or (b"R", errno, 0, 0) when it could not fork; the new zygote reads its
#: `Prime` (framed) from that socket, prepares itself, says (b"P", 0, 0, 0) when ready or (b"P", 1, 0, 0)
#: when it could not, and then serves spares on it the same way.
SHAPE_REQUEST = b"S"
SPARE_REQUEST = b"s"
ZYGOTE_NOTE = struct.Struct(">cidd")
FORKED = b"F"
REFUSED = b"R"
SPARE = b"s"
NO_SPARE = b"n"
EXITED = b"X"
PRIMED = b"P"


class JournalEntry(NamedTuple):
    """One finished step: its sequence number, name, and pickled outcome (a value or an exception).
    A failed attempt under a retry policy carries its `attempt` number and whether it was `retried`:
    replay follows that decision instead of taking it again.

    On the wire a journal is plain tuples of these fields (`JournalRecord`): a replay reads and sends
    thousands, and plain tuples pickle and unpickle four times faster than named ones. The runner names
    an entry when its replay reaches it."""

    seq: int
    name: str
    payload: bytes
    failed: bool = False
    attempt: int = 0
    retried: bool = False


#: A `JournalEntry` as sent: (seq, name, payload, failed, attempt, retried).
JournalRecord = tuple[int, str, bytes, bool, int, bool]


@dataclass(frozen=True, slots=True)
class Failure:
    """How a session ended in error: enough to show a person, no user classes needed to read it."""

    type: str
    message: str
    traceback: str = ""


# host → runner ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prime:
    """What a runner is prepared with before any session is known: the deployment it runs, where it runs
    and with what environment. Runners primed alike (same `key`) may take any session of that shape.

    A *warm* runner comes from a zygote of its own shape, which has shut itself in and imported
    `entry_file` already, so a session start costs neither; a cold one gets its `Prime` inside the
    `StartSession` and imports the project after the session is known.
    """

    project_dir: str
    #: The module the sessions' entrypoints live in ("program.py"); None for an ops.yml command.
    entry_file: str | None
    #: Everything of the environment that is not one session's own (see `StartSession.env`).
    env: dict[str, str] = field(default_factory=dict)
    durable: bool = True
    #: Where the runner runs: None runs it as the server's user, seeing what the server sees.
    sandbox: SandboxSpec | None = None
    limits: Limits = field(default_factory=Limits)
    #: The deployment's installed requirements.txt: put in front of `sys.path` before the project is imported.
    site_dir: str | None = None

    def key(self) -> tuple[object, ...]:
        """Equal for runners that can serve each other's sessions."""
        env = tuple(sorted(self.env.items()))
        return (self.project_dir, self.entry_file, env, self.durable, self.sandbox, self.limits, self.site_dir)


@dataclass(frozen=True, slots=True)
class StartSession:
    session_id: str
    entrypoint: str  # "file.py:function" or "ops:<command>"
    event: dict[str, Any]  # {"event_type", "event_id", "data"}
    journal: list[JournalRecord]
    #: The journal goes on in `JournalChunk`s that follow (a long one is streamed while the runner replays).
    more_journal: bool = False
    #: The session's own variables (its id, its state folder, its interface), over the prime's.
    env: dict[str, str] = field(default_factory=dict)
    #: Output already recorded: (step position, lines printed at that position). Replay stays silent
    #: until it has passed that point, so every line is logged once however often the session replays.
    output_position: tuple[int, int] = (0, 0)
    #: How activities that set no retry policy of their own are retried (the trigger's `retries`).
    retries: RetryPolicy = NO_RETRIES
    #: How to prepare the runner first; None when it is a warm one, prepared already.
    prime: Prime | None = None


@dataclass(frozen=True, slots=True)
class JournalChunk:
    """More of the journal of the session being started; `last` ends it."""

    entries: list[JournalRecord]
    last: bool = False


@dataclass(frozen=True, slots=True)
class StepAck:
    """The step is journaled. `failure` (a pickled exception) when the host could not journal it:
    the handler sees it raised by the step's call, and replay raises it again."""

    seq: int
    failure: bytes | None = None


@dataclass(frozen=True, slots=True)
class CallResult:
    seq: int
    payload: bytes  # pickled value, or pickled exception when failed
    failed: bool = False


@dataclass(frozen=True, slots=True)
class WaitResult:
    seq: int
    payload: bytes
    failed: bool = False


@dataclass(frozen=True, slots=True)
class Suspend:
    """Give up the process: the session is waiting and will be replayed when its wait ends."""


# runner → host ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepRecorded:
    """A step the runner ran itself (an activity, or one failed attempt of it). `started_at` is the wall
    clock when it began in the runner, `args` a short summary of its arguments, `attempt` its attempt
    number under a retry policy (0: it has none) and `retried` whether its failure is tried again."""

    seq: int
    name: str
    payload: bytes
    failed: bool = False
    started_at: float = 0.0
    args: str = ""
    attempt: int = 0
    retried: bool = False


@dataclass(frozen=True, slots=True)
class CallHost:
    seq: int
    op: HostOp[Any]


@dataclass(frozen=True, slots=True)
class Wait:
    seq: int
    wait: WaitSpec
    #: Keep the process however long the wait lasts (a command's process cannot be suspended and replayed).
    hold: bool = False
    #: What the wait is, for the journal ("30 s", "backoff before attempt 2").
    args: str = ""


@dataclass(frozen=True, slots=True)
class LogLine:
    ts: float
    stream: str  # "stdout" | "stderr" | "system" | "ux" | "log"
    text: str
    position: int = 0  # steps taken when it was printed


@dataclass(frozen=True, slots=True)
class LogLines:
    lines: list[LogLine]


@dataclass(frozen=True, slots=True)
class Finished:
    result: bytes | None  # pickled return value (None when it failed)
    result_repr: str = ""
    failure: Failure | None = None
    #: What a parent receives when this session was started by `start()`: {"completed", "value"}, pickled.
    completion: bytes | None = None


#: What a runner may send, and what the host may answer.
RunnerMessage = StepRecorded | CallHost | Wait | LogLines | Finished
HostMessage = Prime | StartSession | JournalChunk | StepAck | CallResult | WaitResult | Suspend


# framing ---------------------------------------------------------------------------------------


def encode(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> object:
    """A message from the host (trusted: the runner reads what its own server sent)."""
    return pickle.loads(body)


class UntrustedMessage(ValueError):
    """A runner sent something the host will not unpickle."""


#: Types of the standard library a runner's message may hold inside its data (a child's event data, an
#: analytics event's fields), beside the wire's own classes and plain containers.
_PLAIN_TYPES = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytearray"),
        ("builtins", "complex"),
        ("builtins", "slice"),
        ("collections", "OrderedDict"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("uuid", "UUID"),
    }
)


class _RunnerUnpickler(pickle.Unpickler):
    """Unpickles only classes of the wire and a few plain types.

    A runner is the team's code: it can write anything to its socket, and a plain `pickle.loads` would let
    it call any function in the host (with the server's privileges). Only classes are returned, never
    functions, and only classes defined in `purrflow.wire` or listed in `_PLAIN_TYPES`.
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PLAIN_TYPES or (
            (module == "purrflow.wire" or module.startswith("purrflow.wire.")) and "." not in name
        ):
            found = super().find_class(module, name)
            if isinstance(found, type) and (
                (found.__module__, found.__qualname__) in _PLAIN_TYPES or found.__module__.startswith("purrflow.wire.")
            ):
                return found
        raise UntrustedMessage(f"a runner may not send a {module}.{name}")


def decode_from_runner(body: bytes) -> object:
    """A message from a runner (untrusted: the team's code may have written it); `UntrustedMessage` when it
    holds anything but the wire's classes and plain data."""
    try:
        return _RunnerUnpickler(io.BytesIO(body)).load()
    except UntrustedMessage:
        raise
    except Exception as err:
        raise UntrustedMessage(f"a runner sent a message that cannot be read: {type(err).__name__}: {err}") from None
