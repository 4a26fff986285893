"""The Insights page: the four DORA metrics of the team's deployments over a window (optionally one
repo's), and each metric over time — one bar per day (per week for windows over a month) — as
server-drawn SVG charts with the same numbers in a table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from purrflow.errors import InvalidInputError, PurrflowError
from purrflow.rules.analytics import iso
from purrflow.server.deps import Analytics
from purrflow.server.ui.auth import UiUser
from purrflow.server.ui.charts import Point, bar_chart
from purrflow.server.ui.render import UiRoute, page
from purrflow.services.insights import DAY

router = APIRouter(route_class=UiRoute)

WINDOWS = (7, 30, 90, 365)
#: Windows up to a month are charted by day, longer ones by week: at most 53 bars.
DAILY_UP_TO = 31


@dataclass(frozen=True, slots=True)
class MetricView:
    key: str
    title: str
    show: Callable[[float], str]


def _per_day(value: float) -> str:
    return f"{value:.2f}/day"


def _ratio(value: float) -> str:
    return f"{value * 100:.0f}%"


def _span(seconds: float) -> str:
    for size, unit in ((DAY, "d"), (3600.0, "h"), (60.0, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


METRICS = (
    MetricView("deployment_frequency", "Deployment frequency", _per_day),
    MetricView("lead_time", "Lead time for changes", _span),
    MetricView("change_failure_rate", "Change failure rate", _ratio),
    MetricView("time_to_restore", "Time to restore service", _span),
)


@router.get("/insights", response_class=HTMLResponse)
async def insights_page(
    request: Request, user: UiUser, analytics: Analytics, repo: str = "", days: int = 30, end: str = ""
) -> HTMLResponse:
    """The metrics over the `days` before `end` (a date; today when empty); a bad window says so."""
    form = {"repo": repo, "days": days, "end": end}
    try:
        if days not in WINDOWS:
            raise InvalidInputError(f"a window of {days} days is not offered", hint="choose 7, 30, 90 or 365 days")
        high = _end_of(end)
        low = high - days * DAY
        overall = analytics.insights(user.team_id, iso(low), iso(high), repo=repo.strip() or None, by_repo=True)
    except PurrflowError as err:
        return page(request, user, "insights.html", status_code=400, form=form, windows=WINDOWS, error=err.message,
                    hint=err.hint, overall=None)  # fmt: skip
    step = DAY if days <= DAILY_UP_TO else 7 * DAY
    per = "day" if step == DAY else "week"
    periods = []
    start = low
    while start < high:
        stop = min(start + step, high)
        found = analytics.insights(user.team_id, iso(start), iso(stop), repo=repo.strip() or None, by_repo=False)
        periods.append((_day(start)[5:], found))
        start = stop
    return page(
        request,
        user,
        "insights.html",
        form=form,
        windows=WINDOWS,
        overall=overall,
        repos=sorted(overall.get("by_repo") or {}),
        metrics=[_metric_view(view, overall, periods, per) for view in METRICS],
        period_name=per,
        first_day=_day(low),
        last_day=_day(high - DAY),
    )


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _end_of(end: str) -> float:
    """The window's end: the end of the day given (so that day counts), or of today — whole UTC days, so
    each bar is one calendar day (or week)."""
    try:
        day = datetime.fromisoformat(end.strip()[:10]) if end.strip() else datetime.now(UTC)
    except ValueError:
        raise InvalidInputError(f"{end!r} is not a date", hint="e.g. 2026-11-30") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + DAY


def _metric_view(
    view: MetricView, overall: dict[str, Any], periods: list[tuple[str, dict[str, Any]]], per: str
) -> dict[str, Any]:
    whole = overall[view.key]
    points = [Point(label, found[view.key]["value"]) for label, found in periods]
    rows = [
        (label, view.show(found[view.key]["value"]) if found[view.key]["value"] is not None else "—",
         found[view.key]["reason"] or "")
        for label, found in periods
    ]  # fmt: skip
    chart: Markup = bar_chart(f"chart-{view.key}", f"{view.title}, {per} by {per}", points, view.show)
    return {
        "key": view.key,
        "title": view.title,
        "value": view.show(whole["value"]) if whole["value"] is not None else None,
        "reason": whole["reason"],
        "chart": chart,
        "rows": rows,
    }
