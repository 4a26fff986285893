"""Live session output: subscribers get each committed log line, then the session's final state.

Lines are written here (`append`), so that they reach every watcher: those of this process once the
write commits, those of other processes over a shared database through a "logs" notice naming the
lines' sequence numbers, which they read back from the store.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.notices import Notices
from purrflow.store import LogRecord, Store


@dataclass(frozen=True, slots=True)
class SessionEnded:
    state: str


LogItem = LogRecord | SessionEnded


class LogBus:
    def __init__(self, store: Store, committer: GroupCommitter, notices: Notices) -> None:
        self._store = store
        self._committer = committer
        self._notices = notices
        self._subscribers: dict[str, set[asyncio.Queue[LogItem]]] = defaultdict(set)
        self._everything: set[asyncio.Queue[tuple[str, LogItem]]] = set()
        #: The last line handed to the watchers of each watched session (to read on from after a gap).
        self._delivered: dict[str, int] = {}
        notices.on("logs", self._committed_elsewhere)
        notices.on("ended", lambda session_id, _team, state: self.publish(session_id, [SessionEnded(state)]))
        notices.on_resync(self._resync)

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
                self._delivered.pop(session_id, None)

    def append(self, session_id: str, records: list[LogRecord]) -> None:
        """Write a session's new lines (joining the write batch); they reach the watchers once committed."""
        with self._committer.write(atomic=False):
            self._store.append_logs(session_id, records)
            self._notices.publish("logs", session_id, str(records[0].seq), str(records[-1].seq))
        self._committer.after_commit(lambda: self.publish(session_id, records))

    def publish(self, session_id: str, items: Sequence[LogItem]) -> None:
        subscribers = self._subscribers.get(session_id, ())
        for queue in subscribers:
            for item in items:
                queue.put_nowait(item)
        for everything in self._everything:
            for item in items:
                everything.put_nowait((session_id, item))
        if subscribers:
            last = next((item.seq for item in reversed(items) if isinstance(item, LogRecord)), None)
            if last is not None:
                self._delivered[session_id] = max(last, self._delivered.get(session_id, 0))

    def _watched(self, session_id: str) -> bool:
        return bool(self._everything) or session_id in self._subscribers

    def _committed_elsewhere(self, session_id: str, first: str, last: str) -> None:
        if self._watched(session_id):
            after, upto = int(first) - 1, int(last)
            self.publish(session_id, self._store.read_logs(session_id, after=after, limit=upto - after))

    def _resync(self) -> None:
        """Lines (and ends) committed while the notices were away reach the sessions' watchers now."""
        for session_id in list(self._subscribers):
            self.publish(session_id, self._store.read_logs(session_id, after=self._delivered.get(session_id, 0)))
            session = self._store.get_session(session_id)
            if session is not None and session.is_final:
                self.publish(session_id, [SessionEnded(session.state)])
