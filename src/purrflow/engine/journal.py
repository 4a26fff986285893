"""Sessions' journals: finished steps, written ahead of the runner moving on.

Every outcome rests encrypted (the store seals each payload with the data key), so a secret that flows
into any step — a secret read, a prompt's answer, an activity's result — never rests in clear. A step's
argument summary is sealed the same way.
"""

from __future__ import annotations

from purrflow.store import NO_DETAILS, StepDetails, Store
from purrflow.wire import JournalEntry, JournalRecord


class Journal:
    def __init__(self, store: Store) -> None:
        self._store = store

    def append(
        self, session_id: str, seq: int, name: str, payload: bytes, failed: bool, details: StepDetails = NO_DETAILS
    ) -> None:
        """Record step `seq` (in the current write batch; the caller acknowledges it after commit)."""
        self._store.append_journal(session_id, seq, name, payload, failed, details)

    def entry(self, session_id: str, seq: int) -> JournalEntry | None:
        found = self._store.journal_entry(session_id, seq)
        if found is None:
            return None
        name, payload, failed = found
        return JournalEntry(seq, name, payload, failed)

    def read(self, session_id: str, *, after: int = 0, limit: int) -> list[JournalRecord]:
        """The steps a runner replays after step `after` (at most `limit`), each with its retry decision."""
        return self._store.replay_journal(session_id, after=after, limit=limit)

    def clear(self, session_id: str) -> None:
        """Forget every step (a non-durable session that was interrupted starts again from the top)."""
        self._store.clear_journal(session_id)
