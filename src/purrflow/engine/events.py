"""Events in motion: every event is stored, then starts the triggers it matches and reaches the
subscriptions that want it.

A subscription's events are queued in its session's inbox as targeted signals named after the
subscription, so `next_event` is a durable wait like `next_signal`: ordered by arrival across several
subscriptions, delivered exactly once, held while the session is suspended.

Live subscriptions are indexed by (project, source), and within a source by the equality a filter
starts with (`data.user == "U1" && …`, `event_type == "message"`): an event looks its own values up
and evaluates only the filters that can match it, plus those with no such equality.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from purrflow.engine.filters import Filter
from purrflow.errors import InvalidInputError
from purrflow.store import Event, Project, Session, Subscription, Trigger

if TYPE_CHECKING:
    from purrflow.engine.engine import Engine

log = logging.getLogger("purrflow.engine.events")

_EQUALITY = re.compile(
    r"""^\s*(event_type|data(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*==\s*("(?:[^"\\]|\\.)*"|-?\d+)\s*(?:&&.*)?$""",
    re.DOTALL,
)
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
    return path, (json.loads(literal) if literal.startswith('"') else int(literal))


def _lookup(path: str, event_type: str, data: dict[str, Any]) -> Any:
    if path == "event_type":
        return event_type
    value: Any = data
    for part in path.split(".")[1:]:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


class EventRouter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._subs: dict[tuple[str, str], dict[str, tuple[Subscription, Filter]]] = defaultdict(dict)
        self._by_session: dict[str, set[str]] = defaultdict(set)
        self._sources: dict[str, tuple[str, str]] = {}
        self._equal: dict[tuple[str, str], dict[IndexKey, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._paths: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self._unindexed: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return len(self._sources)

    def load(self) -> None:
        for sub in self._engine.store.live_subscriptions():
            self._add(sub)

    # -- subscriptions -------------------------------------------------------------------------
    def subscribe(self, session: Session, source: str, expression: str) -> str:
        store = self._engine.store
        triggers = {t.name for t in store.list_triggers(session.project_id)}
        connections = set(store.list_connections(session.project_id))
        if source not in triggers | connections:
            known = ", ".join(sorted(triggers | connections)) or "none"
            raise InvalidInputError(
                f"subscribe(): project {session.project_name!r} has no trigger or connection named {source!r}",
                hint=f"subscribe to one of: {known}",
            )
        Filter.compile(expression, where=f"subscribe({source!r})")  # refused here, with its position
        sub = store.add_subscription(session.id, session.project_id, source, expression.strip())
        self._add(sub)
        return sub.id

    def unsubscribe(self, session: Session, subscription_id: str) -> None:
        if subscription_id not in self._by_session.get(session.id, ()):
            raise InvalidInputError(f"unsubscribe(): {subscription_id!r} is not a live subscription of this session")
        self._engine.store.end_subscription(subscription_id)
        self._remove(subscription_id)

    def check_owned(self, session_id: str, subscription_ids: list[str]) -> None:
        owned = self._by_session.get(session_id, set())
        unknown = [sid for sid in subscription_ids if sid not in owned]
        if unknown:
            raise InvalidInputError(
                f"next_event(): {', '.join(map(repr, unknown))} is not a live subscription of this session",
                hint="pass the ids that subscribe() returned (and not yet unsubscribed)",
            )

    def forget_session(self, session_id: str) -> None:
        for subscription_id in list(self._by_session.pop(session_id, ())):
            self._remove(subscription_id)

    # -- events --------------------------------------------------------------------------------
    def receive(self, project: Project, source: str, event_type: str, data: dict[str, Any]) -> tuple[Event, list[str]]:
        """Store an event; start matching triggers' sessions; queue it for matching subscriptions."""
        engine = self._engine
        event = engine.store.add_event(project.id, source, event_type, data)
        started = [
            engine.create_session(
                project,
                trigger.call,
                data,
                event_type=event_type,
                event_id=event.id,
                trigger_name=trigger.name,
                durable=bool(trigger.spec.get("is_durable", True)),
            )
            for trigger in engine.store.list_triggers(project.id)
            if trigger.call and self._trigger_wants(trigger, source, event_type, data, event.id)
        ]
        payload = pickle.dumps({"data": data, "event_type": event_type, "event_id": event.id})
        subs = self._subs.get((project.id, source), {})
        for subscription_id in sorted(self._candidates((project.id, source), event_type, data)):
            sub, compiled = subs[subscription_id]
            if self._matches(sub.id, compiled, event_type, data, event.id):
                engine.signals.send(project.id, sub.session_id, sub.id, payload)
        return event, started

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

    def _trigger_wants(
        self, trigger: Trigger, source: str, event_type: str, data: dict[str, Any], event_id: str
    ) -> bool:
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

    def _add(self, sub: Subscription) -> None:
        compiled = Filter.compile(sub.filter, where=f"subscription {sub.id}")
        key = (sub.project_id, sub.source)
        self._subs[key][sub.id] = (sub, compiled)
        self._by_session[sub.session_id].add(sub.id)
        self._sources[sub.id] = key
        index = equality_key(sub.filter)
        if index is None:
            self._unindexed[key].add(sub.id)
        else:
            self._equal[key][index].add(sub.id)
            self._paths[key][index[0]] += 1

    def _remove(self, subscription_id: str) -> None:
        key = self._sources.pop(subscription_id, None)
        if key is None:
            return
        sub, _ = self._subs[key].pop(subscription_id)
        if not self._subs[key]:
            del self._subs[key]
        index = equality_key(sub.filter)
        if index is None:
            self._unindexed[key].discard(subscription_id)
        else:
            self._equal[key][index].discard(subscription_id)
            self._paths[key][index[0]] -= 1
            if not self._paths[key][index[0]]:
                del self._paths[key][index[0]]
        self._by_session.get(sub.session_id, set()).discard(subscription_id)
