"""Charts drawn on the server as inline SVG: no script, no library, readable by screen readers (a
`<title>` and `<desc>` that say what the chart shows; the page puts the same numbers in a table)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 200
_LEFT = 56  # room for the axis' labels
_BOTTOM = 24
_TOP = 12


@dataclass(frozen=True, slots=True)
class Point:
    """One bar: its label (a period) and its value, None when it cannot be known for that period."""

    label: str
    value: float | None


def bar_chart(chart_id: str, title: str, points: Sequence[Point], show: Callable[[float], str]) -> Markup:
    """Bars of `points` over a zero-based axis; `show` writes a value as people read it (units included).

    A period whose value is unknown has no bar and is named in the description: a missing number is
    never drawn as zero."""
    known = [p.value for p in points if p.value is not None]
    top = max(known, default=0.0) or 1.0
    plot_w, plot_h = WIDTH - _LEFT - 8, HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(len(points), 1)
    bars: list[str] = []
    for n, point in enumerate(points):
        x = _LEFT + n * slot
        if point.value is not None:
            h = plot_h * point.value / top
            bars.append(
                f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{_TOP + plot_h - h:.1f}" width="{slot * 0.7:.1f}"'
                f' height="{h:.1f}"><title>{escape(point.label)}: {escape(show(point.value))}</title></rect>'
            )
        if n in (0, len(points) - 1) or len(points) <= 8:
            bars.append(
                f'<text class="tick" x="{x + slot / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
                f"{escape(point.label)}</text>"
            )
    unknown = [p.label for p in points if p.value is None]
    desc = (
        f"{len(points)} periods from {points[0].label} to {points[-1].label}; highest {show(top) if known else 'none'}."
        if points
        else "No periods."
    )
    if unknown:
        desc += f" Not known for {len(unknown)} of them (no bar): {', '.join(unknown)}."
    top_label = escape(show(top)) if known else ""
    return Markup(
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{WIDTH - 8}" y2="{_TOP + plot_h}"/>'
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + plot_h}"/>'
        f'<text class="tick" x="{_LEFT - 6}" y="{_TOP + 10}" text-anchor="end">{top_label}</text>'
        f'<text class="tick" x="{_LEFT - 6}" y="{_TOP + plot_h}" text-anchor="end">0</text>'
        f"{''.join(bars)}</svg>"
    )
