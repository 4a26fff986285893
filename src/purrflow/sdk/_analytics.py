"""`sdk.track` and `sdk.events`: the team's analytics events, as CTO.ai's SDK offers them.

`track(tags, event, metadata)` stores `{"tags": tags, "event": event, **metadata}` for the team; Insights
(`purr insights`) reads deployment events from it, e.g. `track(["deploy"], "deployment",
{"event_name": "deployment", "event_action": "succeeded", "repo": "shop", "commit": sha})`.
`events(start, end=None)` returns the team's events in [start, end) (ISO-8601, naive means UTC, end
defaults to now), each the flattened body plus its `timestamp`. Each call is one durable step: a replay
neither tracks twice nor sees a different answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from purrflow.sdk import _runtime
from purrflow.wire import QueryEvents, Track


def track(tags: Sequence[str], event: str, metadata: Mapping[str, Any] | None = None) -> None:
    tag_list = list(tags) if isinstance(tags, list | tuple) else tags  # the host explains anything else
    data = dict(metadata) if isinstance(metadata, Mapping) else metadata
    _runtime.current().call_host(Track(tag_list, event, data))


def events(start: str | date, end: str | date | None = None) -> list[dict[str, Any]]:
    found = _runtime.current().call_host(QueryEvents(_text(start), None if end is None else _text(end)))
    return [dict(item) for item in found]


def _text(moment: str | date) -> str:
    """Datetimes become ISO strings here; strings go as they are and the host checks them."""
    return moment.isoformat() if isinstance(moment, date) else moment
