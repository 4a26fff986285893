"""Settings: a project's values, the team's config, the team's secrets (names only: a secret's value is
written here, never shown). Each is a list with a form to set one and a button to delete one; the rules
and their errors are the services', shown on the page."""

from __future__ import annotations

import pickle
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from purrflow.errors import InvalidInputError, NotFoundError, PurrflowError
from purrflow.server.deps import Config, Projects, Secrets, Values
from purrflow.server.json_body import read_json_body
from purrflow.server.ui.auth import Csrf, UiUser
from purrflow.server.ui.render import UiRoute, page
from purrflow.store import User

router = APIRouter(route_class=UiRoute)


def _done(where: str, action: Literal["set", "deleted"], key: str) -> RedirectResponse:
    """Back to the list, which says what was done (a fixed sentence around the key: nothing else is echoed)."""
    separator = "&" if "?" in where else "?"
    return RedirectResponse(f"{where}{separator}{urlencode([(action, key)])}", status_code=303)


def _notice(kind: str, set_: str, deleted: str) -> str:
    return f"{kind} {set_} set." if set_ else f"{kind} {deleted} deleted." if deleted else ""


@router.get("/settings", response_model=None)
async def settings() -> Response:
    return RedirectResponse("/settings/values", status_code=303)


# -- values ------------------------------------------------------------------------------------
def _values_page(
    request: Request,
    user: User,
    projects: Projects,
    values: Values,
    project: str,
    status_code: int = 200,
    **context: object,
) -> HTMLResponse:
    names = [info.project.name for info in projects.of_team(user.team_id)]
    chosen = project or (names[0] if names else "")
    shown = values.shown(projects.named(user.team_id, chosen)) if chosen else []
    return page(
        request, user, "settings_values.html", status_code, names=names, project=chosen, values=shown, **context
    )


@router.get("/settings/values")
async def values_page(
    request: Request,
    user: UiUser,
    projects: Projects,
    values: Values,
    project: str = "",
    set: str = "",
    deleted: str = "",
) -> HTMLResponse:
    return _values_page(request, user, projects, values, project, notice=_notice("Value", set, deleted))


def _value_of(text: str, kind: str) -> object:
    """What the form's value means: text as it is, or JSON read like the API reads it."""
    if kind == "text":
        return text
    try:
        return read_json_body(text.encode())
    except ValueError as err:
        raise InvalidInputError(
            f"the value is not valid JSON: {err}", hint='write text in double quotes ("like this"), or choose "text"'
        ) from None


@router.post("/settings/values", dependencies=[Csrf], response_model=None)
async def set_value(
    request: Request,
    user: UiUser,
    projects: Projects,
    values: Values,
    project: Annotated[str, Form()],
    key: Annotated[str, Form()],
    value: Annotated[str, Form()] = "",
    kind: Annotated[Literal["text", "json"], Form()] = "text",
) -> Response:
    found = projects.named(user.team_id, project)
    try:
        values.set(found.id, found.name, key, pickle.dumps(_value_of(value, kind)))
    except PurrflowError as err:
        return _values_page(request, user, projects, values, project, 400, error=err.message, hint=err.hint, key=key)
    return _done(f"/settings/values?project={found.name}", "set", key)


@router.post("/settings/values/delete", dependencies=[Csrf], response_model=None)
async def delete_value(
    user: UiUser, projects: Projects, values: Values, project: Annotated[str, Form()], key: Annotated[str, Form()]
) -> Response:
    found = projects.named(user.team_id, project)
    values.delete(found.id, found.name, key)
    return _done(f"/settings/values?project={found.name}", "deleted", key)


# -- config ------------------------------------------------------------------------------------
def _config_page(
    request: Request, user: User, config: Config, status_code: int = 200, **context: object
) -> HTMLResponse:
    entries = sorted(config.all(user.team_id).items())
    return page(request, user, "settings_config.html", status_code, entries=entries, **context)


@router.get("/settings/config")
async def config_page(request: Request, user: UiUser, config: Config, set: str = "", deleted: str = "") -> HTMLResponse:
    return _config_page(request, user, config, notice=_notice("Config", set, deleted))


@router.post("/settings/config", dependencies=[Csrf], response_model=None)
async def set_config(
    request: Request,
    user: UiUser,
    config: Config,
    key: Annotated[str, Form()],
    value: Annotated[str, Form()] = "",
) -> Response:
    try:
        config.set(user.team_id, key, value)
    except PurrflowError as err:
        return _config_page(request, user, config, 400, error=err.message, hint=err.hint, key=key, value=value)
    return _done("/settings/config", "set", key)


@router.post("/settings/config/delete", dependencies=[Csrf], response_model=None)
async def delete_config(user: UiUser, config: Config, key: Annotated[str, Form()]) -> Response:
    if not config.delete(user.team_id, key):
        raise NotFoundError(f"your team has no config {key!r}", hint="it may have been deleted already")
    return _done("/settings/config", "deleted", key)


# -- secrets -----------------------------------------------------------------------------------
def _secrets_page(
    request: Request, user: User, secrets: Secrets, status_code: int = 200, **context: object
) -> HTMLResponse:
    return page(request, user, "settings_secrets.html", status_code, names=secrets.names(user.team_id), **context)


@router.get("/settings/secrets")
async def secrets_page(
    request: Request, user: UiUser, secrets: Secrets, set: str = "", deleted: str = ""
) -> HTMLResponse:
    return _secrets_page(request, user, secrets, notice=_notice("Secret", set, deleted))


@router.post("/settings/secrets", dependencies=[Csrf], response_model=None)
async def set_secret(
    request: Request,
    user: UiUser,
    secrets: Secrets,
    key: Annotated[str, Form()],
    value: Annotated[str, Form()] = "",
) -> Response:
    try:
        secrets.set(user.team_id, key, value)
    except PurrflowError as err:
        return _secrets_page(request, user, secrets, 400, error=err.message, hint=err.hint, key=key)
    return _done("/settings/secrets", "set", key)


@router.post("/settings/secrets/delete", dependencies=[Csrf], response_model=None)
async def delete_secret(user: UiUser, secrets: Secrets, key: Annotated[str, Form()]) -> Response:
    secrets.delete(user.team_id, key)
    return _done("/settings/secrets", "deleted", key)
