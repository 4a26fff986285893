"""`purr vars list|get|set|del PROJECT …`: a project's vars, over the manifest's (AutoKitteh's `ak var`).

Sessions see vars as environment variables; one set here applies to sessions started afterwards. A secret
var is stored encrypted and never printed: `get` says it is secret, `list` shows `(secret)`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.markup import escape

from purrflow.cli import render
from purrflow.cli.common import JsonFlag, UrlFlag, api, friendly

vars_app = typer.Typer(no_args_is_help=True, help="A project's vars (environment of its sessions; over the manifest).")

SECRET = "(secret)"


def _path(project: str, name: str | None = None) -> str:
    path = f"/projects/{quote(project, safe='')}/vars"
    return f"{path}/{quote(name, safe='')}" if name is not None else path


def _shown(var: dict[str, Any]) -> str:
    return SECRET if var["secret"] else str(var["value"])


@vars_app.command("list")
@friendly
def vars_list(project: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Every var of the project: the manifest's, and those set with `purr vars set` (marked `set`)."""
    with api(url) as client:
        found = client.get(_path(project))["vars"]
    if as_json:
        render.print_json(found)
    elif not found:
        render.console.print(f"project {escape(project)} has no vars: purr vars set {escape(project)} NAME VALUE")
    else:
        for var in found:
            origin = "set" if var["source"] == "set" else "manifest"
            render.console.print(f"{var['name']} = {_shown(var)}  [{origin}]", markup=False, highlight=False)


@vars_app.command("get")
@friendly
def vars_get(project: str, name: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """One var's value, printed as it is (a secret var's value is never shown)."""
    with api(url) as client:
        var = client.get(_path(project, name))["var"]
    if as_json:
        render.print_json(var)
    elif var["secret"]:
        render.console.print(f"{name} is secret: its value is never shown", markup=False, highlight=False)
    else:
        render.console.print(var["value"], markup=False, highlight=False, soft_wrap=True)


@vars_app.command("set")
@friendly
def vars_set(
    project: str,
    name: str,
    value: Annotated[str | None, typer.Argument(help="the value (asked for when left out)")] = None,
    secret: Annotated[bool, typer.Option("--secret", help="store it encrypted; it is never shown again")] = False,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Set a var of the project for sessions started from now on (one the manifest lacks, too)."""
    if value is None:
        value = str(typer.prompt(name, hide_input=secret))
    with api(url) as client:
        answer = client.request("PUT", _path(project, name), json={"value": value, "secret": secret})
    kind = "secret var" if answer["var"]["secret"] else "var"
    render.done(answer, f"set {kind} {name} of {project}", as_json=as_json)


@vars_app.command("del")
@friendly
def vars_del(project: str, name: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Remove a var set with `purr vars set`; the manifest's value, if it has one, applies again."""
    with api(url) as client:
        answer = client.request("DELETE", _path(project, name))
    manifest = answer.get("manifest")
    after = f"; the manifest's value applies again: {_shown(manifest)}" if manifest else ""
    render.done(answer, f"deleted var {name} of {project}{after}", as_json=as_json)
