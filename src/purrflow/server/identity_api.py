"""Teams, users and tokens. Everything is scoped to the caller's team: other teams are invisible (404).

Roles: a team's `admin` adds users and manages every token of the team; a `member` manages their own
tokens. Admins of the `default` team — the one the server creates on first start — also create teams.
Token values are shown once, when created; only their hashes are stored.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from purrflow.errors import ForbiddenError, InvalidInputError, NotFoundError
from purrflow.server.api import CurrentUser, engine_of
from purrflow.server.schemas import iso
from purrflow.store import Store, TokenInfo, User

router = APIRouter(prefix="/api/v1", tags=["identity"])
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
OPERATOR_TEAM = "default"


class CreateTeamRequest(BaseModel):
    name: str
    admin: str = Field(description="username of the team's first admin")
    email: str = ""


class CreateUserRequest(BaseModel):
    username: str
    email: str = ""
    role: Literal["admin", "member"] = "member"


class CreateTokenRequest(BaseModel):
    name: str = ""


def new_token() -> str:
    return f"purr_{secrets.token_urlsafe(32)}"


def _check_name(kind: str, name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInputError(f"{kind} name {name!r} must be 1–64 letters, digits, '.', '_' or '-'")


def _user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "email": user.email, "role": user.role}


def _token_json(token: TokenInfo) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "user": token.username,
        "created_at": iso(token.created_at),
        "revoked_at": iso(token.revoked_at) if token.revoked_at else None,
    }


def _require_admin(user: User, what: str) -> None:
    if user.role != "admin":
        raise ForbiddenError(f"{what} needs a team admin", hint="ask an admin of your team")


def _is_operator(store: Store, user: User) -> bool:
    team = store.get_team(user.team_id)
    return user.role == "admin" and team is not None and team.name == OPERATOR_TEAM


@router.get("/me")
async def me(request: Request, user: CurrentUser) -> dict[str, Any]:
    team = engine_of(request).store.get_team(user.team_id)
    assert team is not None  # a user's team exists
    return {"user": _user_json(user), "team": {"id": team.id, "name": team.name}}


@router.get("/teams")
async def list_teams(request: Request, user: CurrentUser) -> dict[str, Any]:
    store = engine_of(request).store
    teams = store.list_teams() if _is_operator(store, user) else [store.get_team(user.team_id)]
    return {"teams": [{"id": t.id, "name": t.name} for t in teams if t is not None]}


@router.post("/teams", status_code=201)
async def create_team(body: CreateTeamRequest, request: Request, user: CurrentUser) -> dict[str, Any]:
    engine = engine_of(request)
    store = engine.store
    if not _is_operator(store, user):
        raise ForbiddenError("creating teams needs an admin of the default team")
    _check_name("team", body.name)
    _check_name("user", body.admin)
    if store.get_team_by_name(body.name) is not None:
        raise InvalidInputError(f"a team named {body.name!r} already exists")
    if store.get_user_by_username(body.admin) is not None:
        raise InvalidInputError(f"the username {body.admin!r} is taken")
    token = new_token()
    with engine.committer.write():
        team = store.create_team(body.name)
        admin = store.create_user(team.id, body.admin, email=body.email, role="admin")
        store.add_token(admin.id, token, name="first token")
    await engine.committer.flushed()
    return {"team": {"id": team.id, "name": team.name}, "admin": _user_json(admin), "token": token}


@router.get("/users")
async def list_users(request: Request, user: CurrentUser) -> dict[str, Any]:
    return {"users": [_user_json(u) for u in engine_of(request).store.list_users(user.team_id)]}


@router.post("/users", status_code=201)
async def create_user(body: CreateUserRequest, request: Request, user: CurrentUser) -> dict[str, Any]:
    engine = engine_of(request)
    _require_admin(user, "adding users")
    _check_name("user", body.username)
    if engine.store.get_user_by_username(body.username) is not None:
        raise InvalidInputError(f"the username {body.username!r} is taken")
    token = new_token()
    with engine.committer.write():
        created = engine.store.create_user(user.team_id, body.username, email=body.email, role=body.role)
        engine.store.add_token(created.id, token, name="first token")
    await engine.committer.flushed()
    return {"user": _user_json(created), "token": token}


@router.get("/tokens")
async def list_tokens(request: Request, user: CurrentUser) -> dict[str, Any]:
    store = engine_of(request).store
    tokens = store.list_tokens(user.team_id, user_id=None if user.role == "admin" else user.id)
    return {"tokens": [_token_json(t) for t in tokens]}


@router.post("/tokens", status_code=201)
async def create_token(body: CreateTokenRequest, request: Request, user: CurrentUser) -> dict[str, Any]:
    engine = engine_of(request)
    token = new_token()
    with engine.committer.write():
        token_id = engine.store.add_token(user.id, token, name=body.name)
    await engine.committer.flushed()
    return {"id": token_id, "name": body.name, "token": token}


@router.delete("/tokens/{token_id}")
async def revoke_token(token_id: str, request: Request, user: CurrentUser) -> dict[str, str]:
    engine = engine_of(request)
    with engine.committer.write():
        revoked = engine.store.revoke_token(token_id, user.team_id, user_id=None if user.role == "admin" else user.id)
    if not revoked:
        raise NotFoundError(f"no live token {token_id!r}", hint="list tokens with `purr tokens list`")
    await engine.committer.flushed()
    return {"revoked": token_id}
