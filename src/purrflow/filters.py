"""CEL filters behind a small adapter, so the rest of purrflow never touches the CEL library itself.

A filter sees three variables, as in AutoKitteh: `event_type` (string), `data` (the event's data, a map)
and `event_id` (string, empty when there is none). The library is `cel-expr-python` (Google's C++ CEL).

- Compiling checks syntax, names and types, so a broken filter is refused when it is deployed or
  subscribed rather than silently never matching; the error names the position. Compiled filters are
  cached per expression: the same trigger filter is compiled once however many events it sees.
- Evaluating never raises. A filter that reads a key the event lacks, or gives something other than a
  boolean, does not match and says why in `FilterResult.error` (AutoKitteh, too, treats these as no
  match).
- An empty filter matches everything without running CEL.

Cost: one evaluation is dominated by converting `data` into CEL values (tens of microseconds for a
typical webhook); the subscription index (`purrflow.engine.dispatch`) keeps the filters an event must
run to the few that can match it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final

from cel_expr_python import cel  # type: ignore[import-untyped]

from purrflow.errors import FilterError

__all__ = ["Filter", "FilterError", "FilterResult"]

_CEL_DOCS = "https://github.com/google/cel-spec/blob/master/doc/langdef.md"
_VARIABLES_HINT = (
    "a filter can read event_type, data and event_id, and use CEL's standard functions "
    '(startsWith, endsWith, contains, matches, size, has, …); e.g. data.method == "POST"'
)


@dataclass(frozen=True, slots=True)
class FilterResult:
    """Whether an event passed a filter; `error` says why it did not when the filter could not apply."""

    matched: bool
    error: str | None = None


_MATCHED: Final = FilterResult(True)
_NOT_MATCHED: Final = FilterResult(False)


class Filter:
    """A compiled CEL filter. Build it with `Filter.compile`; instances are shared and immutable."""

    __slots__ = ("_program", "source")

    def __init__(self, source: str, program: Any) -> None:
        self.source = source
        self._program = program

    def __repr__(self) -> str:
        return f"Filter({self.source!r})"

    @classmethod
    def compile(cls, expression: str, *, where: str = "filter") -> Filter:
        """Compile (or fetch from the cache) `expression`; raise FilterError naming `where` and the position."""
        source = expression.strip()
        if not source:
            return _MATCH_ALL
        outcome = _compile(source)
        if isinstance(outcome, _Problem):
            raise outcome.error(where, source)
        return outcome

    @property
    def matches_everything(self) -> bool:
        """True for the empty filter, which needs no evaluation at all."""
        return self._program is None

    def evaluate(self, *, event_type: str, data: Mapping[str, Any], event_id: str | None = None) -> FilterResult:
        """Run the filter against one event. Never raises: a failure is a non-match with a reason."""
        program = self._program
        if program is None:
            return _MATCHED
        variables = {"data": data, "event_type": str(event_type), "event_id": event_id or ""}

        def run(plain: bool) -> Any:
            if plain:
                variables["data"] = _plain_data(data)
            return program.eval(data=variables)

        return _run(run)


_MATCH_ALL: Final = Filter("", None)


# -- compiling ------------------------------------------------------------------------------------


@functools.cache
def _env() -> Any:
    # `data` is a map with string keys, as in AutoKitteh's own filter environment: `data == 1` is then a
    # compile-time error rather than a filter that never matches.
    string = cel.Type.STRING
    return cel.NewEnv(variables={"data": cel.Type.Map(string, cel.Type.DYN), "event_type": string, "event_id": string})


@dataclass(frozen=True, slots=True)
class _Problem:
    """Why an expression does not compile, kept in the cache so a broken filter is diagnosed once."""

    line: int | None
    column: int | None
    text: str
    hint: str | None

    def error(self, where: str, expression: str) -> FilterError:
        at = f" at {self.line}:{self.column}" if self.line is not None else ""
        return FilterError(
            f"{where}: invalid CEL filter {_describe(expression)}{at}: {self.text}",
            hint=self.hint,
            expression=expression,
            line=self.line,
            column=self.column,
            problem=self.text,
        )


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> Filter | _Problem:
    try:
        program = _env().compile(source)
    except RuntimeError as err:
        return _compile_problem(str(err))
    result_type = program.return_type()
    if not (result_type == cel.Type.BOOL or result_type == cel.Type.DYN):
        kind = result_type.name().lower()
        article = "an" if kind[:1] in ("a", "e", "i", "o", "u") else "a"
        hint = 'compare it, e.g. data.method == "POST"'
        return _Problem(None, None, f"it gives {article} {kind}, not true or false", hint)
    return Filter(source, program)


# The library's message: `INVALID_ARGUMENT: ERROR: <input>:1:6: Syntax error: …\n | source\n | ....^`,
# one such block per problem found. Columns count characters from 1.
_ISSUE = re.compile(r"ERROR: <input>:(\d+):(\d+): ([^\n]*)")
_STATUS = re.compile(r"^[A-Z_]+: |\s*\[[A-Z_]+\]$")
_UNDECLARED = re.compile(r"undeclared reference to '([^']*)'.*")
_MISMATCHED = re.compile(r"(?:mismatched|extraneous) input (.+?) expecting .*")


def _compile_problem(message: str) -> _Problem:
    issues = _ISSUE.findall(message)
    if not issues:
        return _Problem(None, None, _STATUS.sub("", message.strip()), f"see the CEL language: {_CEL_DOCS}")
    line, column, text = issues[0]
    text, hint = _explain(text.strip())
    if len(issues) > 1:
        text += f" (and {len(issues) - 1} more problem{'s' if len(issues) > 2 else ''})"
    return _Problem(int(line), int(column), text, hint)


def _explain(text: str) -> tuple[str, str | None]:
    """Re-word the library's commonest complaints; the rest stay as they are."""
    if match := _UNDECLARED.fullmatch(text):
        return f"unknown name {match[1]!r}", _VARIABLES_HINT
    if match := _MISMATCHED.search(text):
        found = match[1]
        detail = "the expression ends too early" if found == "'<EOF>'" else f"unexpected {found}"
        return f"Syntax error: {detail}", f"see the CEL language: {_CEL_DOCS}"
    if text.startswith("Syntax error"):
        return text, f"see the CEL language: {_CEL_DOCS}"
    return text, None


# -- evaluating -----------------------------------------------------------------------------------


def _run(evaluate: Callable[[bool], Any]) -> FilterResult:
    """Evaluate once; if CEL refused the event's data itself, once more with the data made plain.

    `evaluate(plain)` runs the program. The common case (a boolean) costs one conversion of the result;
    the result's type is only asked for when it is not a boolean.
    """
    try:
        value = evaluate(False)
        plain = value.plain_value()
        if type(plain) is bool:
            return _MATCHED if plain else _NOT_MATCHED
        if _rejected_data(value, plain):
            value = evaluate(True)
            plain = value.plain_value()
        if type(plain) is bool:
            return _MATCHED if plain else _NOT_MATCHED
        if value.type() == cel.Type.ERROR:
            return FilterResult(False, _runtime_problem(str(plain)))
    except Exception as err:  # the library reports failures as values; this guards dispatch anyway
        return FilterResult(False, f"the filter could not run: {err}")
    return FilterResult(False, f"the filter gave {_describe(plain)}, not true or false")


_MISSING_KEY = re.compile(r'Key not found in map : "(.*)"', re.S)
_INDEX = re.compile(r"Index error: index=(-?\d+) size=(\d+)")
_DATA_REJECTED = ("Non-CEL value type for 'data", "out of range for 'data", "Unexpected value type for 'data")


def _runtime_problem(message: str) -> str:
    text = _STATUS.sub("", message.strip())
    if match := _MISSING_KEY.fullmatch(text):
        return f"the event has no key {match[1]!r}"
    if match := _INDEX.fullmatch(text):
        return f"index {match[1]} is out of range (the list's size is {match[2]})"
    if text == "Applying SELECT to non-message type":
        return "it reads a field of a value that is not a map (a list, a string, a number…)"
    return text


def _describe(value: Any, limit: int = 120) -> str:
    """`repr(value)`, shortened: messages quote expressions and results, which can be long."""
    shown = repr(value)
    return f"{shown[:limit]}…" if len(shown) > limit else shown


def _rejected_data(value: Any, plain: Any) -> bool:
    """Did CEL refuse the event's data itself (a tuple, a datetime, a dict subclass…) rather than the filter?"""
    return (
        isinstance(plain, str) and any(marker in plain for marker in _DATA_REJECTED) and value.type() == cel.Type.ERROR
    )


_INT_MIN: Final = -(2**63)
_UINT_END: Final = 2**64
_SCALARS: Final = (str, bool, float, bytes, type(None))


def _plain_data(value: Any) -> Any:
    """`value` with only the types CEL accepts: plain dicts and lists, str, int, float, bool, bytes, None.

    Dict subclasses (AttrDict) and other mappings become dicts; tuples and sets become lists; integers
    outside 64 bits become floats (as a JSON decoder would make them); dates and times become ISO
    strings; anything else becomes its `str()`. CEL converts the whole of `data` before evaluating, so
    one odd value anywhere would otherwise make every filter fail on that event.
    """
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return {_plain_key(k): _plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain_data(v) for v in value]
    if isinstance(value, int):  # int subclasses (IntEnum) and integers beyond 64 bits
        number = int(value)
        return number if _INT_MIN <= number < _UINT_END else float(number)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _plain_key(key: Any) -> Any:
    if type(key) in (str, int, bool):
        return key
    return str(key)
