"""`/api/v1/config`: the team configuration store (`purr config …`, and `sdk.config` in sessions)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from purrflow.errors import NotFoundError
from purrflow.server.deps import Config, CurrentUser
from purrflow.server.json_body import CheckedJSONRoute

router = APIRouter(prefix="/api/v1/config", route_class=CheckedJSONRoute, tags=["config"])


class SetConfigRequest(BaseModel):
    value: str


@router.get("")
async def list_config(user: CurrentUser, config: Config) -> dict[str, dict[str, str]]:
    return {"config": config.all(user.team_id)}


@router.get("/{key}")
async def get_config(key: str, user: CurrentUser, config: Config) -> dict[str, str]:
    return {"key": key, "value": config.require(user.team_id, key)}


@router.put("/{key}")
async def set_config(key: str, body: SetConfigRequest, user: CurrentUser, config: Config) -> dict[str, str]:
    config.set(user.team_id, key, body.value)
    return {"key": key, "value": body.value}


@router.delete("/{key}")
async def delete_config(key: str, user: CurrentUser, config: Config) -> dict[str, str]:
    if not config.delete(user.team_id, key):
        raise NotFoundError(f"your team has no config {key!r}")
    return {"deleted": key}
