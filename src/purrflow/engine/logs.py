"""Live session output: subscribers get each committed log line, then the session's final state."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

from purrflow.store import LogRecord


@dataclass(frozen=True, slots=True)
class SessionEnded:
    state: str


LogItem = LogRecord | SessionEnded


class LogBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[LogItem]]] = defaultdict(set)
        self._everything: set[asyncio.Queue[tuple[str, LogItem]]] = set()

    def subscribe_all(self) -> asyncio.Queue[tuple[str, LogItem]]:
        """Every session's items with its id (`purr run` shows the sessions a run starts, too)."""
        queue: asyncio.Queue[tuple[str, LogItem]] = asyncio.Queue()
        self._everything.add(queue)
        return queue

    def subscribe(self, session_id: str) -> asyncio.Queue[LogItem]:
        queue: asyncio.Queue[LogItem] = asyncio.Queue()
        self._subscribers[session_id].add(queue)
        return queue

    def unsubscribe(self, session_id: str, queue: asyncio.Queue[LogItem]) -> None:
        subscribers = self._subscribers.get(session_id)
        if subscribers is not None:
            subscribers.discard(queue)
            if not subscribers:
                del self._subscribers[session_id]

    def publish(self, session_id: str, items: list[LogItem]) -> None:
        for queue in self._subscribers.get(session_id, ()):
            for item in items:
                queue.put_nowait(item)
        for everything in self._everything:
            for item in items:
                everything.put_nowait((session_id, item))
