"""Durable timers' in-memory schedule: one heap and one loop wake-up, whatever the number of timers.

The durable part (the timers table) is the store's; this only decides when to call back. Ten thousand
waiting sessions cost ten thousand small heap entries, not ten thousand loop handles. Time is a
parameter (`clock`), so tests can drive it.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Callable

from purrflow.store.bridge import bridged

TimerKey = tuple[str, int]  # (session id, step)
#: A timer whose callback failed is tried again this much later (the failure is logged each time).
RETRY_SECONDS = 5.0
log = logging.getLogger("purrflow.engine.timers")


class TimerQueue:
    def __init__(self, on_fire: Callable[[str, int], None], *, clock: Callable[[], float] = time.time) -> None:
        self._on_fire = on_fire
        self._clock = clock
        self._heap: list[tuple[float, str, int]] = []
        self._due: dict[TimerKey, float] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._next_at: float | None = None

    def __len__(self) -> int:
        return len(self._due)

    def schedule(self, session_id: str, seq: int, at: float) -> None:
        """Call back at wall-clock time `at` (replacing an earlier schedule of the same timer)."""
        self._due[(session_id, seq)] = at
        heapq.heappush(self._heap, (at, session_id, seq))
        if self._next_at is None or at < self._next_at:
            self._arm()

    def cancel_session(self, session_id: str) -> None:
        for key in [key for key in self._due if key[0] == session_id]:
            del self._due[key]

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle, self._next_at = None, None

    def _arm(self) -> None:
        while self._heap and self._due.get((self._heap[0][1], self._heap[0][2])) != self._heap[0][0]:
            heapq.heappop(self._heap)  # cancelled or rescheduled
        if self._handle is not None:
            self._handle.cancel()
            self._handle, self._next_at = None, None
        if not self._heap:
            return
        at = self._heap[0][0]
        loop = asyncio.get_running_loop()
        self._next_at = at
        self._handle = loop.call_at(loop.time() + max(0.0, at - self._clock()), bridged(self._fire))

    def _fire(self) -> None:
        self._handle, self._next_at = None, None
        now = self._clock()
        due: list[TimerKey] = []
        while self._heap and self._heap[0][0] <= now:
            at, session_id, seq = heapq.heappop(self._heap)
            if self._due.get((session_id, seq)) == at:
                del self._due[(session_id, seq)]
                due.append((session_id, seq))
        for session_id, seq in due:
            try:
                self._on_fire(session_id, seq)
            except Exception:  # one failing timer must stop neither the others nor itself for good
                log.exception(
                    "the timer of %s at step %d failed; it fires again in %g s", session_id, seq, RETRY_SECONDS
                )
                at = now + RETRY_SECONDS
                self._due[(session_id, seq)] = at
                heapq.heappush(self._heap, (at, session_id, seq))
        self._arm()
