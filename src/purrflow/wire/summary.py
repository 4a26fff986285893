"""Short summaries of a step's arguments, for people reading the journal.

Both sides write them: the runner for an activity's arguments, the host for a host operation's fields.
A summary is reprlib-shortened (long strings, deep or long containers cut) and at most `ARGS_CHARS`
characters; a secret's value is never part of one: a host operation's secret field shows "(hidden)", and
so does every secret value the session has read wherever it appears in an activity's string arguments.
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Collection
from typing import Any

from purrflow.wire.ops import HostOp
from purrflow.wire.steps import StepName

#: The longest argument summary the journal keeps.
ARGS_CHARS = 200
HIDDEN = "(hidden)"


class _Redacting(reprlib.Repr):
    """reprlib's shortening, with each of `hidden` replaced in strings before they are cut (so no part
    of a secret is left either)."""

    def __init__(self, hidden: Collection[str] = ()) -> None:
        super().__init__()
        self.maxstring = 60
        self.maxother = 60
        self.maxlevel = 3
        self.hidden = hidden

    def repr_str(self, x: str, level: int) -> str:
        for secret in self.hidden:
            if secret in x:
                x = x.replace(secret, HIDDEN)
        return super().repr_str(x, level)


_REPR = _Redacting()
#: Types whose repr is short and safe as it is.
_PLAIN: frozenset[type] = frozenset({int, float, bool, type(None)})
#: Fields of host operations that may carry a secret, by step.
_SECRET_FIELDS = {StepName.SECRET_SET: frozenset({"value"})}


def summarize_call(args: tuple[Any, ...], kwargs: dict[str, Any], hidden: Collection[str] = ()) -> str:
    """`'a', 2, key='v'` for a call's arguments, each of `hidden` (secret values) shown as "(hidden)";
    an argument whose repr fails shows its type."""
    if not args and not kwargs:
        return ""
    shorten = _Redacting(hidden) if hidden else _REPR
    parts = [_one(value, shorten) for value in args]
    parts += [f"{key}={_one(value, shorten)}" for key, value in kwargs.items()]
    return _cut(", ".join(parts))


def summarize_op(op: HostOp[Any]) -> str:
    """A host operation's fields as `key='k', value=<12 bytes>`: pickled fields show their size only,
    and a field that can carry a secret shows "(hidden)"."""
    hidden = _SECRET_FIELDS.get(op.step, frozenset())
    parts = []
    for spec in dataclasses.fields(op):  # type: ignore[arg-type]  # every operation is a dataclass
        value = getattr(op, spec.name)
        if spec.name in hidden:
            shown = HIDDEN
        elif isinstance(value, bytes):
            shown = f"<{len(value)} bytes>"
        else:
            shown = _one(value)
        parts.append(f"{spec.name}={shown}")
    return _cut(", ".join(parts))


def _one(value: Any, shorten: _Redacting = _REPR) -> str:
    kind = type(value)
    if kind in _PLAIN:  # the common case, on every step's path: reprlib's dispatch costs several µs
        return repr(value)
    if kind is str and len(value) <= shorten.maxstring and not shorten.hidden:
        return repr(value)
    try:
        return shorten.repr(value)
    except Exception:  # a user's __repr__ that fails is no reason to fail the step
        return f"<{type(value).__name__}>"


def _cut(text: str) -> str:
    return text if len(text) <= ARGS_CHARS else text[: ARGS_CHARS - 1] + "…"
