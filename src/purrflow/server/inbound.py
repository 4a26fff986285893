"""`/inbound/<integration>/<connection id>`: where Slack and GitHub deliver a connection's events.

Not behind a purrflow token — the service signs each delivery instead, and the connection service
verifies it with the connection's secret before anything is stored (401 otherwise). Slack's
`url_verification` handshake is answered with its challenge; a retried delivery is answered 200 and
starts nothing. Past the server's capacity a delivery is answered 503 with Retry-After, as a webhook is
(`server/webhooks.py`), and the service delivers it again later.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from purrflow.engine.webhooks import MAX_BODY_BYTES
from purrflow.server.deps import platform_of
from purrflow.server.errors import error_body
from purrflow.server.webhooks import BodyTooLarge, read_body


async def receive(request: Request) -> Response:
    integration, connection_id = request.path_params["integration"], request.path_params["connection_id"]
    try:
        body = await read_body(request)
    except BodyTooLarge:
        return JSONResponse(
            error_body("InvalidInputError", f"the delivery is larger than {MAX_BODY_BYTES // 1024} KiB"),
            status_code=413,
        )
    headers = {key: value for key, value in request.headers.items()}
    platform = platform_of(request)
    with platform.admission():  # see `server/webhooks.py`
        answer = platform.connections.receive(integration, connection_id, headers, body)
    if answer.challenge is not None:
        return PlainTextResponse(answer.challenge)
    if answer.status != 200:
        kind = {401: "UnauthorizedError", 404: "NotFoundError"}.get(answer.status, "InvalidInputError")
        return JSONResponse(error_body(kind, answer.message), status_code=answer.status)
    if answer.reply is not None:
        return JSONResponse(answer.reply)
    if answer.duplicate:
        return JSONResponse({"duplicate": True})
    if answer.event_id is None:  # taken, with nothing to say (an answer given in Slack)
        return Response(status_code=200)
    return JSONResponse({"event_id": answer.event_id, "session_ids": list(answer.session_ids)})


routes = [Route("/inbound/{integration}/{connection_id}", receive, methods=["POST"])]
