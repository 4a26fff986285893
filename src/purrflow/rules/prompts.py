"""The ten prompt types: their options, and how an answer is checked against them.

An answer arrives as JSON (the API) or as text (the CLI, a terminal); `check_answer` turns either into
the value the session receives — or says precisely why it cannot.
"""

from __future__ import annotations

import json
from datetime import datetime
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
        if default is not None and kind not in ("checkbox",):
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
    default = spec["default"]
    if spec["type"] in ("list", "autocomplete") and isinstance(default, int) and not isinstance(default, bool):
        return spec["choices"][default]
    return default


def _number(where: str, raw: Any, minimum: Any, maximum: Any) -> int:
    try:
        value = int(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        value = None
    if value is None or (isinstance(raw, float) and not raw.is_integer()):
        raise InvalidInputError(f"{where}: {raw!r} is not a whole number")
    if minimum is not None and value < minimum:
        raise InvalidInputError(f"{where}: {value} is below the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise InvalidInputError(f"{where}: {value} is above the maximum of {maximum}")
    return value


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
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < len(choices):
        return choices[raw]
    if raw in choices:
        return str(raw)
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


def _datetime(where: str, raw: Any, spec: dict[str, Any]) -> str:
    variant = spec.get("variant") or "datetime"
    text = str(raw).strip()
    try:
        if variant == "date":
            parsed = datetime.fromisoformat(text[:10]) if len(text) >= 10 else datetime.fromisoformat(text)
        elif variant == "time":
            parsed = datetime.fromisoformat(f"1970-01-01T{text}" if "T" not in text else text)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"{where}: {raw!r} is not an RFC 3339 {variant}", hint="e.g. 2026-11-25T10:00:00Z"
        ) from None
    for bound, sign, word in (("minimum", -1, "before"), ("maximum", 1, "after")):
        limit = spec.get(bound)
        if limit:
            limit_at = datetime.fromisoformat(str(limit).replace("Z", "+00:00"))
            if (parsed.tzinfo is None) != (limit_at.tzinfo is None):  # compare wall clocks when one has no zone
                limit_at, checked = limit_at.replace(tzinfo=None), parsed.replace(tzinfo=None)
            else:
                checked = parsed
            if (checked > limit_at) if sign > 0 else (checked < limit_at):
                raise InvalidInputError(f"{where}: {text} is {word} the {bound} {limit}")
    return parsed.isoformat().replace("+00:00", "Z")
