"""Schedules with time as a parameter: cron, @every, macros, DST, stalls."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from purrflow.cron import Schedule, parse_every
from purrflow.errors import InvalidInputError

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")


def ts(text: str, zone: ZoneInfo = UTC) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def local(moment: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(moment, zone).isoformat()


def test_every_durations() -> None:
    assert parse_every(" 15m") == 900 and parse_every("1h30m") == 5400 and parse_every("500ms") == 0.5
    for bad in ("", "15", "1x", "0s", "m15"):
        with pytest.raises(InvalidInputError):
            parse_every(bad)


def test_every_counts_from_its_anchor_and_skips_missed_ticks() -> None:
    schedule = Schedule.parse("@every 10s", UTC)
    assert schedule.next_after(100.0, anchor=100.0) == 110.0
    assert schedule.next_after(135.0, anchor=100.0) == 140.0  # 110, 120, 130 were missed: not replayed
    assert schedule.missed(100.0, 135.0, anchor=100.0) and not schedule.missed(100.0, 105.0, anchor=100.0)


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        ("*/5 * * * *", "2026-11-25T10:02:00", "2026-11-25T10:05:00+00:00"),
        ("@daily", "2026-11-25T10:02:00", "2026-11-26T00:00:00+00:00"),
        ("@hourly", "2026-11-25T10:02:00", "2026-11-25T11:00:00+00:00"),
        ("0 6 * * 0", "2026-11-25T10:02:00", "2026-11-29T06:00:00+00:00"),
        ("0 0 * * 1", "2026-11-25T10:02:00", "2026-11-30T00:00:00+00:00"),
    ],
)
def test_cron_lines_seen_in_real_projects(text: str, after: str, expected: str) -> None:
    assert local(Schedule.parse(text, UTC).next_after(ts(after)), UTC) == expected


def test_daylight_saving_time_in_the_schedules_zone() -> None:
    daily = Schedule.parse("30 2 * * *", BERLIN)
    # 2026-03-29: clocks jump from 02:00 to 03:00 in Berlin; the 02:30 job runs at 03:00, once
    first = daily.next_after(ts("2026-03-28T12:00:00", BERLIN))
    assert local(first, BERLIN) == "2026-03-29T03:00:00+02:00"
    assert local(daily.next_after(first), BERLIN) == "2026-03-30T02:30:00+02:00"
    # 2026-10-25: 02:00–03:00 happens twice; an hourly job runs in both hours, as the clock shows them
    hourly = Schedule.parse("0 * * * *", BERLIN)
    ticks = [hourly.next_after(ts("2026-10-25T00:30:00", BERLIN))]
    for _ in range(3):
        ticks.append(hourly.next_after(ticks[-1]))
    assert [local(t, BERLIN) for t in ticks] == [
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]
    assert [b - a for a, b in itertools.pairwise(ticks)] == [3600.0, 3600.0, 3600.0]


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="has 6 fields; cron here has 5"):
        Schedule.parse("0 0 * * * *", UTC)
    with pytest.raises(InvalidInputError, match="minute 61 is out of range"):
        Schedule.parse("61 * * * *", UTC)
