"""Why a runner ended before its session did, in words a person can act on, and when to try again.

A runner that dies — a signal, the OOM killer, `os._exit` — does not end its session: the session is
replayed from its journal in a new runner after a short backoff (the step that was in flight runs again,
at least once, as documented), a bounded number of times. Only a runner that used up its CPU time ends
the session at once: it would do the same again.
"""

from __future__ import annotations

import signal

from purrflow.engine.seams import RunnerExit
from purrflow.wire import Limits

#: Seconds before the first replay; each further one waits three times longer.
FIRST_BACKOFF = 0.2
_HINTS = {
    signal.SIGKILL: ": out of memory, or killed by hand?",
    signal.SIGSEGV: ": a crash in native code?",
    signal.SIGABRT: ": native code aborted",
    signal.SIGBUS: ": a crash in native code?",
}


def backoff(deaths: int) -> float:
    """How long to wait before replaying a session whose runner has died `deaths` times."""
    return FIRST_BACKOFF * float(3 ** max(0, deaths - 1))


def used_up_cpu(ended: RunnerExit, limits: Limits) -> bool:
    """Did the runner end because it reached its CPU time limit (SIGXCPU, or the hard limit's SIGKILL)?"""
    if limits.cpu_seconds is None or ended.code is None:
        return False
    if ended.code == -signal.SIGXCPU:
        return True
    return ended.code == -signal.SIGKILL and (ended.cpu_seconds or 0.0) >= limits.cpu_seconds - 0.5


def describe(ended: RunnerExit) -> str:
    if ended.code is None:
        return "the runner ended before the session finished (how is not known: the process that started it ended too)"
    if ended.code < 0:
        number = -ended.code
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "an unknown signal"
        hint = next((text for sig, text in _HINTS.items() if sig.value == number), "")
        return f"the runner was killed by signal {number} ({name}{hint})"
    return (
        f"the runner exited with status {ended.code} before the session finished"
        " (did the handler call os._exit, or exit from a thread?)"
    )
