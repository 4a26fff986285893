"""A project's connections: their credentials (encrypted with the team's secret key, never shown), how
they authenticate, whether they work, and the signed deliveries that reach them.

Credentials go in through `init` (a mode's fields, checked against the integration's catalog entry) or
`set` (any fields, merged); sessions get them as `<connection>__<field>` variables. `test` asks the
service itself and records the answer, which `purr connections list` shows. An integration that sends
signed events (Slack, GitHub) has one inbound URL per connection; a delivery is verified with the
connection's secret before anything is stored, and a retried one starts nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from purrflow.connectors import registry
from purrflow.connectors.base import Challenge, Delivery, Inbound, Rejected
from purrflow.engine.commit import GroupCommitter
from purrflow.engine.secretbox import SecretBox
from purrflow.errors import InvalidInputError, NotFoundError
from purrflow.rules.connections import check_field_names, integration_of
from purrflow.services.events import EventService
from purrflow.services.projects import ProjectService
from purrflow.store import ConnectionRecord, Project, Store

log = logging.getLogger("purrflow.connections")

#: How a secret field's value is shown.
HIDDEN = "(hidden)"


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """What may be shown of a connection: secret fields' values are never in it."""

    name: str
    integration: str
    auth_mode: str
    fields: dict[str, str]
    status: str
    status_detail: str
    checked_at: float | None
    inbound_url: str | None


@dataclass(frozen=True, slots=True)
class InboundAnswer:
    """What the inbound route answers: a handshake, the sessions a delivery started, or a refusal."""

    status: int
    message: str = ""
    challenge: str | None = None
    event_id: str | None = None
    session_ids: tuple[str, ...] = ()
    duplicate: bool = False
    #: A body to answer with (Slack's answer to a modal's submission).
    reply: dict[str, Any] | None = None


class ConnectionService:
    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        box: SecretBox,
        *,
        projects: ProjectService,
        events: EventService,
        public_url: str,
        on_tokens_due: Callable[[], None] = lambda: None,
        interactions: Callable[[ConnectionRecord, dict[str, Any]], InboundAnswer | None] = lambda r, p: None,
    ) -> None:
        self._store = store
        self._committer = committer
        self._box = box
        self._projects = projects
        self._events = events
        self._public_url = public_url.rstrip("/")
        self._on_tokens_due = on_tokens_due
        self._interactions = interactions

    def load(self) -> None:
        """Seal the fields a store from before encryption holds in clear."""
        legacy = self._store.connections_in_clear()
        if not legacy:
            return
        with self._committer.write():
            for record in legacy:
                merged = self.fields(record) | record.legacy_fields
                self._store.put_connection_fields(record.id, self._seal(merged))
        log.info("encrypted the fields of %d connection(s) stored in clear", len(legacy))

    # -- reading -------------------------------------------------------------------------------
    def views(self, project: Project) -> list[ConnectionView]:
        return [self._view(record) for record in self._store.connections_of(project.id)]

    def view(self, project: Project, name: str) -> ConnectionView:
        return self._view(self.record(project, name))

    def fields_of(self, project_id: str) -> dict[str, dict[str, str]]:
        """Each connection's fields in clear, for its sessions' environment only."""
        return {record.name: self.fields(record) for record in self._store.connections_of(project_id)}

    def inbound_url(self, record: ConnectionRecord) -> str | None:
        integration = integration_of(record.integration)
        if integration is None or integration.inbound is None:
            return None
        return f"{self._public_url}/inbound/{integration.inbound}/{record.id}"

    # -- credentials ---------------------------------------------------------------------------
    def set(self, project: Project, name: str, values: Mapping[str, str | None]) -> ConnectionView:
        """Merge fields into a connection (None removes one)."""
        check_field_names(list(values))
        record = self.record(project, name)
        merged = self.fields(record)
        for key, value in values.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        with self._committer.write(atomic=False):
            self._store.put_connection_fields(record.id, self._seal(merged))
        return self.view(project, name)

    def init(self, project: Project, name: str, auth_mode: str | None, values: Mapping[str, str]) -> ConnectionView:
        """Set a connection's credentials afresh for one of its integration's auth modes; every field the
        mode requires must be there (the CLI asks for them)."""
        check_field_names(list(values))
        record = self.record(project, name)
        integration = integration_of(record.integration)
        if integration is None:
            raise InvalidInputError(
                f"purrflow has no catalog entry for {record.integration!r}, so it cannot tell what "
                f"connection {name!r} needs",
                hint=f"set its fields directly: purr connections set {project.name} {name} FIELD=VALUE …",
            )
        mode = integration.mode(auth_mode)
        fields = {key: value for key, value in values.items() if value}
        for target, source in mode.derived:
            fields.setdefault(target, fields.get(source, ""))
        missing = mode.missing(fields)
        if missing:
            raise InvalidInputError(
                f"{integration.title} connection {name!r} ({mode.name}) needs "
                + ", ".join(f"{f.name} ({f.prompt})" for f in missing),
                hint=f"purr connections init {project.name} {name} --auth {mode.name} "
                + " ".join(f"{f.name}=…" for f in missing),
            )
        fields["auth_type"] = mode.name
        minted = record.integration == "github" and mode.name == "app"  # installation tokens, by the host
        with self._committer.write():
            self._store.put_connection_fields(record.id, self._seal(fields), mode.name)
            self._store.set_token_refresh_at(record.id, time.time() if minted else None)
        if minted:
            self._committer.after_commit(self._on_tokens_due)
        return self.view(project, name)

    async def test(self, project: Project, name: str) -> ConnectionView:
        """Ask the service whether the credentials work (off the event loop), and record its answer."""
        record = self.record(project, name)
        if record.sealed_fields is None:
            raise InvalidInputError(
                f"connection {name!r} has no credentials yet",
                hint=f"purr connections init {project.name} {name}",
            )
        result = await asyncio.to_thread(registry.probe, record.integration, record.auth_mode, self.fields(record))
        with self._committer.write(atomic=False):
            self._store.put_connection_status(record.id, "ok" if result.ok else "error", result.detail)
        return self.view(project, name)

    def store_tokens(
        self, record: ConnectionRecord, tokens: Mapping[str, str], *, refresh_at: float | None, detail: str
    ) -> None:
        """Merge tokens an OAuth grant or refresh yielded into the connection's fields, in one write: the
        old ones stay until the new ones are committed."""
        with self._committer.write():
            self._store.put_connection_fields(record.id, self._seal(self.fields(record) | dict(tokens)))
            self._store.put_connection_status(record.id, "ok", detail)
            self._store.set_token_refresh_at(record.id, refresh_at)

    def record_failure(self, record: ConnectionRecord, detail: str, *, retry_at: float | None = None) -> None:
        with self._committer.write():
            self._store.put_connection_status(record.id, "error", detail)
            self._store.set_token_refresh_at(record.id, retry_at)

    # -- inbound deliveries --------------------------------------------------------------------
    def receive(self, integration: str, connection_id: str, headers: Mapping[str, str], body: bytes) -> InboundAnswer:
        """A delivery to a connection's inbound URL: verified with the connection's secret, then stored as
        an event of the connection (starting its triggers, reaching its subscriptions) unless it is a
        retry of one already taken. A refused delivery stores nothing."""
        record = self._store.get_connection_by_id(connection_id)
        if record is None or record.integration != integration:
            return InboundAnswer(404, f"no {integration} connection {connection_id!r}")
        outcome: Inbound = registry.receive(integration, self.fields(record), headers, body)
        if isinstance(outcome, Rejected):
            log.warning("refused a delivery to %s connection %s: %s", integration, record.name, outcome.message)
            return InboundAnswer(outcome.status, outcome.message)
        if isinstance(outcome, Challenge):
            return InboundAnswer(200, challenge=outcome.text)
        assert isinstance(outcome, Delivery)
        if outcome.event_type == "interaction":  # an answer to a prompt asked in Slack is not an event
            taken = self._interactions(record, outcome.data)
            if taken is not None:
                return taken
        project = self._projects.get(record.project_id)
        with self._committer.write():
            if outcome.delivery_id and not self._store.take_delivery(record.id, outcome.delivery_id):
                return InboundAnswer(200, "already received", duplicate=True)
            event, started = self._events.receive(project, record.name, outcome.event_type, outcome.data)
        return InboundAnswer(200, event_id=event.id, session_ids=tuple(started))

    # -- inside --------------------------------------------------------------------------------
    def record(self, project: Project, name: str) -> ConnectionRecord:
        record = self._store.get_connection(project.id, name)
        if record is None:
            known = self._store.list_connections(project.id)
            raise NotFoundError(
                f"project {project.name!r} has no connection named {name!r}",
                hint=f"its connections: {', '.join(known)}" if known else "declare it in purrflow.yaml",
            )
        return record

    def fields(self, record: ConnectionRecord) -> dict[str, str]:
        if record.sealed_fields is None:
            return dict(record.legacy_fields)
        fields: dict[str, str] = json.loads(self._box.decrypt(record.sealed_fields))
        return fields

    def _seal(self, fields: Mapping[str, str]) -> bytes:
        return self._box.encrypt(json.dumps(dict(fields), sort_keys=True).encode())

    def _view(self, record: ConnectionRecord) -> ConnectionView:
        integration = integration_of(record.integration)
        shown = {
            key: HIDDEN if integration is None or integration.is_secret(key) else value
            for key, value in sorted(self.fields(record).items())
        }
        return ConnectionView(
            name=record.name,
            integration=record.integration,
            auth_mode=record.auth_mode,
            fields=shown,
            status=record.status,
            status_detail=record.status_detail,
            checked_at=record.checked_at,
            inbound_url=self.inbound_url(record),
        )
