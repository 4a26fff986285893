"""Sticky sessions: a waiting session keeps its runner while memory allows, so a loop that waits often
never replays.

A session that waits keeps its process (up to the hot-wait limit) as long as the runners of all waiting
sessions fit in the hot-memory budget. Past it, the least recently active waiting sessions give their
runners up (they are suspended, and replay when their wait ends); so does the least recently active one
when a queued session needs a runner and none is free. A runner's memory is its proportional share of
what it maps (PSS: pages it shares with its zygote count in part), read from /proc now and then rather
than on every wait.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

#: A runner's memory is read again when its last reading is older than this.
MEASURE_EVERY_SECONDS = 1.0
#: The hot-memory budget where the machine's memory is not known (and for `purr run`).
DEFAULT_HOT_MEMORY = 1 << 30
_MOST_HOT_MEMORY = 2 << 30


def default_hot_memory() -> int:
    """A tenth of the machine's memory, at most 2 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return DEFAULT_HOT_MEMORY
    return min(_MOST_HOT_MEMORY, total // 10)


class HotSession(Protocol):
    """A session waiting in its runner (the driver's)."""

    @property
    def session_id(self) -> str: ...
    @property
    def runner_pid(self) -> int | None: ...
    def give_up_runner(self) -> None:
        """Suspend now: the runner exits, and the session replays when its wait ends."""
        ...


def runner_memory(pid: int) -> int | None:
    """The process's proportional set size in bytes (None if it is gone or cannot be read)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class HotWaits:
    """The sessions waiting in their runners, least recently active first, within `budget_bytes`."""

    def __init__(
        self,
        budget_bytes: int,
        *,
        measure: Callable[[int], int | None] = runner_memory,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget_bytes = budget_bytes
        self._measure = measure
        self._clock = clock
        self._waiting: OrderedDict[str, HotSession] = OrderedDict()
        #: Each waiting runner's last reading: (bytes, when), and their sum.
        self._sizes: dict[str, tuple[int, float]] = {}
        self.used_bytes = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def hold(self, session: HotSession) -> bool:
        """The session waits in its runner: keep it (most recently active now) if the budget allows, and
        suspend the least recently active ones it no longer has room for. False: suspend this one."""
        if self.budget_bytes <= 0:
            return False
        self._waiting[session.session_id] = session
        self._waiting.move_to_end(session.session_id)
        self._size_of(session)
        self._enforce()
        return session.session_id in self._waiting

    def release(self, session_id: str) -> None:
        """It no longer waits (its wait ended, or it was suspended, stopped or ended)."""
        self._waiting.pop(session_id, None)
        self._forget_size(session_id)

    def make_room(self) -> bool:
        """A queued session needs a runner: suspend the least recently active waiting one; False if none."""
        if not self._waiting:
            return False
        self._suspend_oldest()
        return True

    def _size_of(self, session: HotSession) -> None:
        now = self._clock()
        known = self._sizes.get(session.session_id)
        if known is not None and now - known[1] < MEASURE_EVERY_SECONDS:
            return
        pid = session.runner_pid
        size = (self._measure(pid) if pid is not None else None) or 0
        self.used_bytes += size - (known[0] if known is not None else 0)
        self._sizes[session.session_id] = (size, now)

    def _enforce(self) -> None:
        while self._waiting and self.used_bytes > self.budget_bytes:
            self._suspend_oldest()

    def _suspend_oldest(self) -> None:
        session_id, session = self._waiting.popitem(last=False)
        self._forget_size(session_id)
        session.give_up_runner()

    def _forget_size(self, session_id: str) -> None:
        size, _ = self._sizes.pop(session_id, (0, 0.0))
        self.used_bytes -= size
