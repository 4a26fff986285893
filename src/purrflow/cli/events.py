"""`purr events list|show|redispatch`: the events a team's projects received, and receiving one again.

Registered in `main.py` beside `purr events send`. Ids are printed whole (people copy them into the next
command).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Table
from rich.text import Text

from purrflow.cli import render
from purrflow.cli.common import JsonFlag, UrlFlag, api


def _path(event_id: str, what: str = "") -> str:
    return f"/events/{quote(event_id, safe='')}" + (f"/{what}" if what else "")


def list_events(
    project: Annotated[str | None, typer.Option(help="only this project's")] = None,
    source: Annotated[str | None, typer.Option(help="only from this trigger or connection")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 50,
    before: Annotated[str | None, typer.Option(help="the page after this event (the `next` of --json)")] = None,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """The newest events first: when, project, source, type (`purr events show ID` for the data)."""
    with api(url) as client:
        body = client.get("/events", project=project, source=source, limit=limit, before=before)
    if as_json:
        render.print_json(body)
        return
    if not body["events"]:
        render.console.print("no events yet")
        return
    render.show(events_table(body["events"]))
    if body["next"]:
        render.err_console.print(Text(f"older events: purr events list --before {body['next']}", style="dim"))


def events_table(events: list[dict[str, Any]]) -> Table:
    table = Table(header_style="bold")
    table.add_column("id", no_wrap=True)
    table.add_column("project", overflow="fold")
    table.add_column("source", overflow="fold")
    table.add_column("type", overflow="fold")
    table.add_column("received", no_wrap=True)
    for event in events:
        table.add_row(
            event["id"], event["project"], event["source"], event["event_type"], render.ago(event["created_at"])
        )
    return table


def show(event_id: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """One event: where it came from, its data, and the sessions it started."""
    with api(url) as client:
        event = client.get(_path(event_id))["event"]
    if as_json:
        render.print_json(event)
        return
    for label, value in (
        ("id", event["id"]),
        ("project", event["project"]),
        ("source", event["source"]),
        ("type", event["event_type"]),
        ("received", f"{event['created_at']} ({render.ago(event['created_at'])})"),
        ("sessions", ", ".join(event["session_ids"]) or "none"),
    ):
        render.console.print(Text(f"{label:>9}  ", style="bold") + Text(value), soft_wrap=True)
    render.print_json(event["data"])


def redispatch(event_id: str, url: UrlFlag = None, as_json: JsonFlag = False) -> None:
    """Receive an event again: the triggers that match it now start, live subscriptions get it. Prints the
    new sessions' ids, one a line."""
    with api(url) as client:
        sent = client.post(_path(event_id, "redispatch"))
    if as_json:
        render.print_json(sent)
    elif not sent["session_ids"]:
        render.err_console.print(f"event {event_id} matches no trigger now: no session started")
    else:
        for session_id in sent["session_ids"]:
            render.console.print(session_id, soft_wrap=True, highlight=False)
