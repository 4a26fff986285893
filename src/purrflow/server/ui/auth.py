"""Logging in and out of the web UI, and the two dependencies every page uses.

A login — with a token, or a username and password — mints a new token of that user ("web login") and
puts it in an HttpOnly, SameSite=Strict cookie; logout revokes it, so a copied cookie stops working with
the logout. Forms carry a CSRF token derived from the cookie's token (`IdentityService.csrf_token`);
the login form, which has no session yet, uses a random cookie and the same value in the form instead
(double submit): a page of another site can set neither.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from purrflow.config import ServerConfig
from purrflow.errors import AuthError, ForbiddenError, PurrflowError
from purrflow.server.deps import Identity, platform_of
from purrflow.server.ui.render import SESSION_COOKIE, UiRoute, page, session_token
from purrflow.store import User

router = APIRouter(route_class=UiRoute)

#: The login form's pre-session CSRF cookie (double submit).
LOGIN_CSRF_COOKIE = "purr_login_csrf"
_NOT_LOGGED_IN = "you are not logged in, or your login ended"


async def ui_user(request: Request) -> User:
    """The user of the session cookie. Without a live one, pages redirect to /login (`render.error_page`)
    and scripts' requests (SSE, fetch) get 401."""
    token = session_token(request)
    if not token:
        raise AuthError(_NOT_LOGGED_IN, hint="log in at /login")
    try:
        user = platform_of(request).identity.user_of_token(token)
    except AuthError:
        raise AuthError(_NOT_LOGGED_IN, hint="log in at /login") from None
    request.state.ui_user = user  # an error page shown for this request still has the nav
    return user


UiUser = Annotated[User, Depends(ui_user)]


async def check_csrf(request: Request) -> None:
    """Refuse (403) a POST whose CSRF token (form field `csrf`, or header X-CSRF-Token) is not this login's."""
    presented = request.headers.get("x-csrf-token") or str((await request.form()).get("csrf", ""))
    token = session_token(request)
    if not token or not presented or not platform_of(request).identity.csrf_matches(token, presented):
        raise _stale_form()


Csrf = Depends(check_csrf)


def _stale_form() -> ForbiddenError:
    return ForbiddenError(
        "this form was not sent by a page of this server, or it is out of date",
        hint="go back, reload the page and send the form again",
    )


def _secure(request: Request) -> bool:
    """Cookies are Secure when the server is reached over https (its --url says so)."""
    config = request.app.state.config
    assert isinstance(config, ServerConfig)  # set by create_app
    return config.url.startswith("https://") or request.url.scheme == "https"


def _safe_next(target: str) -> str:
    """Where to go after logging in: a path of this server only (never another site: an open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_form(request: Request, *, next_: str, status_code: int = 200, **context: object) -> HTMLResponse:
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, None, "login.html", status_code=status_code, csrf=csrf, next=next_, **context)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_secure(request), path="/login"
    )
    return response


@router.get("/", response_model=None)
async def home(request: Request) -> Response:
    return RedirectResponse("/sessions" if session_token(request) else "/login", status_code=303)


@router.get("/login", response_model=None)
async def login_page(request: Request, next: str = "/") -> Response:
    return _login_form(request, next_=_safe_next(next))


@router.post("/login", response_model=None)
async def login(
    request: Request,
    identity: Identity,
    csrf: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Log in with a token, or with a username and password; a bad one re-shows the form, saying so."""
    target = _safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf):
        raise _stale_form()
    try:
        if token.strip():
            session = identity.mint_login(identity.user_of_token(token.strip()))
        elif username.strip():
            session = identity.login(username.strip(), password)
        else:
            raise AuthError("give a token, or a username and password")
    except PurrflowError as err:
        return _login_form(request, next_=target, status_code=401, error=err.message, username=username)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[Csrf], response_model=None)
async def logout(request: Request, identity: Identity) -> Response:
    """Revoke this browser's token and forget the cookie."""
    identity.logout(session_token(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response
