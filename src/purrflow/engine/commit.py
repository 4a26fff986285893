"""Group commit: every write made during one event-loop tick shares one transaction and one fsync.

A writer opens (or joins) the batch with `write()`, which also wraps its statements in a savepoint so
that one failing operation never poisons the others in the batch. Whatever must wait for durability —
a step's acknowledgement, an HTTP answer, starting a child — is registered with `after_commit` and runs
once the batch is on disk. The runner blocks on its acknowledgement, so a finished step is journaled
before user code moves on (write-ahead), while a burst of sessions pays one commit per tick, not per step.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from purrflow.store import Store

log = logging.getLogger("purrflow.engine.commit")
Callback = Callable[[], None]


class GroupCommitter:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._on_commit: list[Callback] = []
        self._on_abort: list[Callback] = []
        self._scheduled = False
        self._savepoints = itertools.count()
        self.commits = 0

    @contextmanager
    def write(self, *, atomic: bool = True) -> Iterator[None]:
        """Join the current batch; statements inside are undone together if the block raises.

        `atomic=False` skips the savepoint, for blocks of one statement (SQLite makes a statement atomic).
        """
        self._open()
        if not atomic:
            yield
            return
        name = f"sp{next(self._savepoints)}"
        self._store.savepoint(name)
        try:
            yield
        except BaseException:
            self._store.rollback_to(name)
            raise
        self._store.release(name)

    def after_commit(self, on_commit: Callback, on_abort: Callback | None = None) -> None:
        self._open()
        self._on_commit.append(on_commit)
        if on_abort is not None:
            self._on_abort.append(on_abort)

    async def flushed(self) -> None:
        """Wait until everything written so far is committed (raises if the commit failed)."""
        if not self._scheduled:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def done() -> None:
            if not future.done():
                future.set_result(None)

        def failed() -> None:
            if not future.done():
                future.set_exception(RuntimeError("the database refused the commit; see the server log"))

        self.after_commit(done, failed)
        await future

    def _open(self) -> None:
        self._store.begin()
        if not self._scheduled:
            self._scheduled = True
            # In a context of its own: the flush is every writer's, not that of the first one this tick (whose
            # session its log lines would otherwise name).
            asyncio.get_running_loop().call_soon(self.flush, context=contextvars.Context())

    def flush(self) -> None:
        self._scheduled = False
        on_commit, self._on_commit = self._on_commit, []
        on_abort, self._on_abort = self._on_abort, []
        try:
            self._store.commit()
            self.commits += 1
        except Exception:
            log.exception("commit failed; %d waiting operations are aborted", len(on_commit))
            self._store.rollback()
            _run_all(on_abort)
            return
        _run_all(on_commit)


def _run_all(callbacks: list[Callback]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)
