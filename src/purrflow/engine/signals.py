"""Signals and the sessions waiting for them.

Two forms, kept apart:
- project-wide named signals (`signal(name, data)` / `wait_for_signal(name)`): every session waiting on
  the name receives it; when none waits, it is held for the next waiter, which alone takes it;
- targeted signals (`signal(session_id, name, payload)` / `next_signal(names)`): queued in the target
  session's inbox until it asks for one of its names. A child session's end is one of these, named
  after the child's id; so is each event of a subscription (`next_event`), named after the subscription.

Delivering is durable at once: the waiting session's journal gets the signal in the same transaction
that marks it taken, so a crash can neither lose it nor deliver it twice. Whoever drives the session
hears of it after the commit (`on_wait_ended`).
"""

from __future__ import annotations

import pickle
from dataclasses import replace

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.journal import Journal
from purrflow.engine.seams import ScheduleTimer, WaitEnded
from purrflow.store import OpenWait, Store
from purrflow.wire import INBOX_STEPS, WaitKind

_TIMED_OUT = pickle.dumps(None)


class SignalWaits:
    """The store holds every open wait: any process of a platform that shares a database (an API server, a
    worker) delivers to a session waiting in another, and the project's lock (`Store.lock_signals`) keeps
    a wait opening and a signal arriving at once from missing each other."""

    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        journal: Journal,
        *,
        schedule_deadline: ScheduleTimer,
        on_wait_ended: WaitEnded,
    ) -> None:
        self._store = store
        self._committer = committer
        self._journal = journal
        self._schedule_deadline = schedule_deadline
        self._on_wait_ended = on_wait_ended

    def load(self) -> None:
        """Re-arm the deadline of every wait recorded before a restart."""
        for wait in self._store.list_waits():
            if wait.deadline is not None:
                self._schedule_deadline(wait.session_id, wait.seq, wait.deadline)

    # -- a session starts waiting (inside the driver's write batch) ----------------------------
    def begin(self, wait: OpenWait) -> bytes | None:
        """Take a pending signal at once (its journaled result), or record the wait and return None."""
        self._store.lock_signals(wait.project_id)
        earlier = self._store.session_wait(wait.session_id)
        if earlier is not None and earlier.seq == wait.seq:  # a replay re-asks: keep the first deadline
            wait = replace(wait, deadline=earlier.deadline)
        target = wait.session_id if wait.kind != WaitKind.SIGNAL else None
        pending = self._store.take_signal(wait.project_id, target, wait.names)
        if pending is not None:
            result = pickle.dumps((pending.name, pending.payload))
            self._store.delete_wait(wait.session_id)
            self._journal.append(wait.session_id, wait.seq, INBOX_STEPS[WaitKind(wait.kind)], result, False)
            return result
        self._store.put_wait(wait)
        if wait.deadline is not None:
            self._schedule_deadline(wait.session_id, wait.seq, wait.deadline)
        return None

    # -- a signal arrives (inside a write batch) -----------------------------------------------
    def send(self, project_id: str, target: str | None, name: str, payload: bytes) -> int:
        """Store the signal and hand it to whoever waits for it now; return how many received it."""
        self._store.lock_signals(project_id)
        signal_id = self._store.add_signal(project_id, target, name, payload)
        if target is not None:
            wait = self._store.session_wait(target)
            receivers = [wait] if wait and wait.kind != WaitKind.SIGNAL and name in wait.names else []
        else:
            receivers = self._store.waits_for(project_id, WaitKind.SIGNAL, name)
        if receivers:
            self._store.consume_signal(signal_id)
        result = pickle.dumps((name, payload))
        for wait in receivers:
            self._finish(wait, result)
        return len(receivers)

    def timeout(self, session_id: str, seq: int) -> bool:
        """The deadline of a wait passed: it ends with None. False if no such wait is open."""
        wait = self._store.session_wait(session_id)
        if wait is None or wait.seq != seq:
            return False
        with self._committer.write():
            self._store.lock_signals(wait.project_id)
            wait = self._store.session_wait(session_id)  # again, under the lock: a signal may have ended it
            if wait is None or wait.seq != seq:
                return True
            self._finish(wait, _TIMED_OUT)
        return True

    def _finish(self, wait: OpenWait, result: bytes) -> None:
        self._store.delete_wait(wait.session_id)
        self._journal.append(wait.session_id, wait.seq, INBOX_STEPS[WaitKind(wait.kind)], result, False)
        # Under way again, in the same commit: a restart replays it (to the result journaled here) rather
        # than leave it waiting for what has come already.
        self._store.set_session_state(wait.session_id, "running")
        ended = self._on_wait_ended
        self._committer.after_commit(lambda: ended(wait.session_id, wait.seq, result))
