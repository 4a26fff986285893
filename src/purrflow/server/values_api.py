"""`/api/v1/values`: a project's value store, for people (`purr values …`) and other systems."""

from __future__ import annotations

import pickle
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from purrflow.server.deps import CurrentUser, Projects, Values
from purrflow.server.json_body import CheckedJSONRoute

router = APIRouter(prefix="/api/v1/values", route_class=CheckedJSONRoute, tags=["values"])


class SetValueRequest(BaseModel):
    value: Any


@router.get("")
async def list_values(project: str, user: CurrentUser, projects: Projects, values: Values) -> dict[str, Any]:
    return {"values": values.shown(projects.named(user.team_id, project))}


@router.get("/{key}")
async def get_value(key: str, project: str, user: CurrentUser, projects: Projects, values: Values) -> dict[str, Any]:
    return values.shown_one(projects.named(user.team_id, project), key)


@router.put("/{key}")
async def set_value(
    key: str, project: str, body: SetValueRequest, user: CurrentUser, projects: Projects, values: Values
) -> dict[str, Any]:
    found = projects.named(user.team_id, project)
    values.set(found.id, found.name, key, pickle.dumps(body.value))
    return {"key": key, "value": body.value}


@router.delete("/{key}")
async def delete_value(key: str, project: str, user: CurrentUser, projects: Projects, values: Values) -> dict[str, str]:
    found = projects.named(user.team_id, project)
    values.delete(found.id, found.name, key)
    return {"deleted": key}
