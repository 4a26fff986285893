"""Gmail connections' `mailbox_change` events, found by polling each mailbox's history.

Every `poll_interval` seconds (a connection field; 60 by default) the poller reads what changed since the
history id it stored, turns each change into an event of the connection, and moves the stored id — the
events and the new id in one commit, so a crash either delivers a change and remembers it or does neither:
no change is delivered twice. A connection polled for the first time starts from the mailbox's present.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from purrflow.connectors import gmail
from purrflow.engine.commit import GroupCommitter
from purrflow.errors import PurrflowError
from purrflow.services.connections import ConnectionService
from purrflow.services.events import EventService
from purrflow.services.projects import ProjectService
from purrflow.store import ConnectionRecord, Store

log = logging.getLogger("purrflow.mailboxes")

DEFAULT_INTERVAL = 60.0
#: The shortest interval a connection may ask for (Gmail's quota is per user and second).
MIN_INTERVAL = 0.2
#: The poller looks for new or changed connections at least this often.
IDLE_SECONDS = 5.0


class MailboxPoller:
    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        *,
        connections: ConnectionService,
        projects: ProjectService,
        events: EventService,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._committer = committer
        self._connections = connections
        self._projects = projects
        self._events = events
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mailbox-poller")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def poll_due(self) -> None:
        for record in self._store.connections_of_integration("gmail"):
            if record.sealed_fields is None and not record.legacy_fields:
                continue  # no credentials yet
            _, poll_at = self._store.poll_state(record.id)
            if poll_at is None or poll_at <= self._clock():
                await self._poll(record)

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_due()
            except Exception:  # the poller outlives any one failure; each is recorded on its connection
                log.exception("polling mailboxes failed")
            await asyncio.sleep(min(IDLE_SECONDS, self._next_due()))

    def _next_due(self) -> float:
        now, soonest = self._clock(), IDLE_SECONDS
        for record in self._store.connections_of_integration("gmail"):
            _, poll_at = self._store.poll_state(record.id)
            if poll_at is not None:
                soonest = min(soonest, max(0.0, poll_at - now))
        return max(soonest, MIN_INTERVAL / 2)

    async def _poll(self, record: ConnectionRecord) -> None:
        fields = self._connections.fields(record)
        interval = _interval(fields.get("poll_interval", ""))
        cursor, _ = self._store.poll_state(record.id)
        try:
            if cursor is None:
                _, latest = await asyncio.to_thread(gmail.profile, fields)
                changes: list[gmail.MailboxChange] = []
            else:
                latest, changes = await asyncio.to_thread(gmail.changes_since, fields, cursor)
        except PurrflowError as err:
            log.warning("could not poll the mailbox of connection %s: %s", record.name, err.message)
            with self._committer.write():
                self._store.put_connection_status(record.id, "error", f"polling the mailbox failed: {err.message}")
                self._store.set_poll_state(record.id, cursor, self._clock() + max(interval, 30.0))
            return
        if self._store.poll_state(record.id)[0] != cursor:
            return  # polled meanwhile (cannot happen with one poller; cheap to be sure)
        project = self._projects.get(record.project_id)
        with self._committer.write():
            for change in changes:
                data = {
                    "history_id": change.history_id,
                    "messages_added": change.messages_added,
                    "labels_added": change.labels_added,
                }
                self._events.receive(project, record.name, "mailbox_change", data)
            self._store.set_poll_state(record.id, latest, self._clock() + interval)


def _interval(text: str) -> float:
    try:
        return max(MIN_INTERVAL, float(text)) if text else DEFAULT_INTERVAL
    except ValueError:
        return DEFAULT_INTERVAL
