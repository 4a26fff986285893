"""`/api/v1/secrets`: the team's secrets — names only ever come back, never values."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from purrflow.server.deps import CurrentUser, Secrets
from purrflow.server.json_body import CheckedJSONRoute
from purrflow.server.schemas import iso

router = APIRouter(prefix="/api/v1/secrets", route_class=CheckedJSONRoute, tags=["secrets"])


class SetSecretRequest(BaseModel):
    value: str


@router.get("")
async def list_secrets(user: CurrentUser, secrets: Secrets) -> dict[str, Any]:
    names = secrets.names(user.team_id)
    return {"secrets": [{"key": key, "updated_at": iso(updated)} for key, updated in names]}


@router.put("/{key}")
async def set_secret(key: str, body: SetSecretRequest, user: CurrentUser, secrets: Secrets) -> dict[str, str]:
    return {"key": secrets.set(user.team_id, key, body.value)}


@router.delete("/{key}")
async def delete_secret(key: str, user: CurrentUser, secrets: Secrets) -> dict[str, str]:
    secrets.delete(user.team_id, key)
    return {"deleted": key}


@router.post("/rotate")
async def rotate_secrets(user: CurrentUser, secrets: Secrets) -> dict[str, int]:
    """Re-encrypt the team's secrets with the first key of PURRFLOW_SECRET_KEY (team admins)."""
    return {"rotated": secrets.rotate(user)}
