"""`purr sessions journal|restart ID`: operating a session after the fact.

Kept apart from `main.py` so the session commands that inspect and repair grow here; `main.py` registers
each with one line. Ids are printed whole (people copy them into the next command).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from rich.table import Table
from rich.text import Text

from purrflow.cli import render
from purrflow.cli.common import JsonFlag, UrlFlag, api

_OUTCOME_STYLES = {"ok": "green", "error": "red", "live": "yellow"}


def _path(session_id: str, what: str) -> str:
    return f"/sessions/{quote(session_id, safe='')}/{what}"


def journal(session_id: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """A session's steps in order: number, name, outcome with a short summary (secrets hidden), when."""
    with api(url) as client:
        body = client.get(_path(session_id, "journal"))
    if as_json:
        render.print_json(body)
        return
    render.console.print(Text(f"{body['session_id']}  {body['state']}", style="bold"), soft_wrap=True)
    if body["steps"]:
        render.show(journal_table(body))
    if body["waiting"]:
        wait = body["waiting"]
        until = f" until {wait['deadline']}" if wait["deadline"] else ""
        line = f"waiting at step {wait['seq']} for {wait['waits_for']}{until}"
        render.console.print(Text(line, style=render.STATE_STYLES["waiting"]), soft_wrap=True)
    elif not body["steps"]:
        render.console.print(Text(f"session {body['session_id']} has taken no steps ({body['state']})"), soft_wrap=True)


def journal_table(body: dict[str, Any]) -> Table:
    table = Table(header_style="bold")
    table.add_column("seq", justify="right", no_wrap=True)
    table.add_column("step", overflow="fold")
    table.add_column("outcome", overflow="fold", ratio=1)
    table.add_column("at", no_wrap=True)
    for step in body["steps"]:
        outcome = Text(step["outcome"], style=_OUTCOME_STYLES.get(step["outcome"], ""))
        outcome.append(f"  {step['summary']}", style="")
        table.add_row(str(step["seq"]), Text(step["name"]), outcome, _clock(step["recorded_at"]))
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
