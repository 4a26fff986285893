"""The project value store: pickled values shared by every session of a project.

Limits (64 keys, 64 KiB per pickled value by default, configurable on the server) are enforced by the
host; the SDK checks the size early so that the error points at the caller's line. Updates with
`check_and_set_value` and `add_values` are atomic across concurrent sessions.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from purrflow.errors import InvalidInputError, ValueLimitError
from purrflow.rules.values import MAX_VALUE_BYTES, check_key
from purrflow.sdk import _runtime
from purrflow.wire import AddValues, CheckAndSetValue, DelValue, GetValue, ListValueKeys, SetValue


def _pickle(key: str, value: Any) -> bytes:
    try:
        blob = pickle.dumps(value)
    except Exception as err:
        raise ValueLimitError(
            f"value for key {key!r} cannot be stored: {type(value).__name__} is not picklable ({err})",
            hint="store plain data (dicts, lists, strings, numbers) or a picklable object",
        ) from None
    if len(blob) > MAX_VALUE_BYTES:
        raise ValueLimitError(
            f"value for key {key!r} is {len(blob)} bytes pickled; the limit is {MAX_VALUE_BYTES}",
            hint="store a reference (an id, a URL) instead of the data itself",
        )
    return blob


def set_value(key: str, value: Any) -> None:
    """Store `value` (pickled) under `key` for the whole project."""
    check_key(key)
    _runtime.current().call_host(SetValue(key, _pickle(key, value)))


def get_value(key: str, default: Any = None) -> Any:
    """The value stored under `key`, or `default` when there is none."""
    check_key(key)
    blob = _runtime.current().call_host(GetValue(key))
    return default if blob is None else pickle.loads(blob)


def del_value(key: str) -> None:
    """Delete the value under `key` (an error if there is none)."""
    check_key(key)
    _runtime.current().call_host(DelValue(key))


def list_values_keys() -> list[str]:
    """The keys of the project's values, sorted."""
    return list(_runtime.current().call_host(ListValueKeys()))


def check_and_set_value(key: str, expected: Any, new: Any) -> bool:
    """Atomically set `key` to `new` if it holds `expected` now (None: if it holds nothing).

    Values are compared in pickled form, so use plain values (numbers, strings, tuples) as `expected`.
    """
    check_key(key)
    expected_blob = None if expected is None else _pickle(key, expected)
    return _runtime.current().call_host(CheckAndSetValue(key, expected_blob, _pickle(key, new)))


def add_values(key: str, amount: int | float) -> int | float:
    """Atomically add `amount` to the number under `key` (nothing there counts as 0); return the sum."""
    check_key(key)
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise InvalidInputError(f"add_values(): amount must be a number, not {type(amount).__name__}")
    result: int | float = pickle.loads(_runtime.current().call_host(AddValues(key, pickle.dumps(amount))))
    return result


def mutate_value(key: str, op: str, *args: Any) -> Any:
    """One value operation by name: get, set, del, add, check_and_set (AutoKitteh's generic form)."""
    operations: dict[str, Callable[[], Any]] = {
        "get": lambda: get_value(key, *args),
        "set": lambda: set_value(key, *args),
        "del": lambda: del_value(key),
        "delete": lambda: del_value(key),
        "add": lambda: add_values(key, *args),
        "check_and_set": lambda: check_and_set_value(key, *args),
    }
    if op not in operations:
        raise InvalidInputError(f"mutate_value(): unknown operation {op!r}", hint=f"use one of {', '.join(operations)}")
    try:
        return operations[op]()
    except TypeError as err:
        raise InvalidInputError(f"mutate_value({key!r}, {op!r}): wrong arguments {args!r} ({err})") from None


class ValueStore(MutableMapping[str, Any]):
    """The value store as a dict: `store["k"] = v`, `store["k"]`, `del store["k"]`, `"k" in store`."""

    def __getitem__(self, key: str) -> Any:
        missing = object()
        value = get_value(key, missing)
        if value is missing:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        set_value(key, value)

    def __delitem__(self, key: str) -> None:
        if key not in list_values_keys():
            raise KeyError(key)
        del_value(key)

    def __iter__(self) -> Iterator[str]:
        return iter(list_values_keys())

    def __len__(self) -> int:
        return len(list_values_keys())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in list_values_keys()


store = ValueStore()
