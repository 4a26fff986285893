"""Rules of analytics events, shared by sessions (`sdk.track` / `sdk.events`), the API and the SDK's
local stand-in.

An event is kept the way CTO.ai's daemon receives it: one flat JSON object, `{"tags": [...], "event":
..., **metadata}`, so Insights fields (`event_name`, `event_action`, `repo`, `commit`, …) ride as
top-level metadata. Windows are ISO-8601 instants; a time without a zone is UTC, because sessions run on
servers whose local zone says nothing about the person asking.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from purrflow.errors import InvalidInputError

MAX_EVENT_NAME = 200
MAX_EVENT_BYTES = 64 * 1024
#: Keys the flattened body (and the `events` answer) owns; metadata may not use them.
RESERVED_KEYS = ("tags", "event", "timestamp")
#: How many events one `sdk.events()` answer may hold (it is journaled whole).
MAX_SESSION_EVENTS = 10_000
_TIME_HINT = "use an ISO-8601 date or time, e.g. 2026-11-01, 2026-11-01T10:00:00 or 2026-11-01T10:00:00Z"


def check_track(tags: Any, event: Any, metadata: Any) -> dict[str, Any]:
    """Validate one `track(tags, event, metadata)` call and return its flattened body.

    The limits keep one careless call (a whole API response as metadata) from bloating the team's
    table and every `events()` answer that includes it.
    """
    if not isinstance(tags, list | tuple) or not all(isinstance(tag, str) for tag in tags):
        raise InvalidInputError(
            f"track(): tags must be a list of strings, not {_describe(tags)}",
            hint='e.g. track(["deploy", "prod"], "deployment", {...}); pass [] for no tags',
        )
    if not isinstance(event, str):
        raise InvalidInputError(f"track(): event must be a string, not {_describe(event)}", hint='e.g. "deployment"')
    if len(event) > MAX_EVENT_NAME:
        raise InvalidInputError(
            f"track(): the event name is {len(event)} characters long; at most {MAX_EVENT_NAME} are kept",
            hint="put long text in the metadata instead",
        )
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping) or not all(isinstance(key, str) for key in metadata):
        raise InvalidInputError(
            f"track(): metadata must be a JSON object with string keys, not {_describe(metadata)}",
            hint='e.g. {"event_name": "deployment", "event_action": "succeeded", "repo": "shop"}',
        )
    clashes = sorted(key for key in metadata if key in RESERVED_KEYS)
    if clashes:
        raise InvalidInputError(
            f"track(): metadata may not use the key(s) {', '.join(map(repr, clashes))}",
            hint="tags and event are track()'s own arguments, and the timestamp is set when the event is stored",
        )
    body = flatten(list(tags), event, metadata)
    try:
        size = len(json.dumps(body, allow_nan=False).encode())
    except (TypeError, ValueError) as err:
        raise InvalidInputError(
            f"track(): metadata must be plain JSON data: {err}", hint="convert dates to ISO strings, sets to lists"
        ) from None
    if size > MAX_EVENT_BYTES:
        raise InvalidInputError(
            f"track(): the event is {size} bytes as JSON; at most {MAX_EVENT_BYTES // 1024} KiB are kept",
            hint="keep ids and links in events, not whole documents",
        )
    return body


def check_session_events(count: int) -> None:
    """An `events()` answer is journaled whole: a window holding more events is refused, not cut short."""
    if count > MAX_SESSION_EVENTS:
        raise InvalidInputError(
            f"events(): more than {MAX_SESSION_EVENTS} events fall in the window",
            hint="ask for a shorter window, or several in turn",
        )


def flatten(tags: list[str], event: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """CTO.ai's wire form: metadata merged at the top level beside tags and event."""
    return {"tags": tags, "event": event, **metadata}


def parse_instant(text: Any, what: str = "time") -> float:
    """Unix seconds of an ISO-8601 date or date-time; naive means UTC. `what` names it in the error."""
    if isinstance(text, str) and text.strip():
        stripped = text.strip()
        try:
            moment = datetime.fromisoformat(stripped[:-1] + "+00:00" if stripped[-1] in "Zz" else stripped)
        except ValueError:
            pass
        else:
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    raise InvalidInputError(f"{what} {text!r} is not an ISO-8601 date or time", hint=_TIME_HINT)


def parse_window(start: Any, end: Any, *, now: float, default_span: float | None = None) -> tuple[float, float]:
    """A [start, end) window from ISO strings. `end` None means now; `start` None means `default_span`
    seconds before the end, when there is a default. An empty window is a mistake, not an empty answer."""
    high = now if end is None else parse_instant(end, "end")
    low = high - default_span if start is None and default_span is not None else parse_instant(start, "start")
    if low >= high:
        raise InvalidInputError(
            f"the window is empty: start {iso(low)} is not before end {iso(high)}",
            hint="give the earlier time as start",
        )
    return low, high


def is_plain_date(text: str) -> bool:
    """`2026-11-01` rather than a date-time: the CLI reads such an end bound as the whole day."""
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return len(text.strip()) == 10


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
