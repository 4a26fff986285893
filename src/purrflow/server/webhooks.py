"""`/webhooks/<slug>[/<suffix>]`, any method: the HTTP edge of webhook triggers, on a lean path.

Every webhook takes this path, so it does only what the event needs. `WebhookFront` is the ASGI app the
server runs: it hands a request under /webhooks/ straight to `answer`, with none of the API's middleware
or router in between (they cost a webhook about a tenth of the server's time per session), and everything
else to the API app. What that middleware would do for a webhook is done here: the answer leaves only
once what was written for it is on disk (`server/durable.py`'s rule; 500 if the database refused it),
refusals have purrflow's error form (`server/errors.py`), and an unexpected failure is logged and
answered 500. The trigger comes from the per-deployment cache (`services/triggers.py`), the path and query
straight from the ASGI scope, and the body is parsed once, when the event is built.

The event is committed before the answer. Async triggers answer 202 at once; sync ones answer what the
session sets with `http_outcome` (first call wins), 200 when it ends without one, 500 when it fails, and
504 after the configured timeout. Past the server's capacity (`Platform.admit`) every webhook, sync or
not, is answered 503 with Retry-After at once, and nothing is stored. The check is made once the body is
in, right before the event is stored, with nothing awaited in between: requests read concurrently are
then counted one after the other, each seeing the sessions the others started.

A body is read up to MAX_BODY_BYTES (413 past it). Any body within it is accepted as an event: one that
is not JSON, nests more than MAX_JSON_DEPTH levels deep, or holds NaN or an overflowing number has
`body.json` None (its text and bytes are kept); lone surrogates in JSON text become U+FFFD
(`engine/webhooks.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from purrflow.engine.webhooks import MAX_BODY_BYTES, WebhookRequest
from purrflow.errors import PurrflowError
from purrflow.orchestrators.admission import OverloadedError
from purrflow.platform import Platform
from purrflow.server.errors import STATUS, error_body

log = logging.getLogger("purrflow.server")
PREFIX = "/webhooks/"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    """The client hung up before its body was in."""


async def read_body_from(receive: Receive, declared: str | None) -> bytes:
    """The request's body, up to MAX_BODY_BYTES (BodyTooLarge past it, before reading any when its
    Content-Length says so)."""
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def read_body(request: Request) -> bytes:
    """`read_body_from` for a route's request (integration deliveries)."""
    return await read_body_from(request.receive, request.headers.get("content-length"))


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int, headers: dict[str, str] | None = None) -> Answer:
        body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        return cls(status, body, {"content-type": "application/json", **(headers or {})})

    @classmethod
    def error(cls, status: int, kind: str, message: str, hint: str | None = None, **headers: str) -> Answer:
        return cls.json(error_body(kind, message, hint), status, headers)


class WebhookFront:
    """The server's ASGI app: webhooks to `answer`, everything else (lifespan too) to the API app."""

    def __init__(self, app: ASGIApp, *, state: Any) -> None:
        self._app = app
        self._state = state  # the API app's state: its platform (set by its lifespan) and config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self._app(scope, receive, send)
            return
        platform = self._state.platform
        assert isinstance(platform, Platform)  # set by the app's lifespan before any request
        try:
            reply = await answer(platform, self._state.config.sync_timeout_seconds, scope, receive)
        except ClientGone:
            return
        except PurrflowError as err:
            status = next(code for kind, code in STATUS if isinstance(err, kind))
            retry = {"retry-after": str(err.retry_after)} if isinstance(err, OverloadedError) else {}
            reply = Answer.error(status, type(err).__name__, err.message, err.hint, **retry)
        except Exception as err:
            log.exception("unexpected error")
            reply = Answer.error(
                500, "InternalError", f"the server failed: {type(err).__name__}: {err}", "see the server log"
            )
        try:
            await platform.committed()  # nothing leaves before what was written for it is on disk
        except Exception:
            log.exception("the commit behind a response failed")
            reply = Answer.error(
                500,
                "InternalError",
                "the database refused to store this request's changes; nothing was changed",
                "see the server log, then try again",
            )
        try:
            headers = _raw_headers(reply)
        except UnicodeEncodeError as err:  # a header the session set that HTTP cannot carry
            reply = Answer.error(
                500, "InvalidInputError", f"the session's answer has a header HTTP cannot carry: {err}"
            )
            headers = _raw_headers(reply)
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})


async def answer(platform: Platform, sync_timeout: float, scope: Scope, receive: Receive) -> Answer:
    """What a webhook request is answered."""
    method, path = scope["method"], scope["path"]
    slug, _, suffix = path[len(PREFIX) :].partition("/")
    if method not in METHODS:
        return Answer.error(
            405, "HTTPError", f"{method} {path[:200]}: Method Not Allowed", "a webhook takes " + ", ".join(METHODS),
            allow=", ".join(METHODS),
        )  # fmt: skip
    trigger = platform.triggers.by_slug(slug)
    if trigger is None:
        return Answer.error(
            404, "NotFoundError", f"no webhook at {PREFIX}{slug}", "list webhook URLs with `purr triggers list`"
        )
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    try:
        body = await read_body_from(receive, next((v for k, v in headers if k == "content-length"), None))
    except BodyTooLarge:
        return Answer.error(
            413,
            "InvalidInputError",
            f"the request body is larger than the webhook limit of {MAX_BODY_BYTES // 1024} KiB",
            "send a reference to the data (a URL or an id) instead of the data itself",
        )
    webhook = WebhookRequest(
        method=method,
        path=path,
        query_string=scope["query_string"].decode("latin-1"),
        headers=headers,
        body=body,
        path_suffix=suffix,
    )
    sessions = platform.sessions
    with platform.admission():  # turned away at once (503), rather than queued for longer than a caller waits
        event, session_id = platform.events.receive_webhook(trigger, webhook)
    pending = sessions.expect_answer(session_id) if (session_id and trigger.is_sync) else None
    accepted: dict[str, Any] = {"event_id": event.id, "session_id": session_id}
    if session_id is None:  # a valid request all the same: subscriptions may still want the event
        why = (
            "its method or filter did not match" if trigger.call else "it calls nothing: the event is for subscriptions"
        )
        accepted["message"] = f"event stored; trigger {trigger.name!r} started no session ({why})"
    if pending is None:
        return Answer.json(accepted, 202)
    assert session_id is not None
    try:
        response = await asyncio.wait_for(asyncio.shield(pending), sync_timeout)
    except TimeoutError:
        sessions.forget_answer(session_id)
        return Answer.error(
            504,
            "TimeoutError",
            f"session {session_id} did not answer within {sync_timeout:g} s",
            "call http_outcome() earlier in the handler; the session itself goes on",
        )
    if response.status_code >= 500 and not response.body and not response.headers:
        session = sessions.lookup(session_id)
        if session is not None and session.error is not None:
            return Answer.error(
                response.status_code, session.error.type, f"session {session_id} failed: {session.error.message}"
            )
    return Answer(response.status_code, response.body, response.headers)


def _raw_headers(reply: Answer) -> list[tuple[bytes, bytes]]:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    if reply.status >= 200 and reply.status not in (204, 304) and all(k != b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(reply.body)).encode()))
    return headers
