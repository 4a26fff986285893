"""`purr sessions journal|restart|rerun|delete`: operating sessions after the fact.

Kept apart from `main.py` so the session commands that inspect and repair grow here; `main.py` registers
each with one line. Ids are printed whole (people copy them into the next command).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Table
from rich.text import Text

from purrflow.cli import render
from purrflow.cli.common import JsonFlag, UrlFlag, YesFlag, api, confirm
from purrflow.errors import InvalidInputError

_OUTCOME_STYLES = {"ok": "green", "error": "red", "retried": "yellow", "live": "yellow"}


def _path(session_id: str, what: str) -> str:
    return f"/sessions/{quote(session_id, safe='')}/{what}"


def journal(session_id: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """A session's steps in order: number, name (and attempt), arguments, outcome with a short summary
    (secrets hidden), when it was recorded and how long it took; "replayed" marks a step the latest
    runner answered from the journal."""
    with api(url) as client:
        body = client.get(_path(session_id, "journal"))
        while body["next_after"] is not None:  # the server answers a page at a time: read them all
            page = client.get(_path(body["session_id"], "journal"), after=body["next_after"])
            body = {**page, "steps": body["steps"] + page["steps"]}
    if as_json:
        render.print_json(body)
        return
    render.console.print(Text(f"{body['session_id']}  {body['state']}", style="bold"), soft_wrap=True)
    if body["steps"]:
        render.show(journal_table(body))
    if body["waiting"]:
        line = f"waiting {render.wait_text(body['waiting'])}"
        render.console.print(Text(line, style=render.STATE_STYLES["waiting"]), soft_wrap=True)
    elif not body["steps"]:
        render.console.print(Text(f"session {body['session_id']} has taken no steps ({body['state']})"), soft_wrap=True)


def journal_table(body: dict[str, Any]) -> Table:
    table = Table(header_style="bold")
    table.add_column("seq", justify="right", no_wrap=True)
    table.add_column("step", overflow="fold")
    table.add_column("args", overflow="fold", ratio=1)
    table.add_column("outcome", overflow="fold", ratio=1)
    table.add_column("at", no_wrap=True)
    table.add_column("took", justify="right", no_wrap=True)
    for step in body["steps"]:
        name = Text(step["name"])
        if step.get("attempt"):
            name.append(f"  attempt {step['attempt']}", style="bold")
        outcome = Text(step["outcome"], style=_OUTCOME_STYLES.get(step["outcome"], ""))
        outcome.append(f"  {step['summary']}", style="")
        if step.get("replayed"):
            outcome.append("  (replayed)", style="dim")
        took = "-" if step.get("duration_ms") is None else f"{step['duration_ms']:.1f} ms"
        table.add_row(str(step["seq"]), name, Text(step.get("args") or ""), outcome, _clock(step["recorded_at"]), took)
    return table


def _clock(iso: str | None) -> str:
    """When a step was recorded, as the log's lines show it (local time of day, milliseconds)."""
    if not iso:
        return "-"
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S.%f")[:-3]


def restart(session_id: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Start an ended session again: same entry point, event and trigger, on the current deployment.
    Prints the new session's id (follow it with `purr sessions logs -f ID`)."""
    with api(url) as client:
        started = client.post(_path(session_id, "restart"))
    if as_json:
        render.print_json(started)
    else:
        render.console.print(started["session_id"], soft_wrap=True, highlight=False)


def rerun(
    session_id: str,
    from_step: Annotated[int, typer.Option("--from-step", help="the first step that runs again (see its journal)")],
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Run an ended session again from step K, on the deployment it ran on: steps before K replay from its
    journal (their results, not their effects), steps from K on run again. Prints the new session's id."""
    with api(url) as client:
        started = client.post(_path(session_id, "rerun"), {"from_step": from_step})
    if as_json:
        render.print_json(started)
    else:
        render.console.print(started["session_id"], soft_wrap=True, highlight=False)


def delete(
    session_ids: Annotated[list[str] | None, typer.Argument(help="ended sessions to delete")] = None,
    project: Annotated[str | None, typer.Option(help="or: the ended sessions of this project")] = None,
    older_than: Annotated[str | None, typer.Option(help="that ended longer ago than this, e.g. 30d")] = None,
    state: Annotated[str | None, typer.Option(help="in this final state: completed, error or stopped")] = None,
    yes: YesFlag = False,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete ended sessions with their journal, logs and prompts: the ones named, or all that match
    --project, --older-than and --state. Asks first, unless --yes; sessions under way are refused."""
    ids = list(session_ids or ())
    filters = {"project": project, "older_than": older_than, "state": state}
    if ids and any(filters.values()):
        raise InvalidInputError("name sessions, or filter them with --project/--older-than/--state, not both")
    if not ids and not any(filters.values()):
        raise InvalidInputError(
            "say which sessions to delete", hint="name them, or filter: e.g. --older-than 30d --state error"
        )
    body: dict[str, Any] = {"session_ids": ids} if ids else filters
    with api(url) as client:
        count = len(ids) if ids else int(client.post("/sessions/delete", {**body, "dry_run": True})["matched"])
        if count == 0:
            answer: dict[str, Any] = {"deleted": 0}
        elif yes or confirm(f"delete {count} ended session(s) and everything of them?"):
            answer = client.post("/sessions/delete", body)
        else:
            render.err_console.print("nothing deleted")
            raise typer.Exit(1)
    if as_json:
        render.print_json(answer)
    else:
        render.console.print(f"deleted {answer['deleted']} session(s)")
