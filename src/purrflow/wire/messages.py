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

import pickle
import struct
from dataclasses import dataclass, field
from typing import Any

from purrflow.wire.ops import HostOp
from purrflow.wire.retries import NO_RETRIES, RetryPolicy
from purrflow.wire.sandbox import Limits, SandboxSpec
from purrflow.wire.waits import WaitSpec

HEADER = struct.Struct(">I")
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: The zygote's control protocol: the host sends FORK_REQUEST with the runner's socket attached
#: (SCM_RIGHTS); the zygote answers with notes — (b"F", pid, 0, 0) when it forked that runner,
#: (b"R", errno, 0, 0) when it could not fork, and (b"X", pid, exit code, CPU seconds) when one of its
#: runners ended (a negative code is the signal).
FORK_REQUEST = b"F"
ZYGOTE_NOTE = struct.Struct(">cidd")
FORKED = b"F"
REFUSED = b"R"
EXITED = b"X"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One finished step: its sequence number, name, and pickled outcome (a value or an exception).
    A failed attempt under a retry policy carries its `attempt` number and whether it was `retried`:
    replay follows that decision instead of taking it again."""

    seq: int
    name: str
    payload: bytes
    failed: bool = False
    attempt: int = 0
    retried: bool = False


@dataclass(frozen=True, slots=True)
class Failure:
    """How a session ended in error: enough to show a person, no user classes needed to read it."""

    type: str
    message: str
    traceback: str = ""


# host → runner ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartSession:
    session_id: str
    project_dir: str
    entrypoint: str  # "file.py:function" or "ops:<command>"
    event: dict[str, Any]  # {"event_type", "event_id", "data"}
    journal: list[JournalEntry]
    env: dict[str, str] = field(default_factory=dict)
    durable: bool = True
    #: Output already recorded: (step position, lines printed at that position). Replay stays silent
    #: until it has passed that point, so every line is logged once however often the session replays.
    output_position: tuple[int, int] = (0, 0)
    #: Where the runner runs: None runs it as the server's user, seeing what the server sees.
    sandbox: SandboxSpec | None = None
    limits: Limits = field(default_factory=Limits)
    #: The deployment's installed requirements.txt: put in front of `sys.path` before the project is imported.
    site_dir: str | None = None
    #: How activities that set no retry policy of their own are retried (the trigger's `retries`).
    retries: RetryPolicy = NO_RETRIES


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
HostMessage = StartSession | StepAck | CallResult | WaitResult | Suspend


# framing ---------------------------------------------------------------------------------------


def encode(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> object:
    return pickle.loads(body)
