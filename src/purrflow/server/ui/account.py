"""Your account: who you are, and the password you log in with (set by you only, never by an admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from purrflow.errors import PurrflowError
from purrflow.server.deps import Identity
from purrflow.server.ui.auth import Csrf, UiUser
from purrflow.server.ui.render import UiRoute, page

router = APIRouter(route_class=UiRoute)


def _account(
    request: Request, user: UiUser, identity: Identity, status_code: int = 200, **context: object
) -> HTMLResponse:
    return page(
        request, user, "account.html", status_code=status_code, has_password=identity.has_password(user), **context
    )


@router.get("/account")
async def account(request: Request, user: UiUser, identity: Identity, saved: bool = False) -> HTMLResponse:
    return _account(request, user, identity, notice="Your password is set." if saved else "")


@router.post("/account/password", dependencies=[Csrf], response_model=None)
async def set_password(
    request: Request,
    user: UiUser,
    identity: Identity,
    new: Annotated[str, Form()],
    repeat: Annotated[str, Form()],
    current: Annotated[str, Form()] = "",
) -> Response:
    if new != repeat:
        return _account(request, user, identity, 400, error="the two new passwords differ: type the same one twice")
    try:
        identity.set_password(user, new, current=current or None)
    except PurrflowError as err:
        return _account(request, user, identity, 400, error=f"{err.message} ({err.hint})" if err.hint else err.message)
    return RedirectResponse("/account?saved=1", status_code=303)
