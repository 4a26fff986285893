"""`/oauth/<provider>/start` and `/oauth/<provider>/callback`: the browser's side of a connection's
OAuth grant (the state in the link is what binds it to the connection and the user who began it)."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from purrflow.errors import PurrflowError
from purrflow.server.deps import platform_of


def _page(title: str, text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8><title>purrflow · {escape(title)}</title>"
        f"<body style='font-family:system-ui;max-width:40em;margin:4em auto'><h1>{escape(title)}</h1>"
        f"<p>{escape(text)}</p></body>",
        status_code=status,
    )


async def start(request: Request) -> Response:
    try:
        url = platform_of(request).oauth.authorize_url(
            request.path_params["provider"], request.query_params.get("state", "")
        )
    except PurrflowError as err:
        return _page("This link does not work", f"{err.message}. {err.hint or ''}", 400)
    return RedirectResponse(url, status_code=302)


async def callback(request: Request) -> Response:
    query = request.query_params
    if query.get("error"):
        return _page(
            "Access was not granted", f"the provider said: {query.get('error_description') or query['error']}", 400
        )
    if not query.get("code"):
        return _page("Access was not granted", "the provider sent no code back", 400)
    try:
        granted = await platform_of(request).oauth.complete(
            request.path_params["provider"], query.get("state", ""), query["code"]
        )
    except PurrflowError as err:
        return _page("Access was not granted", f"{err.message}. {err.hint or ''}", 400)
    return _page("Connected", f"connection {granted.connection} is ready: you can close this page.")


routes = [
    Route("/oauth/{provider}/start", start, methods=["GET"]),
    Route("/oauth/{provider}/callback", callback, methods=["GET"]),
]
