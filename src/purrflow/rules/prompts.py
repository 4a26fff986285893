"""The ten prompt types: their options, and how an answer is checked against them.

An answer arrives as JSON (the API) or as text (the CLI, a terminal); `check_answer` turns either into
the value the session receives — or says precisely why it cannot.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any

from purrflow.errors import InvalidInputError

PROMPT_TYPES = (
    "input", "number", "secret", "password", "confirm", "list", "autocomplete", "checkbox", "editor", "datetime",
)  # fmt: skip
SECRET_TYPES = frozenset({"secret", "password"})
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def check_spec(spec: dict[str, Any]) -> None:
    """Refuse a malformed question in the session, before anyone is asked it."""
    kind = spec.get("type")
    if kind not in PROMPT_TYPES:
        raise InvalidInputError(f"prompt type {kind!r} is unknown", hint=f"use one of {', '.join(PROMPT_TYPES)}")
    if not spec.get("name") or not isinstance(spec.get("name"), str):
        raise InvalidInputError(f"a {kind} prompt needs a name")
    if kind in ("list", "autocomplete", "checkbox"):
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices):
            raise InvalidInputError(
                f"prompt {spec['name']!r}: a {kind} prompt needs a non-empty list of string choices"
            )


def check_answer(spec: dict[str, Any], raw: Any) -> Any:
    kind, name = spec["type"], spec["name"]
    where = f"prompt {name!r} ({kind})"
    default = spec.get("default")
    if raw is None or raw == "":
        if default is not None:
            return _default(spec)
        if kind == "input" and spec.get("allowEmpty"):
            return ""
        if kind == "confirm":
            return False
        raise InvalidInputError(f"{where}: an answer is required")
    if kind in ("input", "secret", "password", "editor"):
        return str(raw)
    if kind == "number":
        return _number(where, raw, spec.get("minimum"), spec.get("maximum"))
    if kind == "confirm":
        return _boolean(where, raw)
    if kind in ("list", "autocomplete"):
        return _choice(where, raw, spec["choices"])
    if kind == "checkbox":
        return _choices(where, raw, spec["choices"])
    return _datetime(where, raw, spec)


def _default(spec: dict[str, Any]) -> Any:
    """An empty answer takes the default; a list's or checkbox's default may name choices or their indexes."""
    default = spec["default"]
    where = f"prompt {spec['name']!r} ({spec['type']})"
    if spec["type"] in ("list", "autocomplete"):
        return _choice(where, default, spec["choices"])
    if spec["type"] == "checkbox":
        return _choices(where, default, spec["choices"])
    if spec["type"] == "datetime":
        return _datetime(where, default, spec)
    return default


def _number(where: str, raw: Any, minimum: Any, maximum: Any) -> int:
    try:
        value = int(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        value = _whole_text(raw)
    if value is None or (isinstance(raw, float) and not raw.is_integer()):
        raise InvalidInputError(f"{where}: {raw!r} is not a whole number")
    if minimum is not None and value < minimum:
        raise InvalidInputError(f"{where}: {value} is below the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise InvalidInputError(f"{where}: {value} is above the maximum of {maximum}")
    return value


def _whole_text(raw: Any) -> int | None:
    """Typed text such as `5.0` or `1e3` that names a whole number (the CLI sends answers as typed)."""
    try:
        number = float(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return int(number) if number is not None and number.is_integer() else None


def _boolean(where: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInputError(f"{where}: {raw!r} is not yes or no", hint="answer true/false or yes/no")


def _choice(where: str, raw: Any, choices: list[str]) -> str:
    """A choice, by its text first and only then by its index: with choices ["3", "2", "1"] the answer 1
    (or "1") is the choice "1", not the second one. A terminal's or the CLI's typed digits may arrive as
    a number, so a number is read as the choice it spells before it is read as an index."""
    if isinstance(raw, str) and raw in choices:
        return raw
    is_number = isinstance(raw, int) and not isinstance(raw, bool)
    if is_number and str(raw) in choices:
        return str(raw)
    index = raw if is_number else int(raw.strip()) if isinstance(raw, str) and raw.strip().isdigit() else None
    if index is not None and 0 <= index < len(choices):
        return choices[index]
    raise InvalidInputError(f"{where}: {raw!r} is not one of the choices", hint=f"choose from: {', '.join(choices)}")


def _choices(where: str, raw: Any, choices: list[str]) -> list[str]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list):
        raise InvalidInputError(f'{where}: give a list of choices, e.g. ["a", "b"] or a,b')
    return [_choice(where, item, choices) for item in raw]


def _time_of_day(text: str) -> datetime:
    """A time variant's answer: a full date-time as it is, a bare time (`10:30`, `10:30:00+02:00`) today."""
    if "T" in text:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    moment = time.fromisoformat(text.replace("Z", "+00:00"))
    return datetime.combine(datetime.now(moment.tzinfo or UTC).date(), moment)


def _moment(variant: str, text: str) -> datetime:
    """`text` read as the variant says, with a zone (UTC when it gives none); ValueError if it can't be."""
    if variant == "date":
        parsed = datetime.fromisoformat(text[:10])
    elif variant == "time":
        parsed = _time_of_day(text)
    else:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _datetime(where: str, raw: Any, spec: dict[str, Any]) -> str:
    """An RFC 3339 date-time with a zone for every variant (CTO.ai's Go client parses it with
    time.RFC3339): a date is that day's midnight, a time is today's; no zone given means UTC."""
    variant = spec.get("variant") or "datetime"
    text = str(raw).strip()
    try:
        parsed = _moment(variant, text)
    except ValueError:
        raise InvalidInputError(
            f"{where}: {raw!r} is not an RFC 3339 {variant}", hint="e.g. 2026-11-25T10:00:00Z"
        ) from None
    for bound, sign, word in (("minimum", -1, "before"), ("maximum", 1, "after")):
        limit = spec.get(bound)
        if limit:
            try:
                limit_at = _moment(variant, str(limit).strip())
            except ValueError:
                raise InvalidInputError(f"prompt's {bound} {limit!r} is not an RFC 3339 {variant}") from None
            if (parsed > limit_at) if sign > 0 else (parsed < limit_at):
                raise InvalidInputError(f"{where}: {text} is {word} the {bound} {limit}")
    return parsed.isoformat().replace("+00:00", "Z")
