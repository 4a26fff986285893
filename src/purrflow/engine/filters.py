"""CEL filters behind a small adapter (`cel-expr-python`): compile once, evaluate in microseconds.

Variables: `event_type` (string), `data` (the event's data), `event_id` (string). A filter that reads a
missing key does not match (and says why); a broken filter is refused when it is compiled.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel  # type: ignore[import-untyped]

from purrflow.errors import InvalidInputError


class FilterError(InvalidInputError):
    """A CEL expression that does not compile; the message shows where."""


@dataclass(frozen=True, slots=True)
class FilterResult:
    matched: bool
    error: str | None = None


@functools.cache
def _env() -> Any:
    return cel.NewEnv(variables={"data": cel.Type.DYN, "event_type": cel.Type.STRING, "event_id": cel.Type.STRING})


def _jsonish(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonish(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonish(v) for v in value]
    return value


class Filter:
    def __init__(self, source: str, program: Any) -> None:
        self.source = source
        self._program = program

    @classmethod
    def compile(cls, expression: str, *, where: str = "filter") -> Filter:
        return _compile(expression.strip(), where)

    def evaluate(self, *, event_type: str, data: Mapping[str, Any], event_id: str | None = None) -> FilterResult:
        if self._program is None:
            return FilterResult(True)
        try:
            value = self._program.eval(
                data={"data": _jsonish(data), "event_type": event_type, "event_id": event_id or ""}
            ).plain_value()
        except Exception as err:  # a runtime error in a filter means "no match", never a crash
            return FilterResult(False, str(err))
        if isinstance(value, bool):
            return FilterResult(value)
        return FilterResult(False, f"filter {self.source!r} gave {value!r}, not true or false")


@functools.lru_cache(maxsize=4096)
def _compile(expression: str, where: str) -> Filter:
    if not expression:
        return Filter("", None)
    try:
        program = _env().compile(expression)
    except RuntimeError as err:
        detail = str(err).replace("INVALID_ARGUMENT: ", "").replace(" [INVALID_ARGUMENT]", "").strip()
        raise FilterError(f"{where}: invalid CEL filter {expression!r}: {detail}") from None
    return Filter(expression, program)
