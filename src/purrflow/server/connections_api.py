"""`/api/v1/connections`: a project's connections — their credentials (write-only), status and tests —
and `/api/v1/integrations`, what each integration's connection needs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from purrflow.rules.connections import CATALOG
from purrflow.server.deps import Connections, CurrentUser, OAuth, Projects
from purrflow.server.json_body import CheckedJSONRoute
from purrflow.server.schemas import iso
from purrflow.services.connections import ConnectionView

router = APIRouter(prefix="/api/v1", route_class=CheckedJSONRoute, tags=["connections"])


class ConnectionFieldsRequest(BaseModel):
    vars: dict[str, str | None] = Field(description="field → value; null removes the field")


class ConnectionInitRequest(BaseModel):
    auth_mode: str | None = Field(default=None, description="one of the integration's modes (default: its first)")
    fields: dict[str, str] = Field(default_factory=dict)


def shown(view: ConnectionView) -> dict[str, Any]:
    return asdict(view) | {"checked_at": iso(view.checked_at) if view.checked_at else None}


@router.get("/connections")
async def list_connections(
    project: str, user: CurrentUser, projects: Projects, connections: Connections
) -> dict[str, Any]:
    """A project's connections: integration, auth mode, fields (secret ones hidden), status, inbound URL."""
    return {"connections": [shown(v) for v in connections.views(projects.named(user.team_id, project))]}


@router.get("/connections/{name}")
async def get_connection(
    name: str, project: str, user: CurrentUser, projects: Projects, connections: Connections
) -> dict[str, Any]:
    return {"connection": shown(connections.view(projects.named(user.team_id, project), name))}


@router.patch("/connections/{name}")
async def set_connection_fields(
    name: str, project: str, body: ConnectionFieldsRequest, user: CurrentUser, projects: Projects,
    connections: Connections,
) -> dict[str, Any]:  # fmt: skip
    """Merge fields into a connection; sessions see them as `<connection>__<field>` environment variables."""
    view = connections.set(projects.named(user.team_id, project), name, body.vars)
    return {"name": name, "fields": sorted(view.fields), "connection": shown(view)}


@router.post("/connections/{name}/init")
async def init_connection(
    name: str, project: str, body: ConnectionInitRequest, user: CurrentUser, projects: Projects,
    connections: Connections,
) -> dict[str, Any]:  # fmt: skip
    """Set a connection's credentials afresh for one auth mode (every required field must be given)."""
    view = connections.init(projects.named(user.team_id, project), name, body.auth_mode, body.fields)
    return {"connection": shown(view)}


@router.post("/connections/{name}/test")
async def test_connection(
    name: str, project: str, user: CurrentUser, projects: Projects, connections: Connections
) -> dict[str, Any]:
    """Call the service with the connection's credentials and record whether they work."""
    return {"connection": shown(await connections.test(projects.named(user.team_id, project), name))}


@router.post("/connections/{name}/oauth")
async def begin_oauth(name: str, project: str, user: CurrentUser, projects: Projects, oauth: OAuth) -> dict[str, Any]:
    """Begin an OAuth grant for the connection: the URL to open in a browser (good once, for ten minutes)."""
    return {"url": oauth.begin(projects.named(user.team_id, project), name, user)}


@router.get("/integrations")
async def list_integrations(user: CurrentUser) -> dict[str, Any]:
    """Every integration purrflow has clients for, with its auth modes and the fields each needs."""
    return {"integrations": [asdict(integration) for integration in CATALOG.values()]}
