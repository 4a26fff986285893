"""`purr connections list|init|set|test`: a project's connections and their credentials.

`init` asks for what the connection's integration needs (from the catalog in `rules/connections.py`):
secret fields without echo, and a field given as `FIELD=@path` is read from that file (a GitHub App's PEM,
a service account's JSON). Values typed on the command line land in the shell's history: prefer the prompt.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from purrflow.cli import render
from purrflow.cli.client import ApiClient
from purrflow.cli.common import JsonFlag, UrlFlag, api, friendly
from purrflow.errors import InvalidInputError
from purrflow.rules.connections import AuthMode, Integration, integration_of

connections_app = typer.Typer(no_args_is_help=True, help="Connections: credentials, status, inbound URLs.")

FieldsArg = Annotated[list[str] | None, typer.Argument(help="FIELD=VALUE, or FIELD=@file to read it from a file")]
_STATUS_STYLE = {"ok": "green", "error": "bold red", "untested": "yellow", "unset": "dim"}


def parse_fields(items: list[str], *, allow_removal: bool) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(
                f"{item!r} is not FIELD=VALUE", hint="e.g. purr connections set P slack_conn base_url=http://…"
            )
        if value.startswith("@"):
            path = Path(value[1:]).expanduser()
            try:
                value = path.read_text().strip()
            except OSError as err:
                raise InvalidInputError(f"cannot read {key} from {path}: {err.strerror}") from None
        if not value and not allow_removal:
            raise InvalidInputError(f"{key} is empty", hint="give it a value, or leave it out to be asked for it")
        values[key] = value or None
    return values


@connections_app.command("list")
@friendly
def connections_list(project: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """A project's connections: integration, auth, status of the last test, inbound URL, fields."""
    with api(url) as client:
        connections = client.get("/connections", project=project)["connections"]
    if as_json:
        render.print_json(connections)
        return
    if not connections:
        render.console.print(f"project {project} declares no connections")
        return
    table = Table(header_style="bold")
    for column in ("connection", "integration", "auth", "status", "fields", "inbound URL"):
        table.add_column(column)
    for c in connections:
        status = Text(c["status"], style=_STATUS_STYLE.get(c["status"], ""))
        if c["status_detail"]:
            status.append(f": {c['status_detail']}", style="dim")
        fields = ", ".join(f"{k}={v}" for k, v in c["fields"].items()) or "(none)"
        table.add_row(c["name"], c["integration"], c["auth_mode"] or "-", status, fields, c["inbound_url"] or "")
    render.show(table)


@connections_app.command("set")
@friendly
def connections_set(
    project: str,
    name: str,
    fields: Annotated[list[str], typer.Argument(help="FIELD=VALUE (FIELD= removes it; FIELD=@file reads it)")],
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Set a connection's fields as they are; sessions read them as <connection>__<field> variables."""
    values = parse_fields(fields, allow_removal=True)
    with api(url) as client:
        result = client.request("PATCH", f"/connections/{name}", params={"project": project}, json={"vars": values})
    render.done(result, f"{name}: {', '.join(result['fields']) or '(no fields)'}", as_json=as_json)


@connections_app.command("init")
@friendly
def connections_init(
    project: str,
    name: str,
    fields: FieldsArg = None,
    auth: Annotated[str | None, typer.Option("--auth", help="the auth mode (default: ask, or the first)")] = None,
    test: Annotated[bool, typer.Option(help="test the connection afterwards")] = True,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Set a connection's credentials, asking for each field its integration needs."""
    given = {k: v for k, v in parse_fields(fields or [], allow_removal=False).items() if v}
    with api(url) as client:
        current = client.get(f"/connections/{name}", project=project)["connection"]
        integration = integration_of(current["integration"])
        if integration is None:
            raise InvalidInputError(
                f"purrflow has no catalog entry for {current['integration']!r}",
                hint=f"set its fields directly: purr connections set {project} {name} FIELD=VALUE …",
            )
        mode = _choose_mode(integration, auth)
        values: dict[str, str] = dict(given)
        for field in mode.fields:
            if field.required and not values.get(field.name) and sys.stdin.isatty():
                values[field.name] = typer.prompt(f"{name} · {field.prompt}", hide_input=field.secret).strip()
        view = client.post(f"/connections/{name}/init?project={project}", {"auth_mode": mode.name, "fields": values})[
            "connection"
        ]
        if test and not mode.oauth:
            view = client.post(f"/connections/{name}/test?project={project}")["connection"]
        if as_json:
            render.print_json(view)
        else:
            _print_view(view)
        if mode.oauth:  # under --json, stdout holds the connection only
            _print_oauth_hint(client, project, name, render.err_console if as_json else render.console)


@connections_app.command("test")
@friendly
def connections_test(project: str, name: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Call the service with the connection's credentials (Slack auth.test, GitHub /user, …)."""
    with api(url) as client:
        view = client.post(f"/connections/{name}/test?project={project}")["connection"]
    if as_json:
        render.print_json(view)
    else:
        _print_view(view)
    if view["status"] != "ok":
        raise typer.Exit(1)


def _choose_mode(integration: Integration, auth: str | None) -> AuthMode:
    if auth or len(integration.modes) == 1 or not sys.stdin.isatty():
        return integration.mode(auth)
    for number, mode in enumerate(integration.modes, 1):
        render.console.print(f"  {number}. {mode.name}: {mode.description}")
    picked = typer.prompt(f"how does it authenticate? (1-{len(integration.modes)})", default="1")
    if picked.isdigit() and 1 <= int(picked) <= len(integration.modes):
        return integration.modes[int(picked) - 1]
    return integration.mode(picked)


def _print_view(view: dict[str, Any]) -> None:
    status = Text(view["status"], style=_STATUS_STYLE.get(view["status"], ""))
    line = Text(f"{view['name']} ({view['integration']}, {view['auth_mode'] or 'fields'}): ").append(status)
    if view["status_detail"]:
        line.append(f" — {view['status_detail']}")
    render.console.print(line)
    if view["inbound_url"]:
        render.console.print(f"  inbound URL: {view['inbound_url']}")


def _print_oauth_hint(client: ApiClient, project: str, name: str, console: Console) -> None:
    start = client.post(f"/connections/{name}/oauth?project={project}")["url"]
    console.print(f"  open this link in a browser to grant access (good for ten minutes):\n  {start}")
    console.print(f"  then check it with: purr connections test {project} {name}")
