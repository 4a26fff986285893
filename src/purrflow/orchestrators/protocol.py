"""What the composition root asks of an orchestrator, whichever drives the sessions (`local`, `temporal`)."""

from __future__ import annotations

from typing import Protocol

from purrflow.orchestrators.admission import Overload
from purrflow.telemetry import Census


class Orchestrator(Protocol):
    @property
    def live_runners(self) -> int:
        """Runner processes alive in this process's care."""
        ...

    @property
    def queued(self) -> int:
        """Sessions waiting here for a runner."""
        ...

    def overloaded(self, *, arriving: int, lag: float, may_queue: bool) -> Overload | None:
        """Why a new session should be turned away now (503, Retry-After), if it should."""
        ...

    async def start(self) -> None:
        """Take up what the last process left."""
        ...

    async def close(self) -> None: ...

    def launch(self, session_id: str) -> None:
        """Run the session (start it, or resume it by replaying its journal)."""
        ...

    def stop(self, session_id: str) -> None:
        """The session was stopped: end its runner and forget its timers."""
        ...

    def wait_ended(self, session_id: str, seq: int, result: bytes) -> None:
        """A journaled wait ended: answer the runner blocked on it, or bring the session back."""
        ...

    def timer_due(self, session_id: str, seq: int) -> None:
        """A sleep's timer is due."""
        ...

    def census(self) -> Census:
        """What this process holds, for a scrape."""
        ...
