"""Answers for synchronous webhooks: the first `http_outcome` (or the session's end) wins."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status_code: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class SyncResponses:
    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Future[HttpResponse]] = {}

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

    def forget(self, session_id: str) -> None:
        self._pending.pop(session_id, None)
