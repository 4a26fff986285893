"""`purr login`, `purr teams`, `purr users`, `purr tokens`: who may use the server."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from purrflow.cli import render
from purrflow.cli.client import ApiClient
from purrflow.cli.common import JsonFlag, UrlFlag, api, friendly
from purrflow.cli.settings import forget_login, save_login, server_url

teams_app = typer.Typer(no_args_is_help=True, help="Teams (admins of the default team create them).")
users_app = typer.Typer(no_args_is_help=True, help="Your team's users.")
tokens_app = typer.Typer(no_args_is_help=True, help="API tokens: shown once when created, stored hashed.")


def _table(columns: tuple[str, ...], rows: list[list[str]]) -> Table:
    table = Table(header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


def login(
    token: Annotated[str, typer.Option(prompt=True, hide_input=True, help="an API token")],
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a token against the server and remember both for later commands."""
    client = ApiClient(server_url(url), token)
    try:
        who = client.get("/me")
    finally:
        client.close()
    path = save_login(server_url(url), token)
    message = f"logged in to {server_url(url)} as {who['user']['username']} ({who['team']['name']}); saved in {path}"
    render.done(who, message, as_json=as_json)


def logout(as_json: JsonFlag = False) -> None:
    """Forget the server and token `purr login` saved (the token itself stays valid: revoke it with
    `purr tokens revoke ID`)."""
    path = forget_login()
    message = f"logged out: removed {path}" if path else "not logged in: nothing to forget"
    render.done({"removed": str(path) if path else None}, message, as_json=as_json)


def password(
    new: Annotated[
        str, typer.Option(prompt="New password", hide_input=True, confirmation_prompt=True, help="the new password")
    ],
    current: Annotated[
        str,
        typer.Option(
            prompt="Current password (Enter if none is set yet)",
            hide_input=True,
            help="the current password, when one is set",
        ),
    ] = "",
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Set your password for the web UI's login (asked without echo); changing one needs the current one."""
    with api(url) as client:
        answer = client.request("PUT", "/users/me/password", json={"password": new, "current": current or None})
    render.done(answer, "password set: log in to the web UI with your username and it", as_json=as_json)


@teams_app.command("list")
@friendly
def teams_list(url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Your team (every team, for admins of the default team)."""
    with api(url) as client:
        teams = client.get("/teams")["teams"]
    if as_json:
        render.print_json(teams)
    else:
        render.show(_table(("team", "id"), [[t["name"], t["id"]] for t in teams]))


@teams_app.command("create")
@friendly
def teams_create(
    name: str,
    admin: Annotated[str, typer.Option(help="username of its first admin")],
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a team and its first admin; prints the admin's token (shown once)."""
    with api(url) as client:
        created = client.post("/teams", {"name": name, "admin": admin})
    if as_json:
        render.print_json(created)
        return
    render.console.print(f"team {created['team']['name']} created; admin {admin}'s token (shown once):")
    render.console.print(created["token"], markup=False, highlight=False)


@users_app.command("list")
@friendly
def users_list(url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """The users of your team."""
    with api(url) as client:
        users = client.get("/users")["users"]
    if as_json:
        render.print_json(users)
    else:
        render.show(_table(("user", "role", "email"), [[u["username"], u["role"], u["email"]] for u in users]))


@users_app.command("create")
@friendly
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="admin or member")] = "member",
    email: Annotated[str, typer.Option(help="their email")] = "",
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a user to your team (admins only); prints their first token (shown once)."""
    with api(url) as client:
        created = client.post("/users", {"username": username, "role": role, "email": email})
    if as_json:
        render.print_json(created)
        return
    render.console.print(f"user {username} ({role}) added; their token (shown once):")
    render.console.print(created["token"], markup=False, highlight=False)


@tokens_app.command("create")
@friendly
def tokens_create(
    name: Annotated[str, typer.Option(help="what it is for")] = "", url: UrlFlag = None, as_json: JsonFlag = False
) -> None:
    """Create a token for yourself; printed once."""
    with api(url) as client:
        created = client.post("/tokens", {"name": name})
    render.done(created, created["token"], as_json=as_json)


@tokens_app.command("list")
@friendly
def tokens_list(url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Your tokens (every token of the team, for admins); never their values."""
    with api(url) as client:
        tokens = client.get("/tokens")["tokens"]
    if as_json:
        render.print_json(tokens)
        return
    rows = [
        [t["id"], t["name"], t["user"], render.ago(t["created_at"]), "revoked" if t["revoked_at"] else "live"]
        for t in tokens
    ]
    render.show(_table(("token", "name", "user", "created", "state"), rows))


@tokens_app.command("revoke")
@friendly
def tokens_revoke(token_id: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Revoke a token (its id, or enough of the id's start to name one): it stops working at once."""
    with api(url) as client:
        revoked = client.request("DELETE", f"/tokens/{token_id}")
    render.done(revoked, f"revoked {revoked['revoked']}", as_json=as_json)
