"""Administration, for team admins only (anyone else finds no such page: 404): teams (created by the
server's operators), users, tokens. A new token is shown once, on the page that answers its form; only its
hash is kept."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from purrflow.errors import NotFoundError, PurrflowError
from purrflow.server.deps import Identity
from purrflow.server.ui.auth import Csrf, ui_user
from purrflow.server.ui.render import UiRoute, page
from purrflow.services.identity import IdentityService
from purrflow.store import User

router = APIRouter(route_class=UiRoute)


async def admin_user(request: Request, user: Annotated[User, Depends(ui_user)]) -> User:
    """The logged-in user if they administer their team; for anyone else these pages do not exist."""
    if user.role != "admin":
        raise NotFoundError(f"no page {request.url.path}", hint="administration is for your team's admins")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


@router.get("/admin", response_model=None)
async def admin_home(user: AdminUser) -> Response:
    return RedirectResponse("/admin/tokens", status_code=303)


# -- teams -------------------------------------------------------------------------------------
def _teams_page(
    request: Request, user: User, identity: IdentityService, status_code: int = 200, **context: object
) -> HTMLResponse:
    return page(
        request,
        user,
        "admin_teams.html",
        status_code,
        tab="teams",
        teams=identity.teams(user),
        operator=identity.is_operator(user),
        **context,
    )


@router.get("/admin/teams")
async def teams(request: Request, user: AdminUser, identity: Identity) -> HTMLResponse:
    return _teams_page(request, user, identity)


@router.post("/admin/teams", dependencies=[Csrf])
async def create_team(
    request: Request,
    user: AdminUser,
    identity: Identity,
    name: Annotated[str, Form()],
    admin: Annotated[str, Form()],
    email: Annotated[str, Form()] = "",
) -> HTMLResponse:
    try:
        made = identity.create_team(user, name.strip(), admin.strip(), email.strip())
    except PurrflowError as err:
        return _teams_page(request, user, identity, 400, error=err.message, hint=err.hint, name=name, admin=admin)
    shown = f"Team {made.team.name} created. The token of its admin {made.user.username}"
    return _teams_page(request, user, identity, new_token=made.token, new_token_for=shown)


# -- users -------------------------------------------------------------------------------------
def _users_page(
    request: Request, user: User, identity: IdentityService, status_code: int = 200, **context: object
) -> HTMLResponse:
    return page(request, user, "admin_users.html", status_code, tab="users", users=identity.users(user), **context)


@router.get("/admin/users")
async def users(request: Request, user: AdminUser, identity: Identity) -> HTMLResponse:
    return _users_page(request, user, identity)


@router.post("/admin/users", dependencies=[Csrf])
async def create_user(
    request: Request,
    user: AdminUser,
    identity: Identity,
    username: Annotated[str, Form()],
    email: Annotated[str, Form()] = "",
    role: Annotated[Literal["member", "admin"], Form()] = "member",
) -> HTMLResponse:
    try:
        made = identity.create_user(user, username.strip(), email=email.strip(), role=role)
    except PurrflowError as err:
        return _users_page(request, user, identity, 400, error=err.message, hint=err.hint, username=username)
    shown = f"User {made.user.username} added. Their first token"
    return _users_page(request, user, identity, new_token=made.token, new_token_for=shown)


# -- tokens ------------------------------------------------------------------------------------
def _tokens_page(
    request: Request, user: User, identity: IdentityService, status_code: int = 200, **context: object
) -> HTMLResponse:
    return page(request, user, "admin_tokens.html", status_code, tab="tokens", tokens=identity.tokens(user), **context)


@router.get("/admin/tokens")
async def tokens(request: Request, user: AdminUser, identity: Identity, revoked: str = "") -> HTMLResponse:
    return _tokens_page(request, user, identity, notice=f"Token {revoked} revoked." if revoked else "")


@router.post("/admin/tokens", dependencies=[Csrf])
async def create_token(
    request: Request, user: AdminUser, identity: Identity, name: Annotated[str, Form()] = ""
) -> HTMLResponse:
    _, token = identity.create_token(user, name.strip())
    shown = f"Token {name.strip() or '(no name)'} created for you. Its value"
    return _tokens_page(request, user, identity, new_token=token, new_token_for=shown)


@router.post("/admin/tokens/{token_id}/revoke", dependencies=[Csrf], response_model=None)
async def revoke_token(token_id: str, user: AdminUser, identity: Identity) -> Response:
    identity.revoke_token(user, token_id)
    return RedirectResponse(f"/admin/tokens?revoked={token_id}", status_code=303)
