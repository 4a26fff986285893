"""Answers for synchronous webhooks: the first `http_outcome` (or the session's end) wins.

The server that holds the request waits here. The answer may come from a session this process runs
(then it is handed over directly, once committed), or from one a worker elsewhere runs: the worker keeps
the answer in the store and publishes an "answer" (or "ended") notice, and the server reads it back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from purrflow.engine.notices import Notices
from purrflow.store import Store

#: What a synchronous webhook answers when its session ends without `http_outcome`.
END_STATUS = {"completed": 200, "error": 500, "stopped": 503}


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status_code: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class SyncResponses:
    def __init__(self, store: Store, notices: Notices) -> None:
        self._store = store
        self._pending: dict[str, asyncio.Future[HttpResponse]] = {}
        notices.on("answer", self._answered_elsewhere)
        notices.on("ended", lambda session_id, _team, state: self._ended_elsewhere(session_id, state))
        notices.on_resync(self._resync)

    def expect(self, session_id: str) -> asyncio.Future[HttpResponse]:
        future: asyncio.Future[HttpResponse] = asyncio.get_running_loop().create_future()
        self._pending[session_id] = future
        return future

    def resolve(self, session_id: str, response: HttpResponse) -> bool:
        """Deliver `response` if the caller still waits and nobody answered first."""
        future = self._pending.pop(session_id, None)
        if future is None or future.done():
            return False
        future.set_result(response)
        return True

    def ended(self, session_id: str, state: str) -> None:
        """The session ended: a caller still waiting gets the answer its end state means."""
        self.resolve(session_id, HttpResponse(status_code=END_STATUS.get(state, 500)))

    def forget(self, session_id: str) -> None:
        self._pending.pop(session_id, None)

    # -- answers committed by other processes -----------------------------------------------------
    def _answered_elsewhere(self, session_id: str) -> None:
        if session_id in self._pending:
            self._read_answer(session_id)

    def _ended_elsewhere(self, session_id: str, state: str) -> None:
        """An end notice follows any answer the session gave (same order as the commits): the answer wins."""
        if session_id in self._pending and not self._read_answer(session_id):
            self.ended(session_id, state)

    def _read_answer(self, session_id: str) -> bool:
        stored = self._store.webhook_answer(session_id)
        if stored is None:
            return False
        status, headers, body = stored
        self.resolve(session_id, HttpResponse(status, body, headers))
        return True

    def _resync(self) -> None:
        for session_id in list(self._pending):
            if not self._read_answer(session_id):
                session = self._store.get_session(session_id)
                if session is not None and session.is_final:
                    self.ended(session_id, session.state)
