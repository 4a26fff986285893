"""How the CLI shows things: rich tables, coloured states, relative times."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

console = Console()
err_console = Console(stderr=True)

STATE_STYLES = {
    "completed": "green",
    "error": "red",
    "running": "yellow",
    "waiting": "cyan",
    "created": "yellow",
    "stopped": "dim",
}


#: What people copy: ids (`ses_01a2…`), URLs. A column holding one is never wrapped or cut.
_WHOLE = re.compile(r"^([a-z]{2,4}_[0-9a-zA-Z]{8,}|https?://\S+)$")


#: A column this narrow is never wrapped; a wider one that is not an id or URL may fold to this.
_SHORT = 12
_FOLDED = 8


def show(table: Table) -> None:
    """A table as people read it on a terminal — columns of ids and URLs kept whole, the others wrapped,
    nothing cut short —
    or, piped, as plain tab-separated lines (a header line first) that `cut` and `awk` can take."""
    if not console.is_terminal:
        header = [str(column.header) for column in table.columns]
        rows = zip(*[[_plain(cell) for cell in column.cells] for column in table.columns], strict=True)
        sys.stdout.write("\n".join("\t".join(row) for row in [header, *rows]) + "\n")
        return
    cells = {id(column): [_plain(cell) for cell in column.cells] for column in table.columns}
    need = {id(c): max(len(text) for text in [str(c.header), *cells[id(c)]]) for c in table.columns}
    kept = 0
    for column in table.columns:
        texts = cells[id(column)]
        if need[id(column)] <= _SHORT or any(_WHOLE.match(text) for text in texts):
            column.no_wrap = True  # an id, a URL, a state, a count: whole, or not at all
            kept += need[id(column)]
        else:
            column.overflow = "fold"  # wrapped, and folded where a word is too long: never cut short
            kept += _FOLDED
    if kept + 3 * len(table.columns) + 1 > console.width:  # too narrow for a table that cuts nothing
        _records(table, cells)
        return
    console.print(table)


def _records(table: Table, cells: dict[int, list[str]]) -> None:
    """Each row as `column: value` lines: what a terminal too narrow for the table still shows whole."""
    width = max(len(str(column.header)) for column in table.columns)
    rows = zip(*[cells[id(column)] for column in table.columns], strict=True)
    for number, row in enumerate(rows):
        if number:
            console.print()
        for column, value in zip(table.columns, row, strict=True):
            console.print(Text(f"{column.header!s:>{width}}  ", style="bold") + Text(value), soft_wrap=True)


def _plain(cell: Any) -> str:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return " ".join(text.split())


def print_json(value: Any) -> None:
    """What `--json` prints: the API's object, once, on stdout, with no colour and nothing around it."""
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def done(answer: Any, message: str, *, as_json: bool) -> None:
    """A command's outcome: the API's answer under `--json`, else one line saying what was done."""
    if as_json:
        print_json(answer)
    else:
        console.print(message, markup=False, highlight=False)


def state(text: str) -> Text:
    return Text(text, style=STATE_STYLES.get(text, ""))


def ago(iso: str | None) -> str:
    if not iso:
        return "-"
    seconds = time.time() - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{max(0, int(seconds))}s ago"


def sessions_table(sessions: list[dict[str, Any]]) -> Table:
    table = Table(title=None, header_style="bold")
    for column in ("session", "project", "entrypoint", "state", "trigger", "steps", "created"):
        table.add_column(column)
    for s in sessions:
        table.add_row(
            s["id"],
            s["project"],
            s["entrypoint"],
            state(s["state"]),
            s["trigger"] or "-",
            str(s["steps"]),
            ago(s["created_at"]),
        )
    return table


def triggers_table(triggers: list[dict[str, Any]]) -> Table:
    table = Table(header_style="bold")
    for column in ("project", "trigger", "kind", "call", "where"):
        table.add_column(column)
    for t in triggers:
        where = t["webhook_url"] or t["schedule"] or t["connection"] or "-"
        kind = t["kind"] + (" (sync)" if t["is_sync"] else "")
        if t.get("event_type"):
            kind += f" {t['event_type'].upper()}"
        table.add_row(t["project"], t["name"], kind, t["call"] or "(events only)", where)
    return table


def projects_table(projects: list[dict[str, Any]]) -> Table:
    table = Table(header_style="bold")
    for column in ("project", "deployment", "deployed"):
        table.add_column(column)
    for p in projects:
        table.add_row(p["name"], p["deployment_id"] or "-", ago(p["deployed_at"]))
    return table


def values_table(values: list[dict[str, Any]]) -> Table:
    table = Table(header_style="bold")
    for column in ("key", "value", "bytes"):
        table.add_column(column)
    for v in values:
        table.add_row(v["key"], json.dumps(v["value"]), str(v["bytes"]))
    return table


def prompts_table(prompts: list[dict[str, Any]]) -> Table:
    table = Table(header_style="bold")
    for column in ("prompt", "session", "type", "question", "options"):
        table.add_column(column)
    for p in prompts:
        options = ", ".join(f"{k}={v}" for k, v in p["options"].items() if v not in (None, False, ""))
        table.add_row(p["id"], p["session_id"], p["type"], p["message"], options)
    return table


def session_panel(s: dict[str, Any]) -> Panel:
    lines = Text()
    rows = [
        ("state", state(s["state"])),
        ("project", Text(s["project"])),
        ("entrypoint", Text(s["entrypoint"])),
        ("trigger", Text(s["trigger"] or "-")),
        ("parent", Text(s["parent_id"] or "-")),
        ("steps", Text(str(s["steps"]))),
        ("created", Text(f"{s['created_at']} ({ago(s['created_at'])})")),
        ("updated", Text(f"{s['updated_at']} ({ago(s['updated_at'])})")),
    ]
    if s["state"] == "completed":
        rows.append(("result", Text(s["result_repr"] or "None")))
    if s.get("rerun_of"):
        rows.append(("rerun of", Text(f"{s['rerun_of']} from step {s['rerun_from']}")))
    if s.get("waiting"):
        rows.append(("waiting", Text(wait_text(s["waiting"]), style=STATE_STYLES["waiting"])))
    for label, value in rows:
        lines.append(f"{label:>10}  ", style="bold")
        lines.append(value)
        lines.append("\n")
    if s.get("error"):
        lines.append(f"\n{s['error']['type']}: {s['error']['message']}\n", style="red")
        if s["error"].get("traceback"):
            lines.append(s["error"]["traceback"], style="dim")
    return Panel(lines, title=s["id"], expand=False)


def wait_text(wait: dict[str, Any]) -> str:
    """What a waiting session waits for, as the API's `waiting` says it: "at step 3 for … until …"."""
    until = f" until {wait['deadline']}" if wait["deadline"] else ""
    return f"at step {wait['seq']} for {wait['waits_for']}{until}"


def log_line(line: dict[str, Any]) -> None:
    stamp = datetime.fromtimestamp(line["ts"]).strftime("%H:%M:%S.%f")[:-3]
    style = {"stderr": "red", "system": "magenta"}.get(line["stream"], "")
    console.print(Text(f"{stamp} ", style="dim") + Text(line["text"], style=style), highlight=False)
