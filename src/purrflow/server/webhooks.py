"""`/webhooks/<slug>[/<suffix>]`, any method: the HTTP edge of webhook triggers.

The event is committed before the answer (`server/durable.py`). Async triggers answer 202 at once; sync
ones answer what the session sets with `http_outcome` (first call wins), 200 when it ends without one,
500 when it fails, and 504 after the configured timeout. Past the server's capacity (`Platform.admit`)
every webhook, sync or not, is answered 503 with Retry-After at once, and nothing is stored. The check is
made once the body is in, right before the event is stored, with nothing awaited in between: requests
read concurrently are then counted one after the other, each seeing the sessions the others started.

Every webhook takes this path, so it does only what the event needs: the trigger comes from the
per-deployment cache (`services/triggers.py`), the path and query straight from the ASGI scope, and the
body is parsed once, when the event is built.

A body is read up to MAX_BODY_BYTES (413 past it). Any body within it is accepted as an event: one that
is not JSON, nests more than MAX_JSON_DEPTH levels deep, or holds NaN or an overflowing number has
`body.json` None (its text and bytes are kept); lone surrogates in JSON text become U+FFFD
(`engine/webhooks.py`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from purrflow.engine.webhooks import MAX_BODY_BYTES, WebhookRequest
from purrflow.server.deps import platform_of
from purrflow.server.errors import error_body

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


async def receive(request: Request) -> Response:
    platform = platform_of(request)
    slug = request.path_params["slug"]
    trigger = platform.triggers.by_slug(slug)
    if trigger is None:
        return JSONResponse(
            error_body(
                "NotFoundError",
                f"no webhook at /webhooks/{slug}",
                "list webhook URLs with `purr triggers list`",
            ),
            status_code=404,
        )
    try:
        body = await read_body(request)
    except BodyTooLarge:
        return JSONResponse(
            error_body(
                "InvalidInputError",
                f"the request body is larger than the webhook limit of {MAX_BODY_BYTES // 1024} KiB",
                "send a reference to the data (a URL or an id) instead of the data itself",
            ),
            status_code=413,
        )
    scope = request.scope
    webhook = WebhookRequest(
        method=scope["method"],
        path=scope["path"],
        query_string=scope["query_string"].decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
        body=body,
        path_suffix=request.path_params.get("suffix", ""),
    )
    sessions = platform.sessions
    platform.admit()  # turned away at once (503), rather than queued for longer than a caller waits
    event, session_id = platform.events.receive_webhook(trigger, webhook)
    answer = sessions.expect_answer(session_id) if (session_id and trigger.is_sync) else None
    accepted: dict[str, Any] = {"event_id": event.id, "session_id": session_id}
    if session_id is None:  # a valid request all the same: subscriptions may still want the event
        why = (
            "its method or filter did not match" if trigger.call else "it calls nothing: the event is for subscriptions"
        )
        accepted["message"] = f"event stored; trigger {trigger.name!r} started no session ({why})"
    if answer is None:
        return JSONResponse(accepted, status_code=202)
    assert session_id is not None
    try:
        response = await asyncio.wait_for(asyncio.shield(answer), request.app.state.config.sync_timeout_seconds)
    except TimeoutError:
        sessions.forget_answer(session_id)
        return JSONResponse(
            error_body(
                "TimeoutError",
                f"session {session_id} did not answer within {request.app.state.config.sync_timeout_seconds:g} s",
                "call http_outcome() earlier in the handler; the session itself goes on",
            ),
            status_code=504,
        )
    if response.status_code >= 500 and not response.body and not response.headers:
        session = sessions.lookup(session_id)
        if session is not None and session.error is not None:
            return JSONResponse(
                error_body(session.error.type, f"session {session_id} failed: {session.error.message}"),
                status_code=response.status_code,
            )
    return Response(content=response.body, status_code=response.status_code, headers=response.headers)


routes = [
    Route("/webhooks/{slug}", receive, methods=METHODS),
    Route("/webhooks/{slug}/{suffix:path}", receive, methods=METHODS),
]
