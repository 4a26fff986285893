"""The project value store's rules: limits, atomic updates, and reading values without trusting them.

Values arrive pickled by the session's runner. The host never unpickles them in general — that would
run a user's code in the server — except with `plain_value`, which refuses anything but plain data
(numbers, strings, bytes, lists, tuples, dicts, sets, None), for `add_values` and for showing values.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from purrflow.errors import InvalidInputError, NotFoundError, ValueLimitError
from purrflow.store import Store


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


class ProjectValues:
    """Values of one store, with the configured limits."""

    def __init__(self, store: Store, *, max_values: int, max_value_bytes: int) -> None:
        self._store = store
        self.max_values = max_values
        self.max_value_bytes = max_value_bytes

    def get(self, project_id: str, key: str) -> bytes | None:
        return self._store.get_value(project_id, key)

    def keys(self, project_id: str) -> list[str]:
        return self._store.list_value_keys(project_id)

    def set(self, project_id: str, project_name: str, key: str, value: bytes) -> None:
        check_key(key)
        if len(value) > self.max_value_bytes:
            raise ValueLimitError(
                f"value for key {key!r} is {len(value)} bytes; the limit is {self.max_value_bytes}",
                hint="store a reference (an id, a URL) instead of the data itself",
            )
        if self._store.get_value(project_id, key) is None:
            count = len(self._store.list_value_keys(project_id))
            if count >= self.max_values:
                raise ValueLimitError(
                    f"project {project_name!r} already has {count} values; the limit is {self.max_values}",
                    hint="delete values you no longer need with del_value() or `purr values del`",
                )
        self._store.set_value(project_id, key, value)

    def delete(self, project_id: str, project_name: str, key: str) -> None:
        if not self._store.delete_value(project_id, key):
            raise NotFoundError(f"project {project_name!r} has no value named {key!r}")

    def check_and_set(self, project_id: str, project_name: str, key: str, expected: bytes | None, new: bytes) -> bool:
        """Set `key` to `new` only if it now holds `expected` (compared in pickled form; None = absent)."""
        if self._store.get_value(project_id, key) != expected:
            return False
        self.set(project_id, project_name, key, new)
        return True

    def add(self, project_id: str, project_name: str, key: str, amount: bytes) -> bytes:
        """Add a number to the number under `key` (absent counts as 0) and return the new value, pickled."""
        delta = _number(plain_value(amount), "the amount")
        current = self._store.get_value(project_id, key)
        base: Any = 0
        if current is not None:
            try:
                base = plain_value(current)
            except ValueError:
                base = None
            if base is None or isinstance(base, bool) or not isinstance(base, int | float):
                raise InvalidInputError(f"add_values(): the value under {key!r} is not a number")
        result = pickle.dumps(base + delta)
        self.set(project_id, project_name, key, result)
        return result


def check_key(key: str) -> None:
    if not isinstance(key, str) or not key or len(key) > 256:
        raise InvalidInputError(f"value key must be a non-empty string of at most 256 characters, not {key!r}")


def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"add_values(): {what} must be a number, not {type(value).__name__}")
    return value
