"""What the host does for one session's SDK calls: each host operation is a call of the service that owns
the resource, on behalf of the session (its project, its team, its user).

Each operation runs inside the driver's write batch, together with the journal entry that records its
result, so an effect and its record commit atomically: a crash can never start a child twice or set a
value without the step that did it being journaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from purrflow.engine.sync import HttpResponse
from purrflow.services.analytics import AnalyticsService
from purrflow.services.config import ConfigService
from purrflow.services.events import EventService
from purrflow.services.identity import IdentityService
from purrflow.services.secrets import SecretService
from purrflow.services.sessions import SessionService
from purrflow.services.values import ValueService
from purrflow.store import Session
from purrflow.wire import (
    AddValues,
    CheckAndSetValue,
    ConfigDelete,
    ConfigGet,
    ConfigGetAll,
    ConfigSet,
    DelValue,
    GetTeam,
    GetUser,
    GetValue,
    HttpOutcome,
    ListValueKeys,
    QueryEvents,
    RecordOutcome,
    SecretExists,
    SecretGet,
    SecretSet,
    SendSignal,
    SetValue,
    StartChild,
    StartWorkflow,
    Subscribe,
    Track,
    Unsubscribe,
)


@dataclass(frozen=True)
class HostServices:
    """The services a session's host operations call."""

    sessions: SessionService
    events: EventService
    values: ValueService
    config: ConfigService
    secrets: SecretService
    identity: IdentityService
    analytics: AnalyticsService


class SessionOps:
    """The server's `HostOps`, bound to one session of the team `team_id`."""

    def __init__(self, services: HostServices, session: Session, team_id: str) -> None:
        self._s = services
        self._session = session
        self._team_id = team_id

    # -- sessions ------------------------------------------------------------------------------
    def start(self, op: StartChild) -> str:
        return self._s.sessions.start_child(self._session, op.loc, op.data, op.memo)

    def start_workflow(self, op: StartWorkflow) -> str:
        return self._s.sessions.start_workflow(self._session, op.name, op.data)

    def signal(self, op: SendSignal) -> int:
        return self._s.sessions.signal(self._session, op.target, op.name, op.payload)

    def outcome(self, op: RecordOutcome) -> None:
        """AutoKitteh's outcome(): recorded in the journal (this step) for the session's history."""

    def http_outcome(self, op: HttpOutcome) -> None:
        response = HttpResponse(status_code=op.status_code, body=op.body, headers=op.headers)
        self._s.sessions.answer_webhook(self._session, response)

    def subscribe(self, op: Subscribe) -> str:
        return self._s.events.subscribe(self._session, op.source, op.filter)

    def unsubscribe(self, op: Unsubscribe) -> None:
        self._s.events.unsubscribe(self._session, op.subscription_id)

    # -- the team's configuration and secrets --------------------------------------------------
    def config_get(self, op: ConfigGet) -> str | None:
        return self._s.config.get(self._team_id, op.key)

    def config_get_all(self, op: ConfigGetAll) -> dict[str, str]:
        return self._s.config.all(self._team_id)

    def config_set(self, op: ConfigSet) -> dict[str, str]:
        return self._s.config.set(self._team_id, op.key, op.value)

    def config_delete(self, op: ConfigDelete) -> bool:
        return self._s.config.delete(self._team_id, op.key)

    def secret_get(self, op: SecretGet) -> dict[str, Any]:
        """The secret, or the names to choose from when it is missing."""
        value = self._s.secrets.get(self._team_id, op.key)
        if value is None:
            return {"found": False, "keys": [name for name, _ in self._s.secrets.names(self._team_id)]}
        return {"found": True, "value": value}

    def secret_exists(self, op: SecretExists) -> bool:
        return self._s.secrets.exists(self._team_id, op.key)

    def secret_set(self, op: SecretSet) -> str:
        return self._s.secrets.set(self._team_id, op.key, op.value)

    # -- identity ------------------------------------------------------------------------------
    def user(self, op: GetUser) -> dict[str, str]:
        user = self._s.identity.user(self._session.user_id) if self._session.user_id else None
        if user is None:
            return {"id": "", "username": "", "email": ""}
        return {"id": user.id, "username": user.username, "email": user.email}

    def team(self, op: GetTeam) -> dict[str, str]:
        team = self._s.identity.team(self._team_id)
        return {"id": team.id, "name": team.name}

    # -- values --------------------------------------------------------------------------------
    def get_value(self, op: GetValue) -> bytes | None:
        return self._s.values.get(self._session.project_id, op.key)

    def set_value(self, op: SetValue) -> None:
        self._s.values.set(self._session.project_id, self._session.project_name, op.key, op.value)

    def del_value(self, op: DelValue) -> None:
        self._s.values.delete(self._session.project_id, self._session.project_name, op.key)

    def list_values_keys(self, op: ListValueKeys) -> list[str]:
        return self._s.values.keys(self._session.project_id)

    def check_and_set_value(self, op: CheckAndSetValue) -> bool:
        session = self._session
        return self._s.values.check_and_set(session.project_id, session.project_name, op.key, op.expected, op.new)

    def add_values(self, op: AddValues) -> bytes:
        return self._s.values.add(self._session.project_id, self._session.project_name, op.key, op.amount)

    # -- analytics -----------------------------------------------------------------------------
    def track(self, op: Track) -> None:
        """One event for the session's team, stamped with the session and its user."""
        self._s.analytics.track(
            self._team_id, op.tags, op.event, op.metadata, session_id=self._session.id, user_id=self._session.user_id
        )

    def events(self, op: QueryEvents) -> list[dict[str, Any]]:
        return self._s.analytics.for_session(self._team_id, op.start, op.end)
