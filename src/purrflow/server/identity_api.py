"""Teams, users and tokens (`purr teams|users|tokens`). The rules are the identity service's: other
teams are invisible, admins manage their team, the default team's admins create teams."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from purrflow.server.deps import CurrentUser, Identity
from purrflow.server.json_body import CheckedJSONRoute
from purrflow.server.schemas import iso
from purrflow.store import TokenInfo, User

router = APIRouter(prefix="/api/v1", route_class=CheckedJSONRoute, tags=["identity"])


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


class SetPasswordRequest(BaseModel):
    password: str = Field(description="the new password (8–1024 characters)")
    current: str | None = Field(default=None, description="the current password, when one is set")


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


@router.get("/me")
async def me(user: CurrentUser, identity: Identity) -> dict[str, Any]:
    team = identity.team(user.team_id)
    return {"user": _user_json(user), "team": {"id": team.id, "name": team.name}}


@router.get("/teams")
async def list_teams(user: CurrentUser, identity: Identity) -> dict[str, Any]:
    return {"teams": [{"id": t.id, "name": t.name} for t in identity.teams(user)]}


@router.post("/teams", status_code=201)
async def create_team(body: CreateTeamRequest, user: CurrentUser, identity: Identity) -> dict[str, Any]:
    made = identity.create_team(user, body.name, body.admin, body.email)
    return {"team": {"id": made.team.id, "name": made.team.name}, "admin": _user_json(made.user), "token": made.token}


@router.get("/users")
async def list_users(user: CurrentUser, identity: Identity) -> dict[str, Any]:
    return {"users": [_user_json(u) for u in identity.users(user)]}


@router.post("/users", status_code=201)
async def create_user(body: CreateUserRequest, user: CurrentUser, identity: Identity) -> dict[str, Any]:
    made = identity.create_user(user, body.username, email=body.email, role=body.role)
    return {"user": _user_json(made.user), "token": made.token}


@router.put("/users/me/password")
async def set_password(body: SetPasswordRequest, user: CurrentUser, identity: Identity) -> dict[str, str]:
    """Set your own password (for the web UI's login); changing one needs the current one."""
    identity.set_password(user, body.password, current=body.current)
    return {"password": "set"}


@router.get("/tokens")
async def list_tokens(user: CurrentUser, identity: Identity) -> dict[str, Any]:
    return {"tokens": [_token_json(t) for t in identity.tokens(user)]}


@router.post("/tokens", status_code=201)
async def create_token(body: CreateTokenRequest, user: CurrentUser, identity: Identity) -> dict[str, Any]:
    token_id, token = identity.create_token(user, body.name)
    return {"id": token_id, "name": body.name, "token": token}


@router.delete("/tokens/{token_id}")
async def revoke_token(token_id: str, user: CurrentUser, identity: Identity) -> dict[str, str]:
    return {"revoked": identity.revoke_token(user, token_id)}
