"""Projects: the team's list, an upload of a project archive, and one project's page — triggers with their
webhook URLs, connections with their status and credentials, vars, deployment history — and deleting it.

An upload deploys exactly as `POST /api/v1/projects/deploy` does (`server/deploying.py`), under the same
limits, and a refused one shows the deploy's own error on the page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from purrflow.engine.archives import files_of_archive
from purrflow.errors import PurrflowError, SessionStateError
from purrflow.rules.connections import integration_of
from purrflow.server.deploying import deploy_files
from purrflow.server.deps import Connections, OAuth, Projects, Triggers, Vars
from purrflow.server.ui.auth import Csrf, UiUser
from purrflow.server.ui.render import UiRoute, page
from purrflow.store import User

router = APIRouter(route_class=UiRoute)

#: The form-field prefix of a connection's credential fields (`field.token`), apart from the form's own.
FIELD_PREFIX = "field."


def _list(
    request: Request, user: User, projects: Projects, triggers: Triggers, status_code: int = 200, **context: object
) -> HTMLResponse:
    rows = [(info, len(triggers.of_project(info.project))) for info in projects.of_team(user.team_id)]
    return page(request, user, "projects.html", status_code=status_code, rows=rows, **context)


@router.get("/projects")
async def list_projects(
    request: Request, user: UiUser, projects: Projects, triggers: Triggers, deleted: str = ""
) -> HTMLResponse:
    return _list(request, user, projects, triggers, notice=f"Project {deleted} was deleted." if deleted else "")


@router.post("/projects/upload", dependencies=[Csrf], response_model=None)
async def upload(
    request: Request,
    user: UiUser,
    projects: Projects,
    triggers: Triggers,
    archive: Annotated[UploadFile, File()],
    name: Annotated[str, Form()] = "",
    migrate: Annotated[bool, Form()] = False,
) -> Response:
    """Deploy an uploaded .zip or .tar.gz; a refusal re-shows the list with the deploy's error (400)."""
    filename = archive.filename or "the upload"
    try:
        files = files_of_archive(filename, await archive.read())
        result = await deploy_files(projects, user, files, name=name.strip() or None, migrate=migrate)
    except PurrflowError as err:
        return _list(request, user, projects, triggers, 400, error=err.message, hint=err.hint, name=name)
    return RedirectResponse(f"/projects/{result.project.name}?deployed={result.deployment.id}", status_code=303)


def _project_page(
    request: Request,
    user: User,
    name: str,
    projects: Projects,
    triggers: Triggers,
    connections: Connections,
    project_vars: Vars,
    status_code: int = 200,
    **context: object,
) -> HTMLResponse:
    project = projects.named(user.team_id, name)
    views = connections.views(project)
    return page(
        request,
        user,
        "project.html",
        status_code=status_code,
        project=project,
        triggers=[(t, triggers.webhook_url(t)) for t in triggers.of_project(project)],
        connections=[(view, integration_of(view.integration)) for view in views],
        vars=project_vars.all(project),
        history=projects.history(project),
        **context,
    )


@router.get("/projects/{name}")
async def project_page(
    request: Request,
    name: str,
    user: UiUser,
    projects: Projects,
    triggers: Triggers,
    connections: Connections,
    project_vars: Vars,
    deployed: str = "",
    saved: str = "",
) -> HTMLResponse:
    notice = f"Deployed {deployed}." if deployed else f"Connection {saved} saved." if saved else ""
    return _project_page(request, user, name, projects, triggers, connections, project_vars, notice=notice)


@router.post("/projects/{name}/delete", dependencies=[Csrf], response_model=None)
async def delete_project(
    request: Request,
    name: str,
    user: UiUser,
    projects: Projects,
    triggers: Triggers,
    connections: Connections,
    project_vars: Vars,
    force: Annotated[bool, Form()] = False,
) -> Response:
    """Delete the project; one with sessions under way is refused unless `force` (shown on its page, 409)."""
    try:
        projects.delete(user.team_id, name, force=force)
    except SessionStateError as err:
        return _project_page(
            request, user, name, projects, triggers, connections, project_vars, 409, error=err.message, offer_force=True
        )
    return RedirectResponse(f"/projects?deleted={name}", status_code=303)


@router.post("/projects/{name}/vars", dependencies=[Csrf], response_model=None)
async def set_var(
    request: Request,
    name: str,
    user: UiUser,
    projects: Projects,
    triggers: Triggers,
    connections: Connections,
    project_vars: Vars,
    var: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    secret: Annotated[bool, Form()] = False,
) -> Response:
    """Set a var for the sessions created from now on (VarService's rules: a refusal is shown on the page)."""
    try:
        project_vars.set(projects.named(user.team_id, name), var.strip(), value, secret=secret)
    except PurrflowError as err:
        return _project_page(
            request, user, name, projects, triggers, connections, project_vars, 400, error=err.message, hint=err.hint
        )
    return RedirectResponse(f"/projects/{name}#vars-title", status_code=303)


@router.post("/projects/{name}/vars/{var}/delete", dependencies=[Csrf], response_model=None)
async def delete_var(name: str, var: str, user: UiUser, projects: Projects, project_vars: Vars) -> Response:
    """Forget a var set from outside (the manifest's value, if it has one, applies again)."""
    project_vars.delete(projects.named(user.team_id, name), var)
    return RedirectResponse(f"/projects/{name}#vars-title", status_code=303)


@router.post("/projects/{name}/connections/{connection}/init", dependencies=[Csrf], response_model=None)
async def init_connection(
    request: Request,
    name: str,
    connection: str,
    user: UiUser,
    projects: Projects,
    triggers: Triggers,
    connections: Connections,
    project_vars: Vars,
    auth_mode: Annotated[str, Form()] = "",
) -> Response:
    """Set a connection's credentials for one auth mode (the fields come as `field.<name>`)."""
    form = await request.form()
    fields = {
        key.removeprefix(FIELD_PREFIX): str(value)
        for key, value in form.multi_items()
        if key.startswith(FIELD_PREFIX) and str(value)
    }
    project = projects.named(user.team_id, name)
    try:
        connections.init(project, connection, auth_mode or None, fields)
    except PurrflowError as err:
        message = f"{connection}: {err.message}"
        return _project_page(
            request, user, name, projects, triggers, connections, project_vars, 400, error=message, hint=err.hint
        )
    return RedirectResponse(f"/projects/{name}?saved={connection}#connections", status_code=303)


@router.post("/projects/{name}/connections/{connection}/test", dependencies=[Csrf], response_model=None)
async def test_connection(
    name: str, connection: str, user: UiUser, projects: Projects, connections: Connections
) -> Response:
    """Ask the service whether the credentials work; the page then shows the recorded status."""
    await connections.test(projects.named(user.team_id, name), connection)
    return RedirectResponse(f"/projects/{name}#connections", status_code=303)


@router.post("/projects/{name}/connections/{connection}/oauth", dependencies=[Csrf], response_model=None)
async def connect_with_oauth(name: str, connection: str, user: UiUser, projects: Projects, oauth: OAuth) -> Response:
    """Begin the connection's OAuth grant: the browser goes on to the provider's consent page."""
    return RedirectResponse(oauth.begin(projects.named(user.team_id, name), connection, user), status_code=303)
