"""`purr projects delete NAME`: removing a project and everything of it (registered in `main.py`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from purrflow.cli import render
from purrflow.cli.common import JsonFlag, UrlFlag, YesFlag, api, confirm


def delete(
    name: str,
    force: Annotated[bool, typer.Option("--force", help="stop its sessions still under way first")] = False,
    yes: YesFlag = False,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete a project: its sessions, triggers (webhook URLs answer 404 after), schedules, connections,
    vars, values, events and deployments. Asks first, unless --yes; refused while sessions are under way,
    unless --force."""
    if not yes and not confirm(f"delete project {name} and everything of it? This cannot be undone"):
        render.err_console.print("nothing deleted")
        raise typer.Exit(1)
    with api(url) as client:
        deleted = client.request("DELETE", f"/projects/{quote(name, safe='')}", params={"force": force})
    if as_json:
        render.print_json(deleted)
        return
    stopped = f", {deleted['sessions_stopped']} of them stopped first" if deleted["sessions_stopped"] else ""
    render.console.print(
        f"deleted project {deleted['project']}: {deleted['sessions_deleted']} session(s){stopped},"
        f" {deleted['deployments_deleted']} deployment(s)"
    )
