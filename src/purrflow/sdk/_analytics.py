"""`sdk.track` and `sdk.events`: the team's analytics events, as CTO.ai's SDK offers them.

`track(tags, event, metadata)` stores `{"tags": tags, "event": event, **metadata}` for the team; Insights
(`purr insights`) reads deployment events from it, e.g. `track(["deploy"], "deployment",
{"event_name": "deployment", "event_action": "succeeded", "repo": "shop", "commit": sha})`.
`events(start, end=None)` returns the team's events in [start, end) (ISO-8601; a time without a zone is
the caller's local time, as CTO.ai's client means it; end defaults to now), each the flattened body
plus its `timestamp`. Each call is one durable step: a replay neither tracks twice nor sees a different
answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from purrflow.rules.analytics import is_plain_date
from purrflow.sdk import _runtime
from purrflow.wire import QueryEvents, Track


def track(tags: str | Sequence[str], event: str | Sequence[str], metadata: Mapping[str, Any] | None = None) -> None:
    """Store one event. `tags` and `event` may each be a string or a list of strings, as CTO.ai's
    reference allows: a tag string is one tag ("" is none), and a list of event names is stored as one
    event named by them joined with ", " (an event has one name; Insights reads its fields from the
    metadata anyway)."""
    if isinstance(tags, str):
        tag_list: Any = [tags] if tags else []
    else:
        tag_list = list(tags) if isinstance(tags, list | tuple) else tags  # the host explains anything else
    if isinstance(event, list | tuple) and all(isinstance(name, str) for name in event):
        event = ", ".join(event)
    data = dict(metadata) if isinstance(metadata, Mapping) else metadata
    _runtime.current().call_host(Track(tag_list, event, data))


def events(start: str | date, end: str | date | None = None) -> list[dict[str, Any]]:
    """The team's events in [start, end). A time without a zone is the caller's local time: CTO.ai's
    Python client sends `datetime.now().isoformat()` (local, zone-less) as the default end, so reading it
    as UTC would move the window by the caller's offset from UTC."""
    found = _runtime.current().call_host(QueryEvents(_text(start), None if end is None else _text(end)))
    return [dict(item) for item in found]


def _text(moment: str | date) -> str:
    """An ISO string with a zone when it has a time of day: zone-less times are made local here; other
    strings go as they are and the host checks them."""
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo is not None else moment.astimezone()).isoformat()
    if isinstance(moment, date):
        return moment.isoformat()
    if isinstance(moment, str) and not is_plain_date(moment):
        try:
            parsed = datetime.fromisoformat(moment.strip())
        except ValueError:
            return moment
        if parsed.tzinfo is None:
            return parsed.astimezone().isoformat()
    return moment
