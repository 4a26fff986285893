"""The project value store's rules: limits, atomic updates, and reading values without trusting them.

Written once over a `ValueTable` (one project's values), so that the server's store and the SDK's
in-memory stand-in enforce the same limits with the same messages.

Values arrive pickled by the session's runner. The host never unpickles them in general — that would
run a user's code in the server — except with `plain_value`, which refuses anything but plain data
(numbers, strings, bytes, lists, tuples, dicts, sets, None), for `add_values` and for showing values.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from typing import Any, Protocol

from purrflow.errors import InvalidInputError, NotFoundError, ValueLimitError

MAX_VALUES = 64
MAX_VALUE_BYTES = 64 * 1024
MAX_KEY_LENGTH = 256


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def plain_value(blob: bytes) -> Any:
    """Unpickle plain data only; raise ValueError for anything that would import or call code."""
    try:
        return _PlainUnpickler(io.BytesIO(blob)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ValueError(str(err)) from None


def describe(blob: bytes) -> Any:
    """A JSON-friendly view of a stored value for people (the API and CLI)."""
    try:
        value = plain_value(blob)
    except ValueError:
        return {"pickled": True, "bytes": len(blob)}
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


class ValueTable(Protocol):
    """One project's values, as the rules need them."""

    def get(self, key: str) -> bytes | None: ...
    def keys(self) -> list[str]: ...
    def put(self, key: str, blob: bytes) -> None: ...
    def delete(self, key: str) -> bool: ...


@dataclass(frozen=True)
class ValueLimits:
    """How many values a project may keep, and how large each may be (pickled)."""

    max_values: int = MAX_VALUES
    max_value_bytes: int = MAX_VALUE_BYTES


def check_key(key: str) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"value key must be a non-empty string of at most {MAX_KEY_LENGTH} characters, not {key!r}"
        )


def check_size(key: str, blob: bytes, limit: int) -> None:
    if len(blob) > limit:
        raise ValueLimitError(
            f"value for key {key!r} is {len(blob)} bytes; the limit is {limit}",
            hint="store a reference (an id, a URL) instead of the data itself",
        )


def set_value(table: ValueTable, limits: ValueLimits, project: str, key: str, blob: bytes) -> None:
    """Store `blob` under `key`, within the limits (`project` names the project in errors)."""
    check_key(key)
    check_size(key, blob, limits.max_value_bytes)
    if table.get(key) is None:
        count = len(table.keys())
        if count >= limits.max_values:
            raise ValueLimitError(
                f"project {project!r} already has {count} values; the limit is {limits.max_values}",
                hint="delete values you no longer need with del_value() or `purr values del`",
            )
    table.put(key, blob)


def delete_value(table: ValueTable, project: str, key: str) -> None:
    check_key(key)
    if not table.delete(key):
        raise NotFoundError(f"project {project!r} has no value named {key!r}")


def check_and_set(
    table: ValueTable, limits: ValueLimits, project: str, key: str, expected: bytes | None, new: bytes
) -> bool:
    """Set `key` to `new` only if it now holds `expected` (compared in pickled form; None = absent)."""
    check_key(key)
    if table.get(key) != expected:
        return False
    set_value(table, limits, project, key, new)
    return True


def add(table: ValueTable, limits: ValueLimits, project: str, key: str, amount: bytes) -> bytes:
    """Add a number to the number under `key` (absent counts as 0) and return the new value, pickled."""
    check_key(key)
    try:
        delta = plain_value(amount)
    except ValueError:
        delta = None
    delta = _number(delta, "the amount")
    current = table.get(key)
    base: Any = 0
    if current is not None:
        try:
            base = plain_value(current)
        except ValueError:
            base = None
        if base is None or isinstance(base, bool) or not isinstance(base, int | float):
            raise InvalidInputError(f"add_values(): the value under {key!r} is not a number")
    result = pickle.dumps(base + delta)
    set_value(table, limits, project, key, result)
    return result


def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"add_values(): {what} must be a number, not {type(value).__name__}")
    return value
