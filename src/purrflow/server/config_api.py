"""`/api/v1/config`: the team configuration store (`purr config …`, and `sdk.config` in sessions)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from purrflow.engine.team_config import check_config
from purrflow.errors import NotFoundError
from purrflow.server.api import CurrentUser, engine_of

router = APIRouter(prefix="/api/v1/config", tags=["config"])


class SetConfigRequest(BaseModel):
    value: str


@router.get("")
async def list_config(request: Request, user: CurrentUser) -> dict[str, dict[str, str]]:
    return {"config": engine_of(request).store.all_config(user.team_id)}


@router.get("/{key}")
async def get_config(key: str, request: Request, user: CurrentUser) -> dict[str, str]:
    value = engine_of(request).store.get_config(user.team_id, key)
    if value is None:
        raise NotFoundError(f"your team has no config {key!r}", hint="list them with `purr config list`")
    return {"key": key, "value": value}


@router.put("/{key}")
async def set_config(key: str, body: SetConfigRequest, request: Request, user: CurrentUser) -> dict[str, str]:
    engine = engine_of(request)
    check_config(key, body.value)
    with engine.committer.write():
        engine.store.set_config(user.team_id, key, body.value)
    await engine.committer.flushed()
    return {"key": key, "value": body.value}


@router.delete("/{key}")
async def delete_config(key: str, request: Request, user: CurrentUser) -> dict[str, str]:
    engine = engine_of(request)
    with engine.committer.write():
        deleted = engine.store.delete_config(user.team_id, key)
    if not deleted:
        raise NotFoundError(f"your team has no config {key!r}")
    await engine.committer.flushed()
    return {"deleted": key}
