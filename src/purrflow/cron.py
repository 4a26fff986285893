"""Schedules as a manifest writes them: 5-field cron, `@every <duration>` and the usual macros; and
durations (a trigger's `timeout`).

Parsed in one place for both the manifest (which refuses a schedule at deploy time, naming the field
that is wrong) and the scheduler (which asks for the next tick). Time is a parameter (`moment` in, the
next tick out), so the rules are tested without waiting for real minutes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter  # type: ignore[import-untyped]

from purrflow.errors import InvalidInputError

MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
EXAMPLES = '`schedule: "*/5 * * * *"` (or "@every 15m", "@daily")'
# Go's duration syntax, as AutoKitteh's @every reads it.
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}
_CRON_LAYOUT = "minute hour day-of-month month day-of-week"
_CRON_HINT = f"cron fields are {_CRON_LAYOUT}; each is *, n, a-b, a,b or */step"
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_WEEKDAYS = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
# (name, lowest, highest, names allowed in place of numbers)
_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _WEEKDAYS),  # 0 and 7 are both Sunday
)
_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # longest case (leap February)


@dataclass(frozen=True)
class Schedule:
    text: str
    zone: ZoneInfo
    cron: str | None = None
    every: float | None = None

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> Schedule:
        """Parse `text`, or raise InvalidInputError saying which part is wrong and how to write it."""
        spec = text.strip()
        if not spec:
            raise InvalidInputError("the schedule is empty", hint=f"add {EXAMPLES}")
        if spec.startswith("@every"):
            return cls(spec, zone, every=parse_every(spec.removeprefix("@every"), spec))
        if spec.startswith("@"):
            if spec not in MACROS:
                raise InvalidInputError(
                    f"unknown schedule {spec!r}", hint=f"use @every <duration> or one of {', '.join(MACROS)}"
                )
            return cls(spec, zone, cron=MACROS[spec])
        _check_cron(spec)
        return cls(spec, zone, cron=spec)

    def next_after(self, moment: float, *, anchor: float | None = None) -> float:
        """The first tick strictly after `moment` (epoch seconds). `@every` counts from `anchor`."""
        if self.every is not None:
            start = anchor if anchor is not None else moment
            if moment < start:
                return start + self.every
            return start + (int((moment - start) // self.every) + 1) * self.every
        assert self.cron is not None  # parse() sets one of the two
        local = datetime.fromtimestamp(moment, self.zone)
        return float(croniter(self.cron, local).get_next(float))

    def missed(self, last: float, now: float, *, anchor: float | None = None) -> bool:
        """Did a tick fall in (last, now]?"""
        return self.next_after(last, anchor=anchor) <= now


def parse_every(duration: str, text: str | None = None) -> float:
    """`15m`, `1h30m`, `10s`, `500ms` → seconds. `text` is the whole schedule, for the error."""
    compact = duration.replace(" ", "")
    whole = text if text is not None else f"@every {duration.strip()}"
    parts = _DURATION_PART.findall(compact)
    if not parts or "".join(number + unit for number, unit in parts) != compact:
        raise InvalidInputError(
            f"{whole!r}: {duration.strip()!r} is not a duration", hint="e.g. @every 15m, @every 1h30m, @every 10s"
        )
    seconds = sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise InvalidInputError(f"{whole!r}: the interval must be longer than zero")
    return seconds


def parse_duration(text: str, what: str) -> float:
    """A number of seconds (`90`, `1.5`) or a Go duration (`2s`, `5m`, `1h30m`, and days: `30d`), longer than zero."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        compact = value.replace(" ", "")
        parts = _DURATION_PART.findall(compact)
        if not parts or "".join(number + unit for number, unit in parts) != compact:
            raise InvalidInputError(
                f"{what} {text!r} is not a duration", hint="e.g. 30s, 5m, 1h30m, or a number of seconds"
            ) from None
        seconds = sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)
    if not seconds > 0 or seconds == float("inf"):
        raise InvalidInputError(f"{what} {text!r} must be longer than zero", hint="e.g. 30s, 5m or 1h")
    return seconds


def _check_cron(text: str) -> None:
    fields = text.split()
    if len(fields) != 5:
        hint = "drop the seconds field" if len(fields) == 6 else "e.g. */5 * * * * (every five minutes)"
        raise InvalidInputError(f"{text!r} has {len(fields)} fields; cron here has 5 ({_CRON_LAYOUT})", hint=hint)
    values = [_cron_values(text, field, spec) for field, spec in zip(fields, _CRON_FIELDS, strict=True)]
    days, months = values[2], values[3]
    if fields[4] == "*" and min(days) > max(_MONTH_DAYS[m] for m in months):
        raise InvalidInputError(f"{text!r} never fires: no month it names has day {min(days)}")


def _cron_values(text: str, field: str, spec: tuple[str, int, int, dict[str, int]]) -> set[int]:
    """The values one cron field selects: lists of `*`, `n`, `a-b`, each optionally `/step`."""
    name, low, high, names = spec
    found: set[int] = set()
    for part in field.split(","):
        body, slash, step_text = part.partition("/")
        step = _cron_number(text, f"{name} step", step_text, 1, high, {}) if slash else 1
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = (
                _cron_number(text, name, first, low, high, names),
                _cron_number(text, name, last, low, high, names),
            )
            if start > end:
                raise InvalidInputError(f"{text!r}: the {name} range {body!r} runs backwards", hint="write it low-high")
        else:
            start = _cron_number(text, name, body, low, high, names)
            end = high if slash else start
        found.update(range(start, end + 1, step))
    return found


def _cron_number(text: str, name: str, value: str, low: int, high: int, names: dict[str, int]) -> int:
    number = names.get(value.upper()) if names else None
    if number is not None:
        return number
    if not (value.isascii() and value.isdigit()):
        allowed = f"{low}-{high}" + (f" or a name like {next(iter(names))}" if names else "")
        raise InvalidInputError(f"{text!r}: {value!r} is not a valid {name} (use {allowed})", hint=_CRON_HINT)
    if not low <= int(value) <= high:
        raise InvalidInputError(f"{text!r}: {name} {value} is out of range ({low}-{high})", hint=_CRON_HINT)
    return int(value)
