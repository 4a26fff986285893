"""`AttrDict` and `Event`: what a handler receives.

An AttrDict is a dict with read-only attribute access. A missing key raises AttributeError (programs
written for AutoKitteh rely on that), and nested dicts come back as AttrDicts.
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


@dataclass(frozen=True)
class Event:
    """The input of a session: the event's data plus where it came from."""

    data: AttrDict = field(default_factory=AttrDict)
    event_type: str | None = None
    event_id: str | None = None
    session_id: str | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        return cls(
            data=AttrDict(raw.get("data") or {}),
            event_type=raw.get("event_type"),
            event_id=raw.get("event_id"),
            session_id=raw.get("session_id"),
        )
