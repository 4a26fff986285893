"""The rules of analytics events: what track() accepts, and how window bounds are read."""

from __future__ import annotations

from typing import Any

import pytest

from purrflow.errors import InvalidInputError
from purrflow.rules.analytics import check_track, flatten, parse_instant, parse_window


def test_track_flattens_metadata_beside_tags_and_event() -> None:
    body = check_track(("ci",), "deployment", {"event_name": "deployment", "repo": "shop"})
    assert body == {"tags": ["ci"], "event": "deployment", "event_name": "deployment", "repo": "shop"}
    assert check_track([], "", None) == {"tags": [], "event": ""}  # CTO.ai's template sends an empty event
    assert flatten(["a"], "e", {"k": 1}) == {"tags": ["a"], "event": "e", "k": 1}


@pytest.mark.parametrize(
    ("tags", "event", "metadata", "message"),
    [
        ("deploy", "e", {}, "tags must be a list of strings, not str 'deploy'"),
        (["ok", 3], "e", {}, "tags must be a list of strings"),
        ([], 7, {}, "event must be a string, not int 7"),
        ([], "e" * 201, {}, "at most 200 are kept"),
        ([], "e", [1, 2], "metadata must be a JSON object with string keys, not list [1, 2]"),
        ([], "e", "text", "metadata must be a JSON object"),
        ([], "e", {1: "x"}, "metadata must be a JSON object with string keys"),
        ([], "e", {"tags": [], "event": "x"}, "may not use the key(s) 'event', 'tags'"),
        ([], "e", {"timestamp": "now"}, "may not use the key(s) 'timestamp'"),
        ([], "e", {"when": object()}, "metadata must be plain JSON data"),
        ([], "e", {"ratio": float("nan")}, "metadata must be plain JSON data"),
        ([], "e", {"blob": "x" * 65_536}, "at most 64 KiB are kept"),
    ],
)
def test_track_refuses_what_it_cannot_keep(tags: Any, event: Any, metadata: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match="track\\(\\)") as caught:
        check_track(tags, event, metadata)
    assert message in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", 1793491200.0),
        ("2026-11-01T10:00:00", 1793491200.0 + 36_000),
        ("2026-11-01T10:00:00Z", 1793491200.0 + 36_000),
        ("2026-11-01T10:00:00z", 1793491200.0 + 36_000),
        ("2026-11-01T12:00:00+02:00", 1793491200.0 + 36_000),
        (" 2026-11-01T10:00:00.500Z ", 1793491200.0 + 36_000.5),
    ],
)
def test_window_bounds_are_iso_8601_and_naive_means_utc(text: str, expected: float) -> None:
    assert parse_instant(text, "start") == expected


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "", "   ", None, 1793491200])
def test_a_bad_bound_is_named_in_the_error(bad: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_instant(bad, "start")
    assert caught.value.message == f"start {bad!r} is not an ISO-8601 date or time"
    assert caught.value.hint and "2026-11-01" in caught.value.hint


def test_windows_default_their_ends_and_refuse_to_be_empty() -> None:
    assert parse_window("1970-01-02", None, now=100_000.0) == (86_400.0, 100_000.0)
    assert parse_window(None, "1970-01-02", now=0.0, default_span=3600.0) == (82_800.0, 86_400.0)
    with pytest.raises(InvalidInputError, match="the window is empty: start 1970-01-02T00:00:00Z is not before"):
        parse_window("1970-01-02", "1970-01-01", now=0.0)
    with pytest.raises(InvalidInputError, match="start None is not an ISO-8601"):
        parse_window(None, None, now=0.0)  # a session must say where its window starts
