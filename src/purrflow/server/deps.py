"""What a route depends on: the caller, and the services it calls (FastAPI dependencies).

The server's only tie to the composition root: the app holds the `Platform`, and each route names the
services it needs, so a route can reach nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from purrflow.platform import Platform
from purrflow.services.analytics import AnalyticsService
from purrflow.services.config import ConfigService
from purrflow.services.connections import ConnectionService
from purrflow.services.events import EventService
from purrflow.services.identity import IdentityService
from purrflow.services.oauth import OAuthService
from purrflow.services.operations import SessionOperations
from purrflow.services.projects import ProjectService
from purrflow.services.prompts import PromptService
from purrflow.services.secrets import SecretService
from purrflow.services.sessions import SessionService
from purrflow.services.triggers import TriggerService
from purrflow.services.values import ValueService
from purrflow.services.vars import VarService
from purrflow.store import User


def platform_of(request: Request) -> Platform:
    platform = request.app.state.platform
    assert isinstance(platform, Platform)  # set by the app's lifespan before any request
    return platform


async def admitted(request: Request) -> AsyncIterator[None]:
    """A route that starts sessions on a person's request: they queue as long as it takes, but past the
    queue's limit the route answers 503 with Retry-After before anything is stored (`Platform.admission`,
    held until the route has answered)."""
    with platform_of(request).admission(may_queue=True):
        yield


#: The API's security scheme as the OpenAPI document declares it, so `/api/v1/docs`' "Authorize" sends the
#: token. It never refuses a request itself (`auto_error=False`): `IdentityService.authenticate` does, in
#: purrflow's error form and with its hint.
bearer = HTTPBearer(
    scheme_name="token",
    description="a purrflow API token (`purr tokens create`; a local server's is in <data dir>/admin-token)",
    auto_error=False,
)


async def current_user(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
    """The user behind the request's bearer token (401 otherwise)."""
    return platform_of(request).identity.authenticate(request.headers.get("authorization", ""))


CurrentUser = Annotated[User, Depends(current_user)]


async def _sessions(request: Request) -> SessionService:
    return platform_of(request).sessions


async def _operations(request: Request) -> SessionOperations:
    return platform_of(request).operations


async def _projects(request: Request) -> ProjectService:
    return platform_of(request).projects


async def _triggers(request: Request) -> TriggerService:
    return platform_of(request).triggers


async def _events(request: Request) -> EventService:
    return platform_of(request).events


async def _values(request: Request) -> ValueService:
    return platform_of(request).values


async def _config(request: Request) -> ConfigService:
    return platform_of(request).config


async def _secrets(request: Request) -> SecretService:
    return platform_of(request).secrets


async def _identity(request: Request) -> IdentityService:
    return platform_of(request).identity


async def _analytics(request: Request) -> AnalyticsService:
    return platform_of(request).analytics


async def _connections(request: Request) -> ConnectionService:
    return platform_of(request).connections


async def _oauth(request: Request) -> OAuthService:
    return platform_of(request).oauth


async def _prompts(request: Request) -> PromptService:
    return platform_of(request).prompts


async def _vars(request: Request) -> VarService:
    return platform_of(request).vars


Sessions = Annotated[SessionService, Depends(_sessions)]
Operations = Annotated[SessionOperations, Depends(_operations)]
Projects = Annotated[ProjectService, Depends(_projects)]
Triggers = Annotated[TriggerService, Depends(_triggers)]
Events = Annotated[EventService, Depends(_events)]
Values = Annotated[ValueService, Depends(_values)]
Config = Annotated[ConfigService, Depends(_config)]
Secrets = Annotated[SecretService, Depends(_secrets)]
Identity = Annotated[IdentityService, Depends(_identity)]
Analytics = Annotated[AnalyticsService, Depends(_analytics)]
Prompts = Annotated[PromptService, Depends(_prompts)]
Vars = Annotated[VarService, Depends(_vars)]
Connections = Annotated[ConnectionService, Depends(_connections)]
OAuth = Annotated[OAuthService, Depends(_oauth)]
