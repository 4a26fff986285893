"""What the host does for a session's SDK calls (`CallHost`): values, child sessions, HTTP answers.

Each operation runs inside the driver's write batch, together with the journal entry that records its
result, so an effect and its record commit atomically: a crash can never start a child twice or set a
value without the step that did it being journaled.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from purrflow.engine.analytics import MAX_SESSION_EVENTS, check_track, event_json, parse_window
from purrflow.engine.deploy import check_entrypoint
from purrflow.engine.secrets import check_secret_key
from purrflow.engine.sync import HttpResponse
from purrflow.engine.team_config import check_config
from purrflow.errors import InvalidInputError, NotFoundError, SessionStateError
from purrflow.store import Session

if TYPE_CHECKING:
    from purrflow.engine.engine import Engine


class HostOps:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def perform(self, session: Session, op: str, args: dict[str, Any]) -> Any:
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise InvalidInputError(f"unknown operation {op!r}", hint="the SDK and server versions may differ")
        return handler(session, **args)

    # -- child sessions ------------------------------------------------------------------------
    def op_start(self, session: Session, loc: str, data: dict[str, Any], memo: dict[str, Any]) -> str:
        engine = self.engine
        project_dir = engine.deployments.ensure(session.deployment_id)
        check_entrypoint(project_dir, loc)
        project = engine.store.get_project(session.project_id)
        assert project is not None  # a session's project outlives it
        return engine.create_session(
            project,
            loc,
            data,
            deployment_id=session.deployment_id,
            parent_id=session.id,
            memo=memo,
            user_id=session.user_id,
        )

    def op_start_workflow(self, session: Session, name: str, data: dict[str, Any]) -> str:
        """CTO.ai's start(workflowName): a trigger of this project, or `project/trigger` of the team."""
        engine = self.engine
        project_name, _, trigger_name = name.rpartition("/")
        team_id = self._team(session)
        project = engine.store.get_project(session.project_id)
        if project_name:
            project = engine.store.get_project_by_name(team_id, project_name)
        if project is None:
            raise NotFoundError(f"start({name!r}): your team has no project {project_name!r}")
        triggers = {t.name: t for t in engine.store.list_triggers(project.id) if t.call}
        trigger = triggers.get(trigger_name)
        if trigger is None or trigger.call is None:
            raise NotFoundError(
                f"start({name!r}): project {project.name!r} has no workflow {trigger_name!r}",
                hint=f"its workflows are: {', '.join(sorted(triggers)) or 'none'}",
            )
        return engine.create_session(
            project, trigger.call, data, trigger_name=trigger.name, event_type="start", user_id=session.user_id
        )

    # -- subscriptions -------------------------------------------------------------------------
    def op_subscribe(self, session: Session, source: str, filter: str) -> str:
        return self.engine.events.subscribe(session, source, filter)

    def op_unsubscribe(self, session: Session, subscription_id: str) -> None:
        self.engine.events.unsubscribe(session, subscription_id)

    # -- team configuration ----------------------------------------------------------------------
    def _team(self, session: Session) -> str:
        project = self.engine.store.get_project(session.project_id)
        assert project is not None  # a session's project outlives it
        return project.team_id

    def op_config_get(self, session: Session, key: str) -> str | None:
        check_config(key)
        return self.engine.store.get_config(self._team(session), key)

    def op_config_get_all(self, session: Session) -> dict[str, str]:
        return self.engine.store.all_config(self._team(session))

    def op_config_set(self, session: Session, key: str, value: str) -> dict[str, str]:
        check_config(key, value)
        team_id = self._team(session)
        self.engine.store.set_config(team_id, key, value)
        return self.engine.store.all_config(team_id)

    def op_config_delete(self, session: Session, key: str) -> bool:
        check_config(key)
        return self.engine.store.delete_config(self._team(session), key)

    # -- secrets -------------------------------------------------------------------------------
    def op_secret_get(self, session: Session, key: str) -> dict[str, object]:
        """The secret (its journal entry is sealed), or the names to choose from when it is missing."""
        check_secret_key(key)
        team_id = self._team(session)
        token = self.engine.store.get_secret_ciphertext(team_id, key)
        if token is None:
            return {"found": False, "keys": [name for name, _ in self.engine.store.secret_names(team_id)]}
        return {"found": True, "value": self.engine.secrets.decrypt(token).decode()}

    def op_secret_exists(self, session: Session, key: str) -> bool:
        check_secret_key(key)
        return self.engine.store.get_secret_ciphertext(self._team(session), key) is not None

    def op_secret_set(self, session: Session, key: str, value: str) -> str:
        check_secret_key(key)
        if not isinstance(value, str):
            raise InvalidInputError(f"set_secret({key!r}): the value must be a string")
        self.engine.store.put_secret_ciphertext(self._team(session), key, self.engine.secrets.encrypt(value.encode()))
        return key

    # -- identity ------------------------------------------------------------------------------
    def op_user(self, session: Session) -> dict[str, str]:
        user = self.engine.store.get_user(session.user_id) if session.user_id else None
        if user is None:
            return {"id": "", "username": "", "email": ""}
        return {"id": user.id, "username": user.username, "email": user.email}

    def op_team(self, session: Session) -> dict[str, str]:
        team = self.engine.store.get_team(self._team(session))
        assert team is not None  # a project's team exists
        return {"id": team.id, "name": team.name}

    # -- signals -------------------------------------------------------------------------------
    def op_signal(self, session: Session, target: str | None, name: str, payload: bytes) -> int:
        if target is not None:
            receiver = self.engine.store.get_session(target)
            sender = self.engine.store.get_project(session.project_id)
            owner = self.engine.store.get_project(receiver.project_id) if receiver else None
            if receiver is None or owner is None or sender is None or owner.team_id != sender.team_id:
                raise NotFoundError(f"signal(): no session {target!r}", hint="pass the id that start() returned")
            if receiver.is_final:
                raise SessionStateError(f"signal(): session {target} has already ended ({receiver.state})")
            return self.engine.signals.send(receiver.project_id, target, name, payload)
        return self.engine.signals.send(session.project_id, None, name, payload)

    def op_outcome(self, session: Session, value: bytes) -> None:
        """AutoKitteh's outcome(): recorded in the journal (this step) for the session's history."""

    # -- synchronous webhooks ------------------------------------------------------------------
    def op_http_outcome(
        self, session: Session, status_code: int, headers: dict[str, str], body: bytes, more: bool = False
    ) -> None:
        response = HttpResponse(status_code=status_code, body=body, headers=headers)
        self.engine.committer.after_commit(lambda: self.engine.responses.deliver(session.id, response))

    # -- values --------------------------------------------------------------------------------
    def op_get_value(self, session: Session, key: str) -> bytes | None:
        return self.engine.values.get(session.project_id, key)

    def op_set_value(self, session: Session, key: str, value: bytes) -> None:
        self.engine.values.set(session.project_id, session.project_name, key, value)

    def op_del_value(self, session: Session, key: str) -> None:
        self.engine.values.delete(session.project_id, session.project_name, key)

    def op_list_values_keys(self, session: Session) -> list[str]:
        return self.engine.values.keys(session.project_id)

    def op_check_and_set_value(self, session: Session, key: str, expected: bytes | None, new: bytes) -> bool:
        return self.engine.values.check_and_set(session.project_id, session.project_name, key, expected, new)

    def op_add_values(self, session: Session, key: str, amount: bytes) -> bytes:
        return self.engine.values.add(session.project_id, session.project_name, key, amount)

    # -- analytics -----------------------------------------------------------------------------
    def op_track(self, session: Session, tags: Any, event: Any, metadata: Any) -> None:
        """Store one event for the session's team, stamped with the session and its user."""
        body = check_track(tags, event, metadata)
        self.engine.store.add_analytics_event(
            self._team(session), body["event"], body["tags"], body, session_id=session.id, user_id=session.user_id
        )

    def op_events(self, session: Session, start: Any, end: Any) -> list[dict[str, Any]]:
        """The team's events in [start, end), oldest first; refused rather than cut short when too many."""
        low, high = parse_window(start, end, now=time.time())
        found = self.engine.store.analytics_events(self._team(session), low, high, limit=MAX_SESSION_EVENTS + 1)
        if len(found) > MAX_SESSION_EVENTS:
            raise InvalidInputError(
                f"events(): more than {MAX_SESSION_EVENTS} events fall in the window",
                hint="ask for a shorter window, or several in turn",
            )
        return [event_json(record) for record in found]
