"""`AttrDict`, `EventData` and `Event`: what a handler receives.

An AttrDict is a dict with read-only attribute access. A missing key raises AttributeError (programs
written for AutoKitteh rely on that), and nested dicts come back as AttrDicts.

`next_event` returns an `EventData`: the event's data AttrDict, as the real `autokitteh` package returns
it, which also answers `.data` (itself), `.event_type`, `.event_id` and `.connection_id` when the data has
no key of that name — the AutoKitteh SDK reference's examples read those off what `next_event` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class AttrDict(dict[str, Any]):
    """A dict whose keys can also be read as attributes: `event.data.url.path`."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return _wrap(self[name])
        except KeyError:
            raise AttributeError(
                f"AttrDict has no key {name!r} (keys: {', '.join(map(str, self)) or 'none'})"
            ) from None

    def __getitem__(self, key: str) -> Any:
        return _wrap(super().__getitem__(key))

    def get(self, key: str, default: Any = None) -> Any:
        return _wrap(super().get(key, default))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"AttrDict is read-only through attributes; set [{name!r}] instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"AttrDict is read-only through attributes; delete [{name!r}] instead")

    def __reduce__(self) -> tuple[Any, ...]:
        return (AttrDict, (dict(self),))


def _wrap(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, AttrDict):
        return AttrDict(value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


class EventData(AttrDict):
    """An event's data as `next_event` returns it: the data's own keys first, then the event's fields."""

    __slots__ = ("_purr_event",)
    #: The fields of the event that the data answers when it has no key of the same name.
    EVENT_FIELDS = ("data", "event_type", "event_id", "connection_id")

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        event_type: str | None = None,
        event_id: str | None = None,
        connection_id: str | None = None,
    ) -> None:
        super().__init__(data or {})
        fields = {"event_type": event_type, "event_id": event_id, "connection_id": connection_id}
        object.__setattr__(self, "_purr_event", fields)

    def __getattr__(self, name: str) -> Any:
        if name in self or name not in self.EVENT_FIELDS:
            return super().__getattr__(name)
        if name == "data":
            return self
        return self._purr_event[name]

    def __bool__(self) -> bool:
        """Always true, even with no data: `next_event` returns None on timeout, and programs tell the two
        apart with `if event:` (the SDK reference's examples do), so an event with empty data (a tick)
        must not read as a timeout."""
        return True

    def __reduce__(self) -> tuple[Any, ...]:
        return (_event_data, (dict(self), dict(self._purr_event)))


def _event_data(data: dict[str, Any], fields: dict[str, Any]) -> EventData:
    return EventData(data, **fields)


@dataclass(frozen=True)
class Event:
    """The input of a session: the event's data plus where it came from.

    `event["data"]` reads a field as `event.data` does: the AutoKitteh SDK reference's examples use both.
    """

    data: AttrDict = field(default_factory=AttrDict)
    event_type: str | None = None
    event_id: str | None = None
    session_id: str | None = None

    def __getitem__(self, key: str) -> Any:
        if key not in _EVENT_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in _EVENT_KEYS

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in _EVENT_KEYS else default

    def keys(self) -> tuple[str, ...]:
        return _EVENT_KEYS

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        return cls(
            data=AttrDict(raw.get("data") or {}),
            event_type=raw.get("event_type"),
            event_id=raw.get("event_id"),
            session_id=raw.get("session_id"),
        )


_EVENT_KEYS = ("data", "event_type", "event_id", "session_id")
