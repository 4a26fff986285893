"""`/api/v1/values`: a project's value store, for people (`purr values …`) and other systems."""

from __future__ import annotations

import pickle
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from purrflow.engine.values import check_key, describe
from purrflow.errors import NotFoundError
from purrflow.server.api import CurrentUser, engine_of, project_named

router = APIRouter(prefix="/api/v1/values", tags=["values"])


class SetValueRequest(BaseModel):
    value: Any


@router.get("")
async def list_values(project: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    engine = engine_of(request)
    found = project_named(engine, user, project)
    items = []
    for key in engine.values.keys(found.id):
        blob = engine.values.get(found.id, key) or b""
        items.append({"key": key, "value": describe(blob), "bytes": len(blob)})
    return {"values": items}


@router.get("/{key}")
async def get_value(key: str, project: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    engine = engine_of(request)
    found = project_named(engine, user, project)
    blob = engine.values.get(found.id, key)
    if blob is None:
        raise NotFoundError(
            f"project {project!r} has no value named {key!r}", hint=f"list them: purr values list {project}"
        )
    return {"key": key, "value": describe(blob), "bytes": len(blob)}


@router.put("/{key}")
async def set_value(
    key: str, project: str, body: SetValueRequest, request: Request, user: CurrentUser
) -> dict[str, Any]:
    engine = engine_of(request)
    found = project_named(engine, user, project)
    check_key(key)
    with engine.committer.write():
        engine.values.set(found.id, found.name, key, pickle.dumps(body.value))
    await engine.committer.flushed()
    return {"key": key, "value": body.value}


@router.delete("/{key}")
async def delete_value(key: str, project: str, request: Request, user: CurrentUser) -> dict[str, str]:
    engine = engine_of(request)
    found = project_named(engine, user, project)
    with engine.committer.write():
        engine.values.delete(found.id, found.name, key)
    await engine.committer.flushed()
    return {"deleted": key}
