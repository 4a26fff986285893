"""Events in motion: every event is stored first, then starts the triggers it matches and reaches the
subscriptions that want it — in one write batch, so an event is never half delivered.

A subscription's events are queued in its session's inbox as targeted signals named after the
subscription, so `next_event` is a durable wait like `next_signal`: ordered by arrival across several
subscriptions, delivered exactly once, held while the session is suspended.
"""

from __future__ import annotations

import pickle
from typing import Any

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.dispatch import EventDispatch, pure_equality
from purrflow.engine.signals import SignalWaits
from purrflow.engine.webhooks import WebhookRequest, event_data
from purrflow.errors import InvalidInputError, NotFoundError
from purrflow.filters import Filter
from purrflow.services import ids
from purrflow.services.projects import ProjectService
from purrflow.services.sessions import SessionService
from purrflow.services.triggers import TriggerService
from purrflow.store import Event, Project, Session, Store, Trigger

#: The most events one page lists.
MAX_EVENTS_PAGE = 1000


class EventService:
    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        *,
        projects: ProjectService,
        triggers: TriggerService,
        sessions: SessionService,
        dispatch: EventDispatch,
        signals: SignalWaits,
    ) -> None:
        self._store = store
        self._committer = committer
        self._projects = projects
        self._triggers = triggers
        self._sessions = sessions
        self._dispatch = dispatch
        self._signals = signals
        #: Over a shared database, the version of each project's subscriptions the index holds.
        self._versions: dict[str, int] = {}

    def load(self) -> None:
        """Index the live subscriptions recorded before a restart."""
        for sub in self._store.live_subscriptions():
            self._dispatch.add(sub)

    def _fresh(self, project_id: str) -> None:
        """Over a shared database, sessions in other processes subscribe and unsubscribe: where the project's
        subscriptions moved on since the index read them (their version, bumped in the same commits), read
        them again. The version is read first, so the index is never older than the version it records."""
        if not self._store.shared:
            return  # this process makes every change, and indexes it as it does
        version = self._store.subscription_version(project_id)
        if self._versions.get(project_id) != version:
            self._dispatch.replace_project(project_id, self._store.live_subscriptions(project_id))
            self._versions[project_id] = version

    # -- events in -----------------------------------------------------------------------------
    def receive_webhook(self, trigger: Trigger, request: WebhookRequest) -> tuple[Event, str | None]:
        """A request to a webhook trigger: the event, and the session it started when it matched."""
        project = self._projects.get(trigger.project_id)
        event, started = self.receive(project, trigger.name, request.method.lower(), event_data(request))
        return event, started[0] if started else None

    def send(self, project: Project, source: str, event_type: str, data: dict[str, Any]) -> tuple[Event, list[str]]:
        """An event injected into a trigger or connection (API, `purr events send`, integrations)."""
        known = self._triggers.sources(project)
        if source not in known:
            raise NotFoundError(
                f"project {project.name!r} has no trigger or connection named {source!r}",
                hint=f"send to one of: {', '.join(sorted(known)) or 'none (declare one in purrflow.yaml)'}",
            )
        return self.receive(project, source, event_type, data)

    def tick(self, project: Project, trigger: Trigger) -> None:
        """A schedule trigger's tick."""
        self.receive(project, trigger.name, "tick", {})

    def receive(self, project: Project, source: str, event_type: str, data: dict[str, Any]) -> tuple[Event, list[str]]:
        """Store an event; start matching triggers' sessions; queue it for matching subscriptions.

        All in one savepoint of the caller's write batch, so one commit (one fsync) makes the event and
        what it started durable together: an event is never dispatched before it is stored, and a crash
        before the commit loses the request (which was not answered) rather than half of it."""
        with self._committer.write():
            event = self._store.add_event(project.id, source, event_type, data)
            return event, self._deliver(project, event)

    def _deliver(self, project: Project, event: Event) -> list[str]:
        """Start the sessions of the triggers that match the event, queue it for the subscriptions that
        want it; the started sessions' ids. The caller holds the write (and its savepoint)."""
        source, event_type, data = event.source, event.event_type, event.data
        started = [
            self._sessions.create(
                project,
                trigger.call,
                data,
                event_type=event_type,
                event_id=event.id,
                trigger_name=trigger.name,
                durable=bool(trigger.spec.get("is_durable", True)),
            )
            for trigger in self._triggers.of_project(project)
            if trigger.call and self._dispatch.trigger_wants(trigger, source, event_type, data, event.id)
        ]
        self._fresh(project.id)
        subscribers = self._dispatch.subscribers(project.id, source, event_type, data, event.id)
        if subscribers:
            # `source` answers `next_event(...).connection_id` (the trigger or connection it came from)
            payload = pickle.dumps({"data": data, "event_type": event_type, "event_id": event.id, "source": source})
            for sub in subscribers:
                self._signals.send(project.id, sub.session_id, sub.id, payload)
        return started

    # -- events stored -------------------------------------------------------------------------
    def get(self, team_id: str, event_id: str) -> Event:
        """The team's event `event_id`, or the one whose id starts with it (`services/ids.py`), with its
        data; another team's events do not exist for it."""
        event = self._store.get_event(ids.resolve(self._store, ids.EVENT, team_id, event_id))
        if event is None:  # deleted between the two reads
            raise NotFoundError(f"no event {event_id!r}", hint=ids.EVENT.listing)
        return event

    def recent(
        self,
        team_id: str,
        *,
        project: Project | None = None,
        source: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> list[Event]:
        """The team's events newest first. `before` is the id of the last event of the previous page: the
        next page starts after it (keyset paging, so a page stays right while new events arrive)."""
        if not 1 <= limit <= MAX_EVENTS_PAGE:
            raise InvalidInputError(f"limit {limit} is out of range", hint=f"ask for 1 to {MAX_EVENTS_PAGE} events")
        after = self.get(team_id, before) if before else None
        return self._store.list_events(
            team_id,
            project_id=project.id if project else None,
            source=source,
            before=(after.created_at, after.id) if after else None,
            limit=limit,
        )

    def started_by(self, event: Event) -> list[str]:
        """The sessions the event started (when it arrived, redispatched, or rerun from its sessions)."""
        return self._store.session_ids_of_event(event.id)

    def redispatch(self, team_id: str, event_id: str) -> list[str]:
        """The same event received again: it starts the triggers that match it now (today's deployment,
        today's filters) and reaches the subscriptions live now; the new sessions' ids. The event is not
        stored twice: the new sessions name it as theirs, as its first sessions do."""
        event = self.get(team_id, event_id)
        with self._committer.write():
            return self._deliver(self._projects.get(event.project_id), event)

    # -- subscriptions (a session's host operations) -------------------------------------------
    def subscribe(self, session: Session, source: str, expression: str) -> str:
        known = self._triggers.sources(self._projects.get(session.project_id))
        if source not in known:
            raise InvalidInputError(
                f"subscribe(): project {session.project_name!r} has no trigger or connection named {source!r}",
                hint=f"subscribe to one of: {', '.join(sorted(known)) or 'none'}",
            )
        if pure_equality(expression) is None:  # a pure equality is valid CEL, and is never compiled
            Filter.compile(expression, where=f"subscribe({source!r})")  # refused here, with its position
        with self._committer.write(atomic=False):
            sub = self._store.add_subscription(session.id, session.project_id, source, expression.strip())
        self._dispatch.add(sub)
        return sub.id

    def check_owned(self, session: Session, subscription_ids: tuple[str, ...]) -> None:
        """Raise unless every id is a live subscription of the session (`next_event`'s arguments)."""
        self._fresh(session.project_id)
        self._dispatch.check_owned(session.id, subscription_ids)

    def unsubscribe(self, session: Session, subscription_id: str) -> None:
        self._fresh(session.project_id)
        if not self._dispatch.owns(session.id, subscription_id):
            raise InvalidInputError(f"unsubscribe(): {subscription_id!r} is not a live subscription of this session")
        with self._committer.write(atomic=False):
            self._store.end_subscription(subscription_id)
        self._dispatch.remove(subscription_id)
