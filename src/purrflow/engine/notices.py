"""Notices: what one process commits that the platform's other processes must hear of at once.

Over one SQLite file there is one process, and everything it commits reaches its own watchers directly
(a sync webhook's answer, a log line, a session's end). Over a shared PostgreSQL several API servers and
workers write, and the process that commits is often not the one that waits: the API server holding a
synchronous webhook's request, the UI streaming a session's logs, the worker whose runner holds an
ops.yml prompt. So the writer also publishes a notice (`publish(topic, *ids)`) in its write, which the
database delivers to every other process once, and only if, the write commits (LISTEN/NOTIFY); a hearer
reads what the notice names from the store. A notice carries ids, never data: what it names is committed
before it is heard, and a hearer that missed some (its listening connection broke) reads again
(`on_resync`).

A process does not hear its own notices: it told its own watchers already, without the round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable

from purrflow.engine.commit import GroupCommitter
from purrflow.errors import PurrflowError
from purrflow.store import Store

log = logging.getLogger("purrflow.engine.notices")
Handler = Callable[..., None]
#: How long a process waits, at start, for its first LISTEN to hold before it refuses to start.
LISTEN_TIMEOUT_SECONDS = 30.0


class NoticesUnavailable(PurrflowError):
    """The database would not take this process's LISTEN: it would miss what the others commit."""


class Notices:
    def __init__(self, store: Store, committer: GroupCommitter) -> None:
        self._store = store
        self._committer = committer
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._resyncs: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        """Whether other processes write the same database (and so publish notices, and hear ours)."""
        return self._store.shared

    def on(self, topic: str, handler: Handler) -> None:
        """Call `handler(*fields)` for each notice of `topic` another process publishes."""
        self._handlers[topic].append(handler)

    def on_resync(self, handler: Callable[[], None]) -> None:
        """Call `handler()` after a gap in which notices may have been missed: it reads its state again."""
        self._resyncs.append(handler)

    def publish(self, topic: str, *fields: str) -> None:
        """Tell the other processes, with the current write batch (or a batch of its own after a commit)."""
        if not self._store.shared:
            return
        with self._committer.write(atomic=False):
            self._store.notify(topic, *fields)

    async def start(self) -> None:
        """Listen (where others write), and return once listening: nothing committed from then on is missed."""
        self._task = await listen(self._store, self._deliver, self._resync)

    async def close(self) -> None:
        if self._task is not None:
            await stop_listening(self._task)
            self._task = None

    def _deliver(self, topic: str, fields: list[str]) -> None:
        for handler in self._handlers.get(topic, ()):
            try:
                handler(*fields)
            except Exception:  # one hearer's failure must not deafen the others, nor the listener
                log.exception("handling the notice %s %s failed", topic, " ".join(fields))

    def _resync(self) -> None:
        for handler in self._resyncs:
            try:
                handler()
            except Exception:
                log.exception("reading again after missed notices failed")


async def listen(
    store: Store, deliver: Callable[[str, list[str]], None], resync: Callable[[], None]
) -> asyncio.Task[None] | None:
    """The task that LISTENs on the store (None where nobody else writes), once its LISTEN holds; raises
    NoticesUnavailable when it does not within `LISTEN_TIMEOUT_SECONDS`. `purr up` and `purr worker` also
    call it before they start (`check_services`), so that they refuse with the reason rather than fail later."""
    listener = store.listener(deliver, resync)
    if listener is None:
        return None
    ready = asyncio.Event()
    task = asyncio.get_running_loop().create_task(listener.run(ready), name="purrflow-notices")
    try:
        await asyncio.wait_for(asyncio.shield(ready.wait()), LISTEN_TIMEOUT_SECONDS)
    except TimeoutError:
        await stop_listening(task)
        why = f": {listener.last_error}" if listener.last_error else ""
        raise NoticesUnavailable(
            f"the database did not take this process's LISTEN within {LISTEN_TIMEOUT_SECONDS:g} s{why}",
            hint="check that the database accepts one more connection from this host (max_connections), and"
            " that it is not behind a pooler in transaction mode (LISTEN needs a session of its own)",
        ) from None
    return task


async def stop_listening(task: asyncio.Task[None]) -> None:
    """End a task `listen` returned."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
