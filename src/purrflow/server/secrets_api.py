"""`/api/v1/secrets`: the team's secrets — names only ever come back, never values."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from purrflow.engine.secrets import check_secret_key
from purrflow.errors import ForbiddenError, NotFoundError
from purrflow.server.api import CurrentUser, engine_of
from purrflow.server.schemas import iso

router = APIRouter(prefix="/api/v1/secrets", tags=["secrets"])


class SetSecretRequest(BaseModel):
    value: str


@router.get("")
async def list_secrets(request: Request, user: CurrentUser) -> dict[str, Any]:
    names = engine_of(request).store.secret_names(user.team_id)
    return {"secrets": [{"key": key, "updated_at": iso(updated)} for key, updated in names]}


@router.put("/{key}")
async def set_secret(key: str, body: SetSecretRequest, request: Request, user: CurrentUser) -> dict[str, str]:
    engine = engine_of(request)
    check_secret_key(key)
    with engine.committer.write():
        engine.store.put_secret_ciphertext(user.team_id, key, engine.secrets.encrypt(body.value.encode()))
    await engine.committer.flushed()
    return {"key": key}


@router.delete("/{key}")
async def delete_secret(key: str, request: Request, user: CurrentUser) -> dict[str, str]:
    engine = engine_of(request)
    with engine.committer.write():
        deleted = engine.store.delete_secret(user.team_id, key)
    if not deleted:
        raise NotFoundError(f"your team has no secret {key!r}", hint="list them with `purr secrets list`")
    await engine.committer.flushed()
    return {"deleted": key}


@router.post("/rotate")
async def rotate_secrets(request: Request, user: CurrentUser) -> dict[str, int]:
    """Re-encrypt the team's secrets with the first key of PURRFLOW_SECRET_KEY (team admins)."""
    engine = engine_of(request)
    if user.role != "admin":
        raise ForbiddenError("rotating secrets needs a team admin")
    rotated = 0
    with engine.committer.write():
        for team_id, key, token in engine.store.all_secret_ciphertexts():
            if team_id == user.team_id:
                engine.store.put_secret_ciphertext(team_id, key, engine.secrets.rotate(token))
                rotated += 1
    await engine.committer.flushed()
    return {"rotated": rotated}
