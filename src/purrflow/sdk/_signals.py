"""Signals between sessions, in both reference forms.

- `signal(name, data=None)` / `wait_for_signal(name, timeout=None)`: project-wide and named. Every session
  waiting on `name` receives it; when none is waiting it is held, and the next session to wait on the
  name takes it (only that one).
- `signal(session_id, name, payload=None)` / `next_signal(name | [names], timeout=None)`: sent to one
  session (AutoKitteh's form), queued until that session asks for it. A session started with `start()`
  signals its parent when it ends, named after its own id: `next_signal(child_id)` returns
  `Signal(child_id, {"completed": bool, "value": …})`.

`signal()` tells the forms apart by its first argument: a session id (`ses_…`) means the targeted form.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from purrflow.errors import InvalidInputError
from purrflow.sdk import _runtime
from purrflow.wire import ProjectSignalWait, SendSignal, SessionSignalWait

_UNSET: Any = object()


@dataclass(frozen=True)
class Signal:
    name: str
    payload: Any = None


def deadline_of(timeout: timedelta | float | None, where: str) -> float | None:
    """A timeout (seconds or timedelta) as an absolute deadline; None waits forever."""
    if timeout is None:
        return None
    if isinstance(timeout, timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, int | float) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise InvalidInputError(
            f"{where}: timeout must be seconds (int or float) or a datetime.timedelta, not {type(timeout).__name__}",
            hint="e.g. timeout=30 or timeout=timedelta(minutes=5)",
        )
    if seconds < 0:
        raise InvalidInputError(f"{where}: timeout must not be negative ({seconds} s)")
    return time.time() + seconds


def _pickled(value: Any, where: str) -> bytes:
    try:
        return pickle.dumps(value)
    except Exception as err:
        raise InvalidInputError(f"{where}: the payload cannot be pickled ({err})") from None


def _names(names: str | list[str] | tuple[str, ...], where: str) -> tuple[str, ...]:
    listed = (names,) if isinstance(names, str) else tuple(names)
    if not listed or not all(isinstance(n, str) and n for n in listed):
        raise InvalidInputError(f"{where}: give a signal name or a list of names, not {names!r}")
    return listed


def signal(name_or_session: str, *args: Any) -> None:
    """`signal(name, data=None)` (project-wide) or `signal(session_id, name, payload=None)` (targeted)."""
    if not isinstance(name_or_session, str) or not name_or_session:
        raise InvalidInputError(f"signal(): the first argument must be a name or a session id, not {name_or_session!r}")
    if name_or_session.startswith("ses_"):
        if not args or len(args) > 2 or not isinstance(args[0], str):
            raise InvalidInputError("signal(session_id, name, payload=None): give the signal's name after the id")
        target, name, payload = name_or_session, args[0], args[1] if len(args) > 1 else None
    else:
        if len(args) > 1:
            raise InvalidInputError(
                f"signal({name_or_session!r}, …): a project-wide signal takes (name, data)",
                hint="to signal one session, pass its id first: signal(session_id, name, payload)",
            )
        target, name, payload = None, name_or_session, args[0] if args else None
    _runtime.current().call_host(SendSignal(target, name, _pickled(payload, "signal()")))


def wait_for_signal(name: str, timeout: timedelta | float | None = None) -> Any:
    """Wait durably for the project-wide signal `name`; return its data, or None on timeout."""
    wait = ProjectSignalWait(_names(name, "wait_for_signal()"), deadline_of(timeout, "wait_for_signal()"))
    result = _runtime.current().wait(wait)
    return None if result is None else pickle.loads(result[1])


def next_signal(name: str | list[str] | tuple[str, ...], *, timeout: timedelta | float | None = None) -> Signal | None:
    """Wait durably for a signal sent to this session with one of these names; None on timeout."""
    wait = SessionSignalWait(_names(name, "next_signal()"), deadline_of(timeout, "next_signal()"))
    result = _runtime.current().wait(wait)
    return None if result is None else Signal(result[0], pickle.loads(result[1]))
