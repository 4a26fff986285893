"""Projects: the team's list, an upload of a project archive, and one project's page — triggers with their
webhook URLs, connections with their status and credentials, vars, deployment history — and deleting it.

An upload deploys exactly as `POST /api/v1/projects/deploy` does (`server/deploying.py`), under the same
limits, and a refused one shows the deploy's own error on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from purrflow.engine.archives import files_of_archive
from purrflow.errors import PurrflowError, SessionStateError
from purrflow.rules.connections import integration_of
from purrflow.server.deploying import deploy_files
from purrflow.server.deps import Connections, OAuth, Projects, Triggers, Vars
from purrflow.server.ui.auth import Csrf, UiUser
from purrflow.server.ui.render import UiRoute, page
from purrflow.services.connections import ConnectionService
from purrflow.services.projects import ProjectService
from purrflow.services.triggers import TriggerService
from purrflow.services.vars import VarService
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


@dataclass(frozen=True, slots=True)
class _ProjectView:
    """The services a project's page is drawn from. The routes that act on a project take it whole, so a
    refusal re-draws the page (with the message) without each route naming every service."""

    request: Request
    projects: ProjectService
    triggers: TriggerService
    connections: ConnectionService
    vars: VarService

    def render(self, user: User, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
        project = self.projects.named(user.team_id, name)
        return page(
            self.request,
            user,
            "project.html",
            status_code=status_code,
            project=project,
            triggers=[(t, self.triggers.webhook_url(t)) for t in self.triggers.of_project(project)],
            connections=[(view, integration_of(view.integration)) for view in self.connections.views(project)],
            vars=self.vars.all(project),
            history=self.projects.history(project),
            **context,
        )

    def refused(self, user: User, name: str, err: PurrflowError, status_code: int = 400, **context: object) -> Response:
        return self.render(user, name, status_code, error=err.message, hint=err.hint, **context)


async def _project_view(
    request: Request, projects: Projects, triggers: Triggers, connections: Connections, project_vars: Vars
) -> _ProjectView:
    return _ProjectView(request, projects, triggers, connections, project_vars)


ProjectView = Annotated[_ProjectView, Depends(_project_view)]


@router.get("/projects/{name}")
async def project_page(name: str, user: UiUser, view: ProjectView, deployed: str = "", saved: str = "") -> HTMLResponse:
    notice = f"Deployed {deployed}." if deployed else f"Connection {saved} saved." if saved else ""
    return view.render(user, name, notice=notice)


@router.post("/projects/{name}/delete", dependencies=[Csrf], response_model=None)
async def delete_project(
    name: str, user: UiUser, view: ProjectView, force: Annotated[bool, Form()] = False
) -> Response:
    """Delete the project; one with sessions under way is refused unless `force` (shown on its page, 409)."""
    try:
        view.projects.delete(user.team_id, name, force=force)
    except SessionStateError as err:
        return view.refused(user, name, err, 409, offer_force=True)
    return RedirectResponse(f"/projects?deleted={name}", status_code=303)


@router.post("/projects/{name}/vars", dependencies=[Csrf], response_model=None)
async def set_var(
    name: str,
    user: UiUser,
    view: ProjectView,
    var: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    secret: Annotated[bool, Form()] = False,
) -> Response:
    """Set a var for the sessions created from now on (VarService's rules: a refusal is shown on the page)."""
    try:
        view.vars.set(view.projects.named(user.team_id, name), var.strip(), value, secret=secret)
    except PurrflowError as err:
        return view.refused(user, name, err)
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
    view: ProjectView,
    auth_mode: Annotated[str, Form()] = "",
) -> Response:
    """Set a connection's credentials for one auth mode (the fields come as `field.<name>`)."""
    form = await request.form()
    fields = {
        key.removeprefix(FIELD_PREFIX): str(value)
        for key, value in form.multi_items()
        if key.startswith(FIELD_PREFIX) and str(value)
    }
    try:
        view.connections.init(view.projects.named(user.team_id, name), connection, auth_mode or None, fields)
    except PurrflowError as err:
        return view.render(user, name, 400, error=f"{connection}: {err.message}", hint=err.hint)
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
