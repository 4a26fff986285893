"""Rendering the web UI's pages: one Jinja2 environment over the templates shipped in the wheel, and the
route class that turns a `PurrflowError` raised by a page into a page of its own.

Every page gets the same context (`user`, `team`, `csrf`, `nav`), so templates never reach for anything
the route did not hand them; a page's data comes from the services, never from the store.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException

from purrflow import __version__
from purrflow.errors import AuthError, InvalidInputError, NotFoundError, PurrflowError
from purrflow.server.deps import platform_of
from purrflow.server.errors import STATUS
from purrflow.store import User

#: The cookie that carries a web login's token (HttpOnly: page scripts never see it).
SESSION_COOKIE = "purr_session"

#: The CSRF token of the page being rendered: macros imported without context (`csrf_field()`) read it.
_csrf: contextvars.ContextVar[str] = contextvars.ContextVar("purrflow_ui_csrf", default="")


_UNITS = ((86400, "d"), (3600, "h"), (60, "min"))
#: Pages show tokens, secrets' names and team data: keep them out of shared caches and the back button's.
_NO_STORE = {"Cache-Control": "no-store"}


def ago(ts: float | None, now: float | None = None) -> str:
    """'3 min ago', 'in 2 h': how people read a time on a list."""
    if ts is None:
        return "never"
    delta = (time.time() if now is None else now) - ts
    seconds = abs(delta)
    size, unit = next(((size, unit) for size, unit in _UNITS if seconds >= size), (1, "s"))
    amount = f"{int(seconds // size)} {unit}"
    return f"in {amount}" if delta < 0 else f"{amount} ago"


def iso_time(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if ts else ""


_env = Environment(
    loader=PackageLoader("purrflow.server.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(csrf_token=_csrf.get, ago=ago, iso_time=iso_time, version=__version__)


def session_token(request: Request) -> str:
    """The web login's token the browser sent ("" when there is none)."""
    return request.cookies.get(SESSION_COOKIE, "")


def page(request: Request, user: User | None, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A whole page: `template` with the context every page has, plus the route's own."""
    identity = platform_of(request).identity
    token = session_token(request)
    csrf = context.pop("csrf", None) or (identity.csrf_token(token) if user is not None and token else "")
    base = {
        "request": request,
        "user": user,
        "team": identity.team(user.team_id) if user is not None else None,
        "is_admin": user is not None and user.role == "admin",
        "csrf": csrf,
        "nav": request.url.path.strip("/").split("/", 1)[0],
    }
    reset = _csrf.set(csrf)
    try:
        html = _env.get_template(template).render({**base, **context})
    finally:
        _csrf.reset(reset)
    return HTMLResponse(html, status_code=status_code, headers=_NO_STORE)


def wants_html(request: Request) -> bool:
    """A browser navigating (a link, a form) rather than a script's fetch() or an EventSource."""
    return "text/html" in request.headers.get("accept", "")


def login_redirect(request: Request) -> RedirectResponse:
    """To the login page, coming back afterwards to this page (for a form: to the page that sent it)."""
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        referer = urlsplit(request.headers.get("referer", ""))
        target = (referer.path or "/") + (f"?{referer.query}" if referer.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


def error_page(request: Request, err: PurrflowError) -> Response:
    """A refusal as a page (or, for a script, as text): the message, the hint, the error's own status."""
    status = next(code for kind, code in STATUS if isinstance(err, kind))
    if isinstance(err, AuthError):
        if wants_html(request) and request.url.path != "/login":
            return login_redirect(request)
        return Response(err.message, status_code=401, media_type="text/plain")
    user = getattr(request.state, "ui_user", None)
    return page(request, user, "error.html", status_code=status, message=err.message, hint=err.hint, status=status)


#: Paths of scripts and other servers, never of a person's browser: they keep the JSON form.
_MACHINE_PATHS = ("/api/", "/webhooks/", "/inbound/", "/oauth/", "/metrics", "/static/")


def not_found_page(request: Request, err: HTTPException) -> Response | None:
    """A browser that follows a wrong link gets a page (with the menu), not the API's JSON 404."""
    if err.status_code != 404 or request.url.path.startswith(_MACHINE_PATHS) or not wants_html(request):
        return None
    token = session_token(request)
    if token:  # a logged-in person keeps the menu
        with contextlib.suppress(AuthError):
            request.state.ui_user = platform_of(request).identity.user_of_token(token)
    return error_page(
        request,
        NotFoundError(f"there is no page at {request.url.path[:200]}", hint="the menu above has the pages there are"),
    )


class UiRoute(APIRoute):
    """Every UI route's class: a `PurrflowError` (from a service, a dependency or the page) becomes an
    error page, and a form missing a field becomes a 400 page — never a traceback or a JSON body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def ui_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PurrflowError as err:
                return error_page(request, err)
            except RequestValidationError as err:
                fields = ", ".join(str(problem["loc"][-1]) for problem in err.errors())
                problem = InvalidInputError(f"the form lacks, or has a bad value in: {fields}", hint="fill it in again")
                return error_page(request, problem)

        return ui_handler
