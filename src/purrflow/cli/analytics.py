"""`purr insights` and `purr analytics list|track`: the team's analytics events and DORA metrics.

Windows are worked out here, so a person can say `--days 7` or `--since 2026-11-01 --until 2026-11-30`
(a plain date as `--until` means the whole of that day) and the server always gets two ISO instants.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from purrflow.cli import render
from purrflow.cli.common import JsonFlag, UrlFlag, api, friendly, parse_data
from purrflow.errors import InvalidInputError

analytics_app = typer.Typer(no_args_is_help=True, help="Your team's analytics events (sdk.track).")

DAY = 86_400.0
SinceFlag = Annotated[str | None, typer.Option("--since", help="ISO-8601 date or time (default: --days ago)")]
UntilFlag = Annotated[str | None, typer.Option("--until", help="ISO-8601; a plain date includes that day")]
DaysFlag = Annotated[int | None, typer.Option("--days", min=1, help="the last N days (30 when no --since)")]


def window(days: int | None, since: str | None, until: str | None) -> tuple[str, str]:
    """The [start, end) instants to ask the server for, from the flags a person typed."""
    from purrflow.rules.analytics import is_plain_date, iso, parse_instant

    if days is not None and since is not None:
        raise InvalidInputError("give --days or --since, not both", hint="--since 2026-11-01 --until 2026-11-30")
    if until is None:
        end = time.time()
    elif is_plain_date(until):
        end = parse_instant((date.fromisoformat(until.strip()) + timedelta(days=1)).isoformat(), "--until")
    else:
        end = parse_instant(until, "--until")
    start = end - (days or 30) * DAY if since is None else parse_instant(since, "--since")
    if start >= end:
        raise InvalidInputError(f"--since {iso(start)} is not before --until {iso(end)}")
    return iso(start), iso(end)


def insights(
    days: DaysFlag = None,
    since: SinceFlag = None,
    until: UntilFlag = None,
    repo: Annotated[str | None, typer.Option(help="only this repo's deployments")] = None,
    by_repo: Annotated[bool, typer.Option("--by-repo", help="a column per repo")] = False,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """DORA metrics of your team's deployments: frequency, lead time, failure rate, time to restore."""
    start, end = window(days, since, until)
    with api(url) as client:
        report = client.get("/insights", start=start, end=end, repo=repo, by_repo=by_repo or None)
    if as_json:
        render.print_json(report)
        return
    span = report["window"]
    title = f"{span['start'][:10]} → {span['end'][:10]} ({_number(span['days'])} days)"
    render.console.print(Text(f"DORA metrics{f' of {repo}' if repo else ''}, {title}", style="bold"))
    render.show(insights_table(report))


def insights_table(report: dict[str, Any]) -> Table:
    groups: list[tuple[str, dict[str, Any]]] = [("all deployments", report)]
    groups += sorted((report.get("by_repo") or {}).items())
    table = Table(header_style="bold")
    table.add_column("metric")
    for name, _ in groups:
        table.add_column(Text(name))  # a repo's name, never rich markup
    for key, label in METRICS:
        table.add_row(label, *(_cell(key, group[key]) for _, group in groups))
    return table


METRICS = (
    ("deployment_frequency", "deployment frequency"),
    ("lead_time", "lead time for changes"),
    ("change_failure_rate", "change failure rate"),
    ("time_to_restore", "time to restore"),
)


def _cell(key: str, metric: dict[str, Any]) -> Text:
    value = metric["value"]
    if value is None:
        return Text(str(metric["reason"]), style="dim")
    if key == "deployment_frequency":
        return Text(f"{_number(value)} per day ({metric['deployments']} in {_number(metric['days'])} days)")
    if key == "change_failure_rate":
        return Text(f"{_percent(value)} ({metric['failed']} of {metric['deployments']} deployments failed)")
    if key == "lead_time":
        return Text(f"{duration(value)} (median {duration(metric['median'])}, {_plural(metric['samples'], 'change')})")
    text = f"{duration(value)} (median {duration(metric['median'])}, {_plural(metric['restores'], 'restore')})"
    if metric.get("unrestored"):
        text += f"; {metric['unrestored']} not restored yet"
    return Text(text)


def duration(seconds: float) -> str:
    """Two units at most, the way people say it: 45s, 12m 5s, 2h 13m, 3d 4h."""
    total = round(seconds)
    units = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
    for index, (name, size) in enumerate(units):
        if total >= size:
            text = f"{total // size}{name}"
            if index + 1 < len(units):
                smaller, small_size = units[index + 1]
                if rest := (total % size) // small_size:
                    text += f" {rest}{smaller}"
            return text
    return "0s"


def _number(value: float) -> str:
    if value >= 10:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.2g}"


def _percent(ratio: float) -> str:
    percent = ratio * 100
    return f"{percent:.0f}%" if percent >= 10 or percent == round(percent) else f"{percent:.1f}%"


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@analytics_app.command("list")
@friendly
def analytics_list(
    days: DaysFlag = None,
    since: SinceFlag = None,
    until: UntilFlag = None,
    event: Annotated[str | None, typer.Option(help="only events of this name")] = None,
    tag: Annotated[str | None, typer.Option(help="only events with this tag")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="at most this many (the newest)")] = 1000,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Your team's events in a window, oldest first."""
    start, end = window(days, since, until)
    with api(url) as client:
        found = client.get("/analytics/events", start=start, end=end, event=event, tag=tag, limit=limit)
    events = found["events"]
    if as_json:
        render.print_json(events)
        return
    if not events:
        render.console.print(f"no events between {start} and {end}", markup=False)
        return
    table = Table(header_style="bold")
    for column in ("time", "event", "tags"):
        table.add_column(column, no_wrap=True)
    table.add_column("data", overflow="fold")
    for item in events:
        data = " ".join(f"{k}={_show(v)}" for k, v in item.items() if k not in ("tags", "event", "timestamp"))
        cells = (item["timestamp"].replace("T", " ")[:19], item["event"] or "-", ", ".join(item["tags"]), data)
        table.add_row(*(Text(cell) for cell in cells))  # as typed: never rich markup
    render.show(table)
    if found["truncated"]:
        render.err_console.print(f"only the newest {limit}: narrow the window or raise --limit")


@analytics_app.command("track")
@friendly
def analytics_track(
    event: Annotated[str, typer.Argument(help='the event\'s name, e.g. deployment (or "" as CTO.ai templates do)')],
    tags: Annotated[list[str] | None, typer.Option("--tag", help="a tag; repeat for more")] = None,
    data: Annotated[str | None, typer.Option(help="metadata, a JSON object (flattened into the event)")] = None,
    url: UrlFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Store one event for your team, as sdk.track(tags, event, metadata) does."""
    with api(url) as client:
        stored = client.post("/analytics/events", {"tags": tags or [], "event": event, "metadata": parse_data(data)})
    render.done(stored, f"tracked {event or '(unnamed event)'} at {stored['event']['timestamp']}", as_json=as_json)
