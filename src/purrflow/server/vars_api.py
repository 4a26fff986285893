"""`/api/v1/projects/{project}/vars`: a project's vars (`purr vars …`). A secret var's value never comes
back: sessions of the project are the only ones that see it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from purrflow.server.deps import CurrentUser, Projects, Vars
from purrflow.server.json_body import CheckedJSONRoute
from purrflow.server.schemas import iso
from purrflow.services.vars import ProjectVar

router = APIRouter(prefix="/api/v1/projects/{project}/vars", route_class=CheckedJSONRoute, tags=["vars"])


class SetVarRequest(BaseModel):
    value: str
    secret: bool = Field(default=False, description="store it encrypted; it is never shown again")


def var_json(var: ProjectVar) -> dict[str, Any]:
    return {
        "name": var.name,
        "value": var.value,
        "secret": var.secret,
        "source": var.source,
        "set_at": iso(var.set_at) if var.set_at is not None else None,
        "description": var.description,
    }


@router.get("")
async def list_vars(project: str, user: CurrentUser, projects: Projects, vars: Vars) -> dict[str, Any]:
    """The manifest's vars with those set from outside over them; secret ones without their value."""
    return {"vars": [var_json(v) for v in vars.all(projects.named(user.team_id, project))]}


@router.get("/{name}")
async def get_var(project: str, name: str, user: CurrentUser, projects: Projects, vars: Vars) -> dict[str, Any]:
    return {"var": var_json(vars.get(projects.named(user.team_id, project), name))}


@router.put("/{name}")
async def set_var(
    project: str, name: str, body: SetVarRequest, user: CurrentUser, projects: Projects, vars: Vars
) -> dict[str, Any]:
    """Set a var for the project's sessions created from now on (a var the manifest lacks, too)."""
    found = projects.named(user.team_id, project)
    return {"var": var_json(vars.set(found, name, body.value, secret=body.secret))}


@router.delete("/{name}")
async def delete_var(project: str, name: str, user: CurrentUser, projects: Projects, vars: Vars) -> dict[str, Any]:
    """Forget the value set from outside; the manifest's applies again (`manifest` is it, or null)."""
    manifest = vars.delete(projects.named(user.team_id, project), name)
    return {"deleted": name, "manifest": var_json(manifest) if manifest else None}
