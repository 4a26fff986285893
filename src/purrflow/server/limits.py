"""How much a request may carry, checked before it is read.

`BodySizeLimit` is a pure ASGI middleware: a request whose Content-Length is over its route's limit is
answered 413 without reading a byte of it; a body without one (chunked) is counted as it arrives and
answered 413 as soon as it passes the limit, whatever the route was doing with it. Webhooks never come
here: `server/webhooks.py` answers them before the API app, reading them against their own limit
(MAX_BODY_BYTES).

Parts of a body have limits of their own: a session's or an event's `data` (and a session's `memo`)
may be as large as a webhook body, measured as JSON (`check_data_size`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from purrflow.engine.deploy import MAX_TOTAL_BYTES
from purrflow.engine.webhooks import MAX_BODY_BYTES
from purrflow.errors import TooLargeError
from purrflow.rules.sizes import describe_size
from purrflow.server.errors import error_body

KIB = 1024
MIB = 1024 * KIB

DEPLOY_PATH = "/api/v1/projects/deploy"
#: A deployment's files travel as base64 (4 bytes for every 3) in JSON, with their paths: room for
#: MAX_TOTAL_BYTES of files and the paths of MAX_FILES of them, so that check_files gives the exact error.
DEPLOY_BODY_BYTES = MAX_TOTAL_BYTES * 4 // 3 + 2 * MIB
UPLOAD_PATH = "/projects/upload"
#: The web UI's upload of a project archive: compressed, it is no larger than the files it unpacks to
#: (`engine/archives.py` counts those), plus the form around it.
UPLOAD_BODY_BYTES = MAX_TOTAL_BYTES + 1 * MIB
#: Every other API body (values, config, secrets, prompts' answers, sessions, events…).
API_BODY_BYTES = 1 * MIB
#: A session's or an event's data, as JSON: what a webhook may send.
DATA_BYTES = MAX_BODY_BYTES

_UPLOAD_HINT = "send a reference to the data (a URL or an id) instead of the data itself"


def body_limit(path: str) -> int:
    """The most bytes a request to `path` may send."""
    if path.rstrip("/") == DEPLOY_PATH:
        return DEPLOY_BODY_BYTES
    if path.rstrip("/") == UPLOAD_PATH:
        return UPLOAD_BODY_BYTES
    return API_BODY_BYTES


def too_large_body(path: str, limit: int) -> dict[str, object]:
    shown = path if len(path) <= 200 else path[:200] + "…"
    if limit == DEPLOY_BODY_BYTES:
        return error_body(
            TooLargeError.__name__,
            f"the deployment is larger than the limit of {describe_size(limit)} for {shown}: a deployment holds at "
            f"most {describe_size(MAX_TOTAL_BYTES)} of files, and they travel as base64",
            "keep large data out of the project folder (fetch it at run time), or split the project",
        )
    return error_body(
        TooLargeError.__name__,
        f"the request body is larger than the limit of {describe_size(limit)} for {shown}",
        _UPLOAD_HINT,
    )


class _BodyTooLarge(Exception):
    """Raised into the route that reads past the limit; the middleware answers 413 instead of it."""


class BodySizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit = body_limit(str(scope.get("path", "")))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(send, too_large_body(scope["path"], limit), close=True)
            return
        received = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the route's answer to a body it could not read is replaced by the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._app(scope, counted, guarded)
        except Exception:
            if not (exceeded and not started):
                raise
        if exceeded and not started:
            await _send_413(send, too_large_body(scope["path"], limit), close=True)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, body: dict[str, object], *, close: bool) -> None:
    content = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    if close:  # the rest of the body is not read: this connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def check_data_size(value: Any, what: str) -> None:
    """`what` (a session's data, an event's data, a memo) may be at most DATA_BYTES as JSON."""
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8", "replace"))
    if size > DATA_BYTES:
        raise TooLargeError(
            f"{what} is {size} bytes as JSON; the limit is {describe_size(DATA_BYTES)} ({DATA_BYTES} bytes)",
            hint=_UPLOAD_HINT,
        )
