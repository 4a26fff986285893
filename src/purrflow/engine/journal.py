"""Sessions' journals: finished steps, written ahead of the runner moving on, sealed where secret.

Every journal write in the host goes through here, so the rule that a secret step's outcome never rests
in clear is kept in one place: `sealed=True` encrypts the payload with the data key, and every read
opens it again for the runner, which needs it in clear to replay.
"""

from __future__ import annotations

from purrflow.engine.secretbox import SecretBox
from purrflow.store import Store
from purrflow.wire import JournalEntry


class Journal:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self._store = store
        self._box = box

    def append(
        self, session_id: str, seq: int, name: str, payload: bytes, failed: bool, *, sealed: bool = False
    ) -> None:
        """Record step `seq` (in the current write batch; the caller acknowledges it after commit)."""
        stored = self._box.seal(payload) if sealed else payload
        self._store.append_journal(session_id, seq, name, stored, failed)

    def entry(self, session_id: str, seq: int) -> JournalEntry | None:
        found = self._store.journal_entry(session_id, seq)
        if found is None:
            return None
        name, payload, failed = found
        return JournalEntry(seq, name, self._box.unseal(payload), failed)

    def read(self, session_id: str) -> list[JournalEntry]:
        unseal = self._box.unseal
        return [JournalEntry(s, n, unseal(p), f) for s, n, p, f in self._store.read_journal(session_id)]

    def clear(self, session_id: str) -> None:
        """Forget every step (a non-durable session that was interrupted starts again from the top)."""
        self._store.clear_journal(session_id)
