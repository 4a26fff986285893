"""Which triggers and live subscriptions an event reaches.

Live subscriptions are indexed by (project, source), and within a source by the equality a filter
starts with (`data.user == "U1" && …`, `event_type == "message"`): an event looks its own values up
and evaluates only the filters that can match it, plus those with no such equality. A filter that
cannot apply to an event (a missing key, a non-boolean result) counts as no match, and is logged once
per trigger or subscription rather than once per event.

A filter that is nothing but such an equality with a plain string (`data.url.query.to == "k42"`, the
usual way to wait for one's own event) is matched by the index alone and never compiled: a value found
there equals the string exactly when CEL would say so, and a compiled CEL program would cost each
waiting session ~3 KiB of the server's memory.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter, defaultdict
from typing import Any

from purrflow.errors import InvalidInputError
from purrflow.filters import Filter
from purrflow.store import Subscription, Trigger

log = logging.getLogger("purrflow.engine.dispatch")

_EQUALITY = re.compile(
    r"""^\s*(event_type|data(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*==\s*("(?:[^"\\]|\\.)*"|-?\d+)\s*(?:&&.*)?$""",
    re.DOTALL,
)
#: Nothing but a path equal to a string without escapes (whose CEL and JSON readings are the same).
_PURE_EQUALITY = re.compile(r"""^\s*(event_type|data(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*==\s*"([^"\\]*)"\s*$""")
_MISSING = object()
IndexKey = tuple[str, Any]


def equality_key(expression: str) -> IndexKey | None:
    """(path, literal) when the filter can only match events where `path == literal`; else None."""
    if "||" in expression:
        return None
    match = _EQUALITY.match(expression)
    if match is None:
        return None
    path, literal = match.group(1), match.group(2)
    if not literal.startswith('"'):
        return path, int(literal)
    try:
        return path, json.loads(literal)
    except ValueError:  # a CEL escape JSON does not know (\x41, \101): evaluated, not indexed
        return None


#: Words CEL reserves: a path through one is refused by the compiler, so it is never taken as pure.
_CEL_RESERVED = frozenset(
    {
        *("as", "break", "const", "continue", "else", "false", "for", "function", "if", "import", "in"),
        *("let", "loop", "namespace", "null", "package", "return", "true", "var", "void", "while"),
    }
)


def pure_equality(expression: str) -> IndexKey | None:
    """(path, string) when the filter is `path == "string"` and nothing else (always valid CEL): the
    index decides it."""
    match = _PURE_EQUALITY.match(expression)
    if match is None or _CEL_RESERVED.intersection(match.group(1).split(".")):
        return None
    return match.group(1), match.group(2)


def _lookup(path: str, event_type: str, data: dict[str, Any]) -> Any:
    if path == "event_type":
        return event_type
    value: Any = data
    for part in path.split(".")[1:]:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


class EventDispatch:
    """The live subscriptions of every project, indexed, and the matching of events against filters."""

    def __init__(self) -> None:
        #: Each live subscription and its compiled filter (None: a pure equality, which the index decides).
        self._subs: dict[tuple[str, str], dict[str, tuple[Subscription, Filter | None]]] = defaultdict(dict)
        self._by_session: dict[str, set[str]] = defaultdict(set)
        self._sources: dict[str, tuple[str, str]] = {}
        self._equal: dict[tuple[str, str], dict[IndexKey, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._paths: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self._unindexed: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return len(self._sources)

    # -- subscriptions -------------------------------------------------------------------------
    def add(self, sub: Subscription) -> None:
        pure = pure_equality(sub.filter)
        compiled = None if pure else Filter.compile(sub.filter, where=f"subscription {sub.id}")
        key = (sub.project_id, sub.source)
        self._subs[key][sub.id] = (sub, compiled)
        self._by_session[sub.session_id].add(sub.id)
        self._sources[sub.id] = key
        index = pure or equality_key(sub.filter)
        if index is None:
            self._unindexed[key].add(sub.id)
        else:
            self._equal[key][index].add(sub.id)
            self._paths[key][index[0]] += 1

    def remove(self, subscription_id: str) -> None:
        key = self._sources.pop(subscription_id, None)
        if key is None:
            return
        sub, _ = self._subs[key].pop(subscription_id)
        if not self._subs[key]:
            del self._subs[key]
        index = pure_equality(sub.filter) or equality_key(sub.filter)
        if index is None:
            self._unindexed[key].discard(subscription_id)
        else:
            self._equal[key][index].discard(subscription_id)
            self._paths[key][index[0]] -= 1
            if not self._paths[key][index[0]]:
                del self._paths[key][index[0]]
        self._by_session.get(sub.session_id, set()).discard(subscription_id)

    def replace_project(self, project_id: str, live: list[Subscription]) -> None:
        """The project's live subscriptions are `live` now (read from the store): the others go, new ones come,
        and those it kept keep their compiled filters."""
        wanted = {sub.id: sub for sub in live}
        held = [sid for sid, key in self._sources.items() if key[0] == project_id]
        for subscription_id in held:
            if subscription_id not in wanted:
                self.remove(subscription_id)
        for sub in live:
            if sub.id not in self._sources:
                self.add(sub)

    def owns(self, session_id: str, subscription_id: str) -> bool:
        return subscription_id in self._by_session.get(session_id, ())

    def check_owned(self, session_id: str, subscription_ids: tuple[str, ...]) -> None:
        unknown = [sid for sid in subscription_ids if not self.owns(session_id, sid)]
        if unknown:
            raise InvalidInputError(
                f"next_event(): {', '.join(map(repr, unknown))} is not a live subscription of this session",
                hint="pass the ids that subscribe() returned (and not yet unsubscribed)",
            )

    def forget_session(self, session_id: str) -> None:
        for subscription_id in list(self._by_session.pop(session_id, ())):
            self.remove(subscription_id)

    # -- matching ------------------------------------------------------------------------------
    def subscribers(
        self, project_id: str, source: str, event_type: str, data: dict[str, Any], event_id: str
    ) -> list[Subscription]:
        """The live subscriptions that want this event, in the order they were made."""
        key = (project_id, source)
        subs = self._subs.get(key, {})
        wanted = []
        for subscription_id in sorted(self._candidates(key, event_type, data)):
            sub, compiled = subs[subscription_id]
            # A pure equality is a candidate only when the event's value equals its string.
            if compiled is None or self._matches(sub.id, compiled, event_type, data, event_id):
                wanted.append(sub)
        return wanted

    def trigger_wants(
        self, trigger: Trigger, source: str, event_type: str, data: dict[str, Any], event_id: str
    ) -> bool:
        """Whether `trigger` starts a session for this event of `source`."""
        spec = trigger.spec
        if not (
            (trigger.kind in ("webhook", "schedule") and trigger.name == source)
            or (trigger.kind == "connection" and spec.get("connection") == source)
        ):
            return False
        wanted = spec.get("event_type")
        if wanted and str(wanted).lower() != event_type.lower():
            return False
        compiled = Filter.compile(str(spec.get("filter") or ""), where=f"trigger {trigger.name}")
        return self._matches(trigger.id, compiled, event_type, data, event_id)

    def _candidates(self, key: tuple[str, str], event_type: str, data: dict[str, Any]) -> set[str]:
        found = set(self._unindexed.get(key, ()))
        equal = self._equal.get(key)
        for path in self._paths.get(key, ()):
            value = _lookup(path, event_type, data)
            if value is not _MISSING and equal is not None:
                try:
                    found |= equal.get((path, value), set())
                except TypeError:  # an unhashable value (a list, a dict) equals no literal
                    continue
        return found

    def _matches(self, key: str, compiled: Filter, event_type: str, data: dict[str, Any], event_id: str) -> bool:
        result = compiled.evaluate(event_type=event_type, data=data, event_id=event_id)
        if result.error and key not in self._warned:
            self._warned.add(key)  # once per trigger or subscription, not once per event
            log.warning(
                "filter %r of %s does not apply to an event: %s (counted as no match)",
                compiled.source,
                key,
                result.error,
            )
        return result.matched
