"""Group commit: every write made during one event-loop tick shares one transaction and one fsync.

A writer opens (or joins) the batch with `write()`, which also wraps its statements in a savepoint so
that one failing operation never poisons the others in the batch. Whatever must wait for durability —
a step's acknowledgement, an HTTP answer, starting a child — is registered with `after_commit` and runs
once the batch is on disk. The runner blocks on its acknowledgement, so a finished step is journaled
before user code moves on (write-ahead), while a burst of sessions pays one commit per tick, not per step.

Where the store's commits need a `sync()` to be durable (`full` durability), a busy server fsyncs in a
thread of its own, off the event loop: the loop goes on (reading runners, starting sessions, committing
the next batch) while the disk works, and a batch's callbacks run once an fsync that began after its
commit has returned; batches committed while one fsync runs share the next. A lone small batch (one
session stepping, say) fsyncs inline instead: handing the fsync to a thread and back costs it ~150 µs,
more than the loop would have done meanwhile.

A write nobody waits for and that a crash may lose (`urgent=False`: a session marked running, which a
restart resumes from `created` just the same) does not ask for a commit of its own: it rides with the next
batch that does, or is committed `LAZY_COMMIT_SECONDS` later.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from purrflow.store import Store
from purrflow.store.bridge import bridged

log = logging.getLogger("purrflow.engine.commit")
Callback = Callable[[], None]
#: A batch with at most this many callbacks, and no fsync under way, is synced inline (a step's
#: acknowledgement and its telemetry: one session's batch).
INLINE_SYNC_CALLBACKS = 2
#: The longest a write that needs no commit of its own waits for one.
LAZY_COMMIT_SECONDS = 0.05


class GroupCommitter:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._on_commit: list[Callback] = []
        self._on_abort: list[Callback] = []
        self._scheduled = False
        self._lazy: asyncio.TimerHandle | None = None
        self._savepoints = itertools.count()
        self.commits = 0
        #: Batches committed and waiting for an fsync: (on_commit, on_abort) each.
        self._unsynced: list[tuple[list[Callback], list[Callback]]] = []
        self._syncing = False
        self._syncer: ThreadPoolExecutor | None = None

    @contextmanager
    def write(self, *, atomic: bool = True, urgent: bool = True) -> Iterator[None]:
        """Join the current batch; statements inside are undone together if the block raises.

        `atomic=False` skips the savepoint, for blocks of one statement, where a failing statement leaves the
        rest of the transaction standing (SQLite; PostgreSQL aborts the whole transaction, so it keeps one).
        `urgent=False`: nothing waits for these writes and a crash may lose them; they need no commit of
        their own.
        """
        if urgent:
            self._open()
        else:
            self._open_lazily()
        if not atomic and self._store.lone_statements_are_atomic:
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
        if self._store.networked:  # it waited for the database: the batch it wrote to may be a later one
            self._open() if urgent else self._open_lazily()

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
            asyncio.get_running_loop().call_soon(bridged(self.flush), context=contextvars.Context())

    def _open_lazily(self) -> None:
        self._store.begin()
        if not self._scheduled and self._lazy is None:
            self._lazy = asyncio.get_running_loop().call_later(
                LAZY_COMMIT_SECONDS, bridged(self.flush), context=contextvars.Context()
            )

    def flush(self) -> None:
        self._scheduled = False
        if self._lazy is not None:
            self._lazy.cancel()
            self._lazy = None
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
        if not self._store.needs_sync:
            _run_all(on_commit)
            return
        if not self._syncing and len(on_commit) <= INLINE_SYNC_CALLBACKS:
            try:
                self._store.sync()
            except OSError as err:
                log.error("fsync failed (%s); %d waiting operations are aborted", err, len(on_commit))
                _run_all(on_abort)
                return
            _run_all(on_commit)
            return
        self._unsynced.append((on_commit, on_abort))
        if not self._syncing:
            self._sync()

    def _sync(self) -> None:
        """fsync (in the syncer's thread) everything committed so far; then run its batches' callbacks."""
        batches, self._unsynced = self._unsynced, []
        self._syncing = True
        if self._syncer is None:
            self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="purrflow-fsync")
        syncing = asyncio.get_running_loop().run_in_executor(self._syncer, self._store.sync)
        syncing.add_done_callback(lambda done: self._synced(done, batches), context=contextvars.Context())

    def _synced(self, done: asyncio.Future[None], batches: list[tuple[list[Callback], list[Callback]]]) -> None:
        self._syncing = False
        error = done.exception()
        for on_commit, on_abort in batches:
            if error is None:
                _run_all(on_commit)
            else:
                log.error("fsync failed (%s); %d waiting operations are aborted", error, len(on_commit))
                _run_all(on_abort)
        if self._unsynced:
            self._sync()

    def close(self) -> None:
        """Stop the syncer (after what it is doing)."""
        if self._syncer is not None:
            self._syncer.shutdown(wait=True)
            self._syncer = None


def _run_all(callbacks: list[Callback]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)
