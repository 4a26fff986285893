"""No answer leaves the server before what was written to serve it is on disk.

Services join writes to the group commit (one transaction per event-loop tick), and a route returns as
soon as it has called them. This middleware holds each response's first message until the batch it
wrote to is committed — for every route in one place, instead of an `await` after each write — and
answers 500 instead when the database refused the commit, so a client is never told "done" about a
write that was lost. Reads pay nothing: with nothing pending the wait returns at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("purrflow.server")


class DurableResponses:
    def __init__(self, app: ASGIApp, *, committed: Callable[[Scope], Awaitable[None]]) -> None:
        self._app = app
        self._committed = committed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        refused = False

        async def send_when_durable(message: Message) -> None:
            nonlocal refused
            if refused:
                return  # the original answer is replaced by the error below
            if message["type"] == "http.response.start":
                try:
                    await self._committed(scope)
                except Exception:
                    log.exception("the commit behind a response failed")
                    refused = True
                    await _send_refusal(send)
                    return
            await send(message)

        await self._app(scope, receive, send_when_durable)


async def _send_refusal(send: Send) -> None:
    body = json.dumps(
        {
            "error": {
                "type": "InternalError",
                "message": "the database refused to store this request's changes; nothing was changed",
                "hint": "see the server log, then try again",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
