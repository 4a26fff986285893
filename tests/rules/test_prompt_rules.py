"""How answers are read for each prompt type: choices before indexes, defaults, RFC 3339 with a zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest

from purrflow.errors import InvalidInputError
from purrflow.rules.prompts import check_answer

DIGITS = {"type": "list", "name": "channel", "choices": ["3", "2", "1"]}
LETTERS = {"type": "autocomplete", "name": "pick", "choices": ["a", "b", "c"]}


@pytest.mark.parametrize(
    ("spec", "raw", "expected"),
    [
        (DIGITS, 1, "1"),  # a number that is a choice is that choice
        (DIGITS, "1", "1"),
        (DIGITS, "3", "3"),
        ({**DIGITS, "choices": ["10", "20"]}, 1, "20"),  # no choice "1": the index
        (LETTERS, 1, "b"),
        (LETTERS, "2", "c"),  # typed digits are an index when no choice is spelled so
        (LETTERS, "a", "a"),
        ({**LETTERS, "default": 2}, "", "c"),
        ({**LETTERS, "default": "b"}, "", "b"),
    ],
)
def test_choices_match_as_choices_before_indexes(spec: dict[str, Any], raw: Any, expected: str) -> None:
    assert check_answer(spec, raw) == expected


def test_a_choice_out_of_range_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="not one of the choices"):
        check_answer(LETTERS, 7)


@pytest.mark.parametrize(
    ("default", "raw", "expected"),
    [
        (["b"], "", ["b"]),
        ([0, 2], None, ["a", "c"]),  # indexes, as CTO.ai's clients allow
        (["b"], "a,c", ["a", "c"]),
        (None, '["c"]', ["c"]),
    ],
)
def test_a_checkbox_takes_its_default_for_an_empty_answer(default: Any, raw: Any, expected: list[str]) -> None:
    spec = {"type": "checkbox", "name": "features", "choices": ["a", "b", "c"], "default": default}
    assert check_answer(spec, raw) == expected


def test_text_prompts_keep_the_text_as_typed() -> None:
    for raw in ("1.10", "true", '["a", "b"]', "007"):
        assert check_answer({"type": "input", "name": "note"}, raw) == raw


@pytest.mark.parametrize(("raw", "expected"), [("5", 5), ("5.0", 5), (" 7 ", 7), (3.0, 3)])
def test_numbers_typed_as_text(raw: Any, expected: int) -> None:
    assert check_answer({"type": "number", "name": "n"}, raw) == expected


def test_a_number_that_is_not_whole_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="not a whole number"):
        check_answer({"type": "number", "name": "n"}, "5.5")


def _today_in(zone: tzinfo) -> str:
    return datetime.now(zone).date().isoformat()


@pytest.mark.parametrize(
    ("variant", "raw", "expected"),
    [
        ("date", "2026-12-24", "2026-12-24T00:00:00Z"),
        ("date", "2026-12-24T18:00:00+02:00", "2026-12-24T00:00:00Z"),
        ("time", "10:30", "{today}T10:30:00Z"),  # today where the answer's zone is
        ("time", "10:30:00+02:00", "{today}T10:30:00+02:00"),
        ("datetime", "2026-12-24T18:00:00", "2026-12-24T18:00:00Z"),
        ("datetime", "2026-12-24T18:00:00+01:00", "2026-12-24T18:00:00+01:00"),
        (None, "2026-12-24T18:00:00Z", "2026-12-24T18:00:00Z"),
    ],
)
def test_every_datetime_variant_answers_rfc_3339_with_a_zone(variant: str | None, raw: str, expected: str) -> None:
    spec = {"type": "datetime", "name": "when", "variant": variant}
    zone = timezone(timedelta(hours=2)) if raw.endswith("+02:00") else UTC
    before = _today_in(zone)
    answer = check_answer(spec, raw)
    # Read the day on both sides of the answer, so a run across midnight still has one right day.
    assert answer in {expected.format(today=before), expected.format(today=_today_in(zone))}
    assert datetime.fromisoformat(answer.replace("Z", "+00:00")).tzinfo is not None


def test_datetime_bounds_apply_to_each_variant() -> None:
    with pytest.raises(InvalidInputError, match="before the minimum"):
        check_answer({"type": "datetime", "name": "at", "variant": "time", "minimum": "09:00"}, "08:59")
    assert check_answer({"type": "datetime", "name": "day", "variant": "date", "maximum": "2026-12-31"}, "2026-12-31")
    with pytest.raises(InvalidInputError, match="after the maximum"):
        check_answer({"type": "datetime", "name": "day", "variant": "date", "maximum": "2026-12-31"}, "2027-01-01")
    with pytest.raises(InvalidInputError, match="not an RFC 3339 date"):
        check_answer({"type": "datetime", "name": "day", "variant": "date", "default": "soon"}, "")
