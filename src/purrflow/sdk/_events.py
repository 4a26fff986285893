"""Subscriptions: a session asks for a source's events and takes them one by one, durably.

`subscribe(source, filter="")` names a trigger or a connection of the project; the subscription sees
every event of that source from then on (even ones the trigger's own filter rejects). `next_event`
waits for the next one over any of the given subscriptions, in arrival order; the session may be
suspended meanwhile and is resumed by the event. A filter that does not compile is refused here.
"""

from __future__ import annotations

import pickle
from datetime import timedelta
from typing import Any

from purrflow.errors import InvalidInputError
from purrflow.sdk import _runtime
from purrflow.sdk._attrdict import AttrDict, Event, EventData
from purrflow.sdk._signals import deadline_of
from purrflow.wire import EventWait, Subscribe, Unsubscribe


def subscribe(source: str, filter: str | None = "") -> str:
    """Subscribe to the events of trigger or connection `source` (CEL `filter`; None or "" takes every
    event, as the AutoKitteh SDK reference's `filter: str = None` says); return the id."""
    if filter is None:
        filter = ""
    if not isinstance(source, str) or not source:
        raise InvalidInputError(f"subscribe(): source must be a trigger or connection name, not {source!r}")
    if not isinstance(filter, str):
        raise InvalidInputError(f"subscribe(): filter must be a CEL expression string, not {type(filter).__name__}")
    return _runtime.current().call_host(Subscribe(source, filter))


def unsubscribe(subscription_id: str) -> None:
    """Stop a subscription; events not yet taken from it are dropped."""
    _runtime.current().call_host(Unsubscribe(subscription_id))


def next_event(*subscription_ids: str | list[str], timeout: timedelta | float | None = None, full: bool = False) -> Any:
    """The next event of these subscriptions: its data (an `EventData`: the data AttrDict, which also
    answers `.data`, `.event_type`, `.event_id` and `.connection_id` — the trigger or connection it came
    from — when the data has no such key), the whole `Event` with `full=True`, or None when `timeout`
    (seconds or timedelta) passes first. Without a timeout it waits as long as it takes."""
    ids: list[str] = []
    for item in subscription_ids:
        ids.extend([item] if isinstance(item, str) else list(item))
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise InvalidInputError(f"next_event(): give subscription ids from subscribe(), not {subscription_ids!r}")
    result = _runtime.current().wait(EventWait(tuple(ids), deadline_of(timeout, "next_event()")))
    if result is None:
        return None
    raw = pickle.loads(result[1])
    if full:
        return Event(data=AttrDict(raw["data"]), event_type=raw["event_type"], event_id=raw["event_id"])
    return EventData(
        raw["data"], event_type=raw["event_type"], event_id=raw["event_id"], connection_id=raw.get("source")
    )
