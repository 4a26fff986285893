"""`purr`: the command line of purrflow.

Heavy imports (the server, the engine) happen inside the commands that need them, so that `purr --help`
and the API commands start fast.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from purrflow import __version__
from purrflow.cli import analytics, connections, identity, render, serve, sessions_ops
from purrflow.cli import events as events_cli
from purrflow.cli import projects as projects_cli
from purrflow.cli import vars as vars_cli
from purrflow.cli.client import ApiClient
from purrflow.cli.common import JsonFlag, UrlFlag, api, friendly, parse_data

app = typer.Typer(no_args_is_help=True, help="purrflow: durable Python automations.")
sessions_app = typer.Typer(no_args_is_help=True, help="List, inspect, follow, start and stop sessions.")
triggers_app = typer.Typer(no_args_is_help=True, help="The triggers of deployed projects.")
projects_app = typer.Typer(no_args_is_help=True, help="Deployed projects.")
app.add_typer(sessions_app, name="sessions")
sessions_app.command("journal")(friendly(sessions_ops.journal))
sessions_app.command("restart")(friendly(sessions_ops.restart))
sessions_app.command("rerun")(friendly(sessions_ops.rerun))
sessions_app.command("delete")(friendly(sessions_ops.delete))
app.add_typer(triggers_app, name="triggers")
app.add_typer(projects_app, name="projects")
app.add_typer(identity.teams_app, name="teams")
app.add_typer(identity.users_app, name="users")
app.add_typer(identity.tokens_app, name="tokens")
app.command()(friendly(identity.login))
app.command()(friendly(identity.logout))
app.command()(friendly(identity.password))
app.add_typer(analytics.analytics_app, name="analytics")
app.command()(friendly(analytics.insights))
config_app = typer.Typer(no_args_is_help=True, help="Your team's configuration store (strings).")
app.add_typer(config_app, name="config")
prompts_app = typer.Typer(no_args_is_help=True, help="Questions sessions are waiting on.")
app.add_typer(prompts_app, name="prompts")
secrets_app = typer.Typer(no_args_is_help=True, help="Your team's secrets (encrypted; only names are shown).")
app.add_typer(secrets_app, name="secrets")
values_app = typer.Typer(no_args_is_help=True, help="A project's value store.")
app.add_typer(values_app, name="values")
events_app = typer.Typer(no_args_is_help=True, help="Events received: list, show, send and redispatch them.")
app.add_typer(events_app, name="events")
events_app.command("list")(friendly(events_cli.list_events))
events_app.command("show")(friendly(events_cli.show))
events_app.command("redispatch")(friendly(events_cli.redispatch))
projects_app.command("delete")(friendly(projects_cli.delete))
app.add_typer(connections.connections_app, name="connections")
app.add_typer(vars_cli.vars_app, name="vars")


def _print_version(wanted: bool) -> None:
    if wanted:
        render.console.print(f"purrflow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """purrflow: durable Python automations."""


# -- server ------------------------------------------------------------------------------------


app.command()(friendly(serve.up))
app.command()(friendly(serve.worker))


#: How long `purr deploy` waits for the server (which installs requirements.txt before it answers).
DEPLOY_TIMEOUT_SECONDS = 45 * 60


@app.command()
@friendly
def deploy(
    folder: Annotated[Path, typer.Argument(help="the project folder (holds purrflow.yaml)")] = Path("."),
    name: Annotated[str | None, typer.Option(help="project name (default: the manifest's)")] = None,
    migrate: Annotated[bool, typer.Option(help="move unfinished sessions to the new code")] = False,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Deploy a project folder and show its triggers' webhook URLs."""
    from purrflow.engine.deploy import collect_files
    from purrflow.engine.envs import count_requirements, requirements_of
    from purrflow.manifest import project_name_for

    collected = collect_files(folder)
    files = {path: base64.b64encode(content).decode() for path, content in collected.items()}
    name = name or project_name_for(folder)
    requirements = requirements_of(collected)
    if requirements is not None and not as_json:
        render.err_console.print(f"installing requirements.txt ({count_requirements(requirements)} packages)…")
    with api(url) as client:  # an install may take minutes: the server answers once it is done
        body = {"name": name, "files": files, "migrate": migrate}
        result = client.request("POST", "/projects/deploy", json=body, timeout=DEPLOY_TIMEOUT_SECONDS)
    if as_json:
        render.print_json(result)
        return
    if env := result.get("requirements"):
        done = "already installed" if env["cached"] else f"installed in {env['seconds']:.1f} s"
        render.err_console.print(f"requirements.txt: {done} (environment {env['env'][:12]})")
    deployment = result["deployment"]
    render.console.print(
        f"[green]deployed[/green] [bold]{result['project']['name']}[/bold] as {deployment['id']}"
        f" ({deployment['file_count']} files)"
    )
    if result.get("migrated_sessions"):
        render.console.print(f"moved {result['migrated_sessions']} unfinished sessions to this deployment")
    if result["triggers"]:
        render.show(render.triggers_table(result["triggers"]))
    else:
        render.console.print("no triggers: start sessions with `purr sessions start`")
    project = result["project"]["name"]
    for connection in result.get("connections", []):
        line = f"connection {connection['name']} ({connection['integration']}, {connection['status']})"
        if connection["inbound_url"]:
            line += f": deliveries to {connection['inbound_url']}"
        if connection["status"] == "unset":
            line += f" — set it up with `purr connections init {project} {connection['name']}`"
        render.console.print(line)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@friendly
def run(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="the project folder")],
    entrypoint: Annotated[
        str | None,
        typer.Argument(help="file.py:function, or a trigger or ops.yml command (default: the only one)"),
    ] = None,
    data: Annotated[str | None, typer.Option(help="the event's data, a JSON object")] = None,
    config: Annotated[
        list[str] | None, typer.Option("--config", help="KEY=VALUE for the run's team config store (repeat)")
    ] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option("--secret", help="a secret for the run, its value taken from the environment variable KEY"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the outcome as JSON (the session's output goes to stderr)")
    ] = False,
) -> None:
    """Run one session of a project here, with no server; its output appears live.

    The run has a team of its own, with an empty config store and no secrets: seed them with --config
    and --secret (a secret's value comes from your environment, never from the command line). Further
    arguments go to an ops.yml command, appended to its `run`; they answer its prompts by name or flag
    (`--base-branch main`, `-b main`), as CTO.ai's `ops run` does."""
    from purrflow.cli.local_run import LocalStores, run_once
    from purrflow.cli.terminal import ask

    stores = LocalStores.from_options(config or [], secret or [], os.environ)
    event_data = parse_data(data)
    if ctx.args:
        event_data.setdefault("args", list(ctx.args))

    def on_log(stream: str, text: str) -> None:
        if stream == "log":  # sdk.log(): the session log only, not for the person at the terminal
            return
        if stream == "system" and text.startswith("session failed:"):
            return  # said once, with its traceback, when the run ends
        if stream in ("stdout", "ux") and not as_json:
            render.console.print(text, highlight=False, markup=False, soft_wrap=True)
        elif stream in ("stdout", "ux"):  # stdout holds the outcome only
            render.err_console.print(text, highlight=False, markup=False, soft_wrap=True)
        else:
            render.err_console.print(Text(text, style="red" if stream == "stderr" else "magenta"))

    outcome = asyncio.run(run_once(folder, entrypoint, event_data, on_log=on_log, ask=ask, stores=stores))
    if as_json:
        failed = outcome.failure
        error = {"type": failed.type, "message": failed.message, "traceback": failed.traceback} if failed else None
        render.print_json(
            {
                "session_id": outcome.session_id,
                "state": outcome.state,
                "result_repr": outcome.result_repr,
                "error": error,
            }
        )
        if outcome.state != "completed":
            raise typer.Exit(1)
        return
    if outcome.state == "completed":
        render.err_console.print(Text(f"completed: {outcome.result_repr or 'None'}", style="green"))
        return
    failure = outcome.failure
    if failure is not None:
        if '  File "' in failure.traceback:  # frames of the user's code, if any
            render.err_console.print(Text(failure.traceback.rstrip(), style="dim"))
        render.err_console.print(Text(f"{outcome.state}: {failure.type}: {failure.message}", style="bold red"))
    raise typer.Exit(1)


# -- sessions ----------------------------------------------------------------------------------


@sessions_app.command("list")
@friendly
def sessions_list(
    project: Annotated[str | None, typer.Option(help="only this project")] = None,
    trigger: Annotated[str | None, typer.Option(help="only sessions this trigger started")] = None,
    state: Annotated[list[str] | None, typer.Option(help="only this state (repeat for several)")] = None,
    since: Annotated[str | None, typer.Option(help="created at or after this ISO-8601 time")] = None,
    until: Annotated[str | None, typer.Option(help="created before this ISO-8601 time")] = None,
    before: Annotated[str | None, typer.Option(help="the page after this cursor (printed under a full page)")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 50,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """The newest sessions first."""
    with api(url) as client:
        answer = client.get(
            "/sessions",
            project=project, trigger=trigger, state=state, since=since, until=until, before=before, limit=limit,
        )  # fmt: skip
    sessions = answer["sessions"]
    if as_json:
        render.print_json(sessions)
    elif not sessions:
        render.console.print("no sessions yet" if before is None else "no more sessions")
    else:
        render.show(render.sessions_table(sessions))
        if answer.get("next"):
            given = [("--project", project), ("--trigger", trigger), ("--since", since), ("--until", until)]
            given += [("--state", name) for name in state or ()] + [("--limit", str(limit) if limit != 50 else None)]
            flags = "".join(f" {flag} {shlex.quote(value)}" for flag, value in given if value)
            more = f"more: purr sessions list{flags} --before {answer['next']}"
            render.console.print(more, highlight=False, soft_wrap=True)


@sessions_app.command("show")
@friendly
def sessions_show(session_id: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """One session in detail: state, times, result or error with its traceback."""
    with api(url) as client:
        session = client.get(f"/sessions/{session_id}")["session"]
    if as_json:
        render.print_json(session)
    else:
        render.console.print(render.session_panel(session))


def _follow(client: ApiClient, session_id: str, after: int = 0, *, quiet: bool = False) -> str:
    """Print a session's log live until it ends (only wait, when `quiet`: `--follow --json` prints one
    answer, at the end); reconnect a few times if the connection drops. The state it ended in."""
    last = after
    for _ in range(5):
        for event, payload in client.stream_logs(session_id, after=last):
            if event == "log":
                last = int(payload["seq"])
                if not quiet:
                    render.log_line(payload)
            elif event == "end":
                return str(payload["state"])
    return str(client.get(f"/sessions/{session_id}")["session"]["state"])


@sessions_app.command("logs")
@friendly
def sessions_logs(
    session_id: str,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing until the session ends")] = False,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """A session's output (print and logging), line by line with timestamps. With --follow, until it ends:
    the exit code is 0 only if it completed (as `purr sessions start --follow`), so scripts can wait on it."""
    with api(url) as client:
        if follow and not as_json:
            final = _follow(client, session_id)
            render.err_console.print(Text(f"session {final}", style=render.STATE_STYLES.get(final, "")))
            if final != "completed":
                raise typer.Exit(1)
            return
        if follow:  # and --json: the whole log once, when the session has ended
            _follow(client, session_id, quiet=True)
        body = client.get(f"/sessions/{session_id}/logs")
    if as_json:
        render.print_json(body["logs"])
        if follow and body["state"] != "completed":
            raise typer.Exit(1)
        return
    for line in body["logs"]:
        render.log_line(line)


@sessions_app.command("stop")
@friendly
def sessions_stop(
    session_id: str,
    reason: Annotated[str, typer.Option(help="why, kept with the session")] = "",
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Stop a running or waiting session."""
    with api(url) as client:
        session = client.post(f"/sessions/{session_id}/stop", {"reason": reason})["session"]
    if as_json:
        render.print_json(session)
    else:
        render.console.print(Text(f"stopped {session['id']}", style="dim"))


@sessions_app.command("start")
@friendly
def sessions_start(
    project: str,
    entrypoint: Annotated[str, typer.Argument(help="file.py:function, or a trigger or ops.yml command's name")],
    data: Annotated[str | None, typer.Option(help="the event's data, a JSON object")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="print its log until it ends")] = False,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Start a session of a deployed project by hand."""
    with api(url) as client:
        started = client.post("/sessions", {"project": project, "entrypoint": entrypoint, "data": parse_data(data)})
        if as_json and follow:  # one object on stdout: the session as it ended
            _follow(client, started["session_id"], quiet=True)
            session = client.get(f"/sessions/{started['session_id']}")["session"]
            render.print_json(session)
            if session["state"] != "completed":
                raise typer.Exit(1)
            return
        if as_json:
            render.print_json(started)
        else:
            render.console.print(started["session_id"])
        if follow:
            final = _follow(client, started["session_id"])
            render.err_console.print(Text(f"session {final}", style=render.STATE_STYLES.get(final, "")))
            if final != "completed":
                raise typer.Exit(1)


# -- triggers and projects -----------------------------------------------------------------------


@triggers_app.command("list")
@friendly
def triggers_list(
    project: Annotated[str | None, typer.Option(help="only this project")] = None,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Every trigger with its webhook URL, schedule or connection."""
    with api(url) as client:
        triggers = client.get("/triggers", project=project)["triggers"]
    if as_json:
        render.print_json(triggers)
    elif not triggers:
        render.console.print("no triggers: deploy a project with `purr deploy`")
    else:
        render.show(render.triggers_table(triggers))


@projects_app.command("list")
@friendly
def projects_list(url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Deployed projects and their current deployment."""
    with api(url) as client:
        projects = client.get("/projects")["projects"]
    if as_json:
        render.print_json(projects)
        return
    if not projects:
        render.console.print("no projects: deploy one with `purr deploy`")
        return
    render.show(render.projects_table(projects))


# -- events ------------------------------------------------------------------------------------


@events_app.command("send")
@friendly
def events_send(
    source: Annotated[str, typer.Argument(help="a trigger or connection of the project")],
    project: Annotated[str, typer.Option(help="the project")],
    event_type: Annotated[str, typer.Option("--type", help="the event type, e.g. message")],
    data: Annotated[str | None, typer.Option(help="the event's data, a JSON object")] = None,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Send an event as if the integration had: matching triggers start, subscriptions receive it."""
    body = {"project": project, "source": source, "event_type": event_type, "data": parse_data(data)}
    with api(url) as client:
        sent = client.post("/events", body)
    if as_json:
        render.print_json(sent)
        return
    started = ", ".join(sent["session_ids"]) or "no session"
    render.console.print(f"event {sent['event_id']} stored; started {started}")


# -- config ------------------------------------------------------------------------------------


@config_app.command("list")
@friendly
def config_list(url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Every config key of your team with its value."""
    with api(url) as client:
        config = client.get("/config")["config"]
    if as_json:
        render.print_json(config)
    elif not config:
        render.console.print("your team has no config yet: purr config set KEY VALUE")
    else:
        for key, value in config.items():
            render.console.print(f"{key} = {value}", markup=False, highlight=False)


@config_app.command("get")
@friendly
def config_get(key: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """One config value, printed as it is."""
    with api(url) as client:
        answer = client.get(f"/config/{key}")
    if as_json:
        render.print_json(answer)
    else:
        render.console.print(answer["value"], markup=False, highlight=False)


@config_app.command("set")
@friendly
def config_set(key: str, value: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Set a config value for your team; sessions read it with sdk.config.get(KEY)."""
    with api(url) as client:
        answer = client.request("PUT", f"/config/{key}", json={"value": value})
    render.done(answer, f"set {key}", as_json=as_json)


@config_app.command("del")
@friendly
def config_del(key: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Delete a config value."""
    with api(url) as client:
        answer = client.request("DELETE", f"/config/{key}")
    render.done(answer, f"deleted {key}", as_json=as_json)


# -- prompts -------------------------------------------------------------------------------------


@prompts_app.command("list")
@friendly
def prompts_list(
    session: Annotated[str | None, typer.Option(help="only this session's")] = None,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Open prompts of your team's sessions."""
    with api(url) as client:
        prompts = client.get("/prompts", session_id=session)["prompts"]
    if as_json:
        render.print_json(prompts)
    elif not prompts:
        render.console.print("no session is waiting for an answer")
    else:
        render.show(render.prompts_table(prompts))


@prompts_app.command("answer")
@friendly
def prompts_answer(
    prompt_id: str,
    value: Annotated[
        str, typer.Argument(help="the answer: text, a number, yes/no, a choice, or JSON; - reads it from stdin")
    ],
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer a prompt; the waiting session resumes with it.

    The answer goes as typed: the server reads text by the prompt's type (a number, yes/no, a choice by
    name before its index, a JSON list or a,b for a checkbox), so a text prompt gets `1.10`, `true` or
    `["a"]` exactly as written. `-` reads the answer from standard input (one line, without its line
    end; asked without echo on a terminal), so a password need not appear on a command line.
    """
    if value == "-":
        value = typer.prompt("answer", hide_input=True) if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    with api(url) as client:
        answered = client.post(f"/prompts/{prompt_id}/answer", {"value": value})
    render.done(answered, f"answered {answered['answered']}: {answered['value']}", as_json=as_json)


# -- secrets -------------------------------------------------------------------------------------


@secrets_app.command("list")
@friendly
def secrets_list(url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """The names of your team's secrets (never their values)."""
    with api(url) as client:
        secrets = client.get("/secrets")["secrets"]
    if as_json:
        render.print_json(secrets)
    elif not secrets:
        render.console.print("your team has no secrets yet: purr secrets set KEY")
    else:
        for secret in secrets:
            render.console.print(f"{secret['key']}  (set {render.ago(secret['updated_at'])})", markup=False)


@secrets_app.command("set")
@friendly
def secrets_set(
    key: str,
    value: Annotated[str, typer.Option(prompt=True, hide_input=True, help="the value (asked for when left out)")],
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Store a secret for your team, encrypted."""
    with api(url) as client:
        answer = client.request("PUT", f"/secrets/{key}", json={"value": value})
    render.done(answer, f"stored secret {key}", as_json=as_json)


@secrets_app.command("del")
@friendly
def secrets_del(key: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Delete a secret."""
    with api(url) as client:
        answer = client.request("DELETE", f"/secrets/{key}")
    render.done(answer, f"deleted secret {key}", as_json=as_json)


# -- values ------------------------------------------------------------------------------------


@values_app.command("list")
@friendly
def values_list(project: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Every value of a project (values that are not plain data show as their size)."""
    with api(url) as client:
        values = client.get("/values", project=project)["values"]
    if as_json:
        render.print_json(values)
    elif not values:
        render.console.print(f"project {project} has no values")
    else:
        render.show(render.values_table(values))


@values_app.command("get")
@friendly
def values_get(project: str, key: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """One value, as JSON (with --json, the whole answer: its key and size too)."""
    with api(url) as client:
        answer = client.get(f"/values/{key}", project=project)
    render.print_json(answer if as_json else answer["value"])


@values_app.command("set")
@friendly
def values_set(
    project: str,
    key: str,
    value: Annotated[str, typer.Argument(help='JSON (42, "text", [1, 2], {...}); anything else is taken as text')],
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Set a value; sessions read it with get_value(key)."""
    try:
        parsed: Any = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    with api(url) as client:
        answer = client.request("PUT", f"/values/{key}", params={"project": project}, json={"value": parsed})
    render.done(answer, f"set {key} = {json.dumps(parsed)}", as_json=as_json)


@values_app.command("del")
@friendly
def values_del(project: str, key: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Delete a value."""
    with api(url) as client:
        answer = client.request("DELETE", f"/values/{key}", params={"project": project})
    render.done(answer, f"deleted {key}", as_json=as_json)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
