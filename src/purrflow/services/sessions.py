"""Sessions: starting them (by trigger name, code location, as a child or as a team's workflow), stopping
them, recording their end, signals between them, and reading them back — scoped to a team.

A session is created inside the caller's write batch and driven once that batch is committed
(`on_created`), so a crash can never leave a session running that the database does not know, nor a
child started twice by a replayed parent.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Mapping
from typing import Any

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.deploy import DeploymentFiles, check_entrypoint
from purrflow.engine.dispatch import EventDispatch
from purrflow.engine.logs import LogBus, LogItem, SessionEnded
from purrflow.engine.seams import SessionCallback, SessionEnd
from purrflow.engine.signals import SignalWaits
from purrflow.engine.sync import HttpResponse, SyncResponses
from purrflow.errors import InvalidInputError, NotFoundError, PurrflowError, SessionStateError
from purrflow.services.projects import ProjectService
from purrflow.services.triggers import TriggerService
from purrflow.store import SESSION_STATES, LogRecord, Project, Session, SessionError, Store

#: What a synchronous webhook answers when its session ends without `http_outcome`.
_END_STATUS = {"completed": 200, "error": 500, "stopped": 503}


class SessionService:
    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        *,
        projects: ProjectService,
        triggers: TriggerService,
        deployments: DeploymentFiles,
        signals: SignalWaits,
        dispatch: EventDispatch,
        logs: LogBus,
        responses: SyncResponses,
        on_created: SessionCallback,
        on_stopped: SessionCallback,
    ) -> None:
        self._store = store
        self._committer = committer
        self._projects = projects
        self._triggers = triggers
        self._deployments = deployments
        self._signals = signals
        self._dispatch = dispatch
        self._logs = logs
        self._responses = responses
        self._on_created = on_created
        self._on_stopped = on_stopped

    # -- reading -------------------------------------------------------------------------------
    def get(self, team_id: str, session_id: str) -> Session:
        """The team's session `session_id`; another team's sessions do not exist for it."""
        session = self._store.get_session(session_id)
        if session is None or self._projects.team_of(session.project_id) != team_id:
            raise NotFoundError(f"no session {session_id!r}", hint="list sessions with `purr sessions list`")
        return session

    def lookup(self, session_id: str) -> Session | None:
        return self._store.get_session(session_id)

    def recent(
        self, team_id: str, *, project: Project | None = None, state: str | None = None, limit: int = 50
    ) -> list[Session]:
        if state is not None and state not in SESSION_STATES:
            raise InvalidInputError(
                f"{state!r} is not a session state", hint=f"use one of: {', '.join(sorted(SESSION_STATES))}"
            )
        return self._store.list_sessions(team_id, project_id=project.id if project else None, state=state, limit=limit)

    def counts(self, team_id: str) -> dict[str, int]:
        return self._store.count_sessions_by_state(team_id)

    def log_lines(self, session: Session, *, after: int = 0) -> list[LogRecord]:
        return self._store.read_logs(session.id, after=after)

    def watch(self, session: Session) -> asyncio.Queue[LogItem]:
        """Each log line of the session as it is committed, then its end. Watch before reading the
        lines so far, so that no line falls in between; `unwatch` when done."""
        return self._logs.subscribe(session.id)

    def watch_all(self) -> asyncio.Queue[tuple[str, LogItem]]:
        """Every session's log lines and ends, with its id (`purr run` shows the sessions a run starts)."""
        return self._logs.subscribe_all()

    def unwatch(self, session: Session, queue: asyncio.Queue[LogItem]) -> None:
        self._logs.unsubscribe(session.id, queue)

    # -- starting ------------------------------------------------------------------------------
    def create(
        self,
        project: Project,
        entrypoint: str,
        data: dict[str, Any],
        *,
        deployment_id: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        trigger_name: str | None = None,
        parent_id: str | None = None,
        memo: Mapping[str, Any] | None = None,
        durable: bool = True,
        user_id: str | None = None,
    ) -> str:
        """Create a session (joining the current write batch); it is driven once that is committed.

        It runs for `user_id`, or for the project's owner when nobody in particular started it.
        """
        deployment_id = deployment_id or project.deployment_id
        if deployment_id is None:
            raise NotFoundError(f"project {project.name!r} has no deployment", hint="run `purr deploy` first")
        with self._committer.write(atomic=False):
            session_id = self._store.create_session(
                project_id=project.id,
                deployment_id=deployment_id,
                entrypoint=entrypoint,
                event={"event_type": event_type, "event_id": event_id, "data": data},
                trigger_name=trigger_name,
                event_id=event_id,
                parent_id=parent_id,
                memo=dict(memo or {}),
                durable=durable,
                user_id=user_id or project.owner_id,
            )
        created = self._on_created
        self._committer.after_commit(lambda: created(session_id))
        return session_id

    def start(
        self,
        project: Project,
        name: str | None,
        data: dict[str, Any],
        *,
        memo: Mapping[str, Any] | None = None,
        user_id: str | None = None,
    ) -> str:
        """A session started by a person (API, CLI, `purr run`): `name` is a trigger of the project, a
        code location (`file.py:function`, `ops:<command>`), or None for the one thing its triggers call."""
        if project.deployment_id is None:
            raise NotFoundError(f"project {project.name!r} has no deployment", hint="run `purr deploy` first")
        target = self._triggers.target(project, name) if name else None
        entrypoint = target.entrypoint if target else self._triggers.default_target(project)
        try:
            check_entrypoint(self._deployments.ensure(project.deployment_id), entrypoint)
        except PurrflowError as err:
            names = ", ".join(sorted(self._triggers.runnable(project))) or "none"
            raise InvalidInputError(
                f"{entrypoint!r} is no trigger of the project, and not a function to run: {err.message}",
                hint=f"name a trigger ({names}) or a function as file.py:function",
            ) from None
        trigger = target.trigger if target else None
        return self.create(
            project,
            entrypoint,
            data,
            memo=memo,
            user_id=user_id,
            trigger_name=trigger.name if trigger is not None else None,
        )

    def start_child(self, parent: Session, loc: str, data: dict[str, Any], memo: Mapping[str, str]) -> str:
        """AutoKitteh's `start(loc, …)`: a child of `parent` on the parent's deployment, for its user."""
        check_entrypoint(self._deployments.ensure(parent.deployment_id), loc)
        return self.create(
            self._projects.get(parent.project_id),
            loc,
            data,
            deployment_id=parent.deployment_id,
            parent_id=parent.id,
            memo=memo,
            user_id=parent.user_id,
        )

    def start_workflow(self, caller: Session, name: str, data: dict[str, Any]) -> str:
        """CTO.ai's start(workflowName): a trigger of the caller's project, or `project/trigger` of its team."""
        project_name, _, trigger_name = name.rpartition("/")
        project = self._projects.get(caller.project_id)
        if project_name:
            found = self._store.get_project_by_name(project.team_id, project_name)
            if found is None:
                raise NotFoundError(f"start({name!r}): your team has no project {project_name!r}")
            project = found
        trigger = self._triggers.workflow(project, trigger_name, where=f"start({name!r})")
        assert trigger.call is not None  # workflows are triggers that call something
        return self.create(
            project, trigger.call, data, trigger_name=trigger.name, event_type="start", user_id=caller.user_id
        )

    # -- signals -------------------------------------------------------------------------------
    def signal(self, sender: Session, target: str | None, name: str, payload: bytes) -> int:
        """A project-wide signal (`target` None) or one for a session of the sender's team."""
        if target is None:
            return self._signals.send(sender.project_id, None, name, payload)
        receiver = self._store.get_session(target)
        if receiver is None or self._projects.team_of(receiver.project_id) != self._projects.team_of(sender.project_id):
            raise NotFoundError(f"signal(): no session {target!r}", hint="pass the id that start() returned")
        if receiver.is_final:
            raise SessionStateError(f"signal(): session {target} has already ended ({receiver.state})")
        return self._signals.send(receiver.project_id, target, name, payload)

    def expect_answer(self, session_id: str) -> asyncio.Future[HttpResponse]:
        """The answer a synchronous webhook waits for: the session's first `http_outcome`, or its end."""
        return self._responses.expect(session_id)

    def forget_answer(self, session_id: str) -> None:
        self._responses.forget(session_id)

    def answer_webhook(self, session: Session, response: HttpResponse) -> None:
        """`http_outcome`: the synchronous webhook's answer, given once the step is durable."""
        responses = self._responses

        def answer() -> None:
            responses.resolve(session.id, response)

        self._committer.after_commit(answer)

    # -- ending --------------------------------------------------------------------------------
    def stop(self, team_id: str, session_id: str, reason: str = "") -> Session:
        session = self.get(team_id, session_id)
        if session.is_final:
            raise SessionStateError(f"session {session_id} has already ended ({session.state})")
        self._on_stopped(session_id)
        message = f"stopped: {reason}" if reason else "stopped by request"
        self.finish(session_id, SessionEnd("stopped", error=SessionError("Stopped", message)))
        return self.get(team_id, session_id)

    def finish(self, session_id: str, end: SessionEnd) -> None:
        """Record the end; a child also signals its parent with {"completed", "value"} (AutoKitteh's rule)."""
        with self._committer.write():
            self._store.finish_session(
                session_id, state=end.state, result=end.result, result_repr=end.result_repr, error=end.error
            )
            self._signals.forget(session_id)
            self._dispatch.forget_session(session_id)
            session = self._store.get_session(session_id)
            if session is not None and session.parent_id:
                completion = end.completion
                if completion is None:
                    message = end.error.message if end.error else None
                    completion = pickle.dumps({"completed": end.state == "completed", "value": None, "error": message})
                self._signals.send(session.project_id, session.parent_id, session_id, completion)
        self._committer.after_commit(lambda: self._announce_end(session_id, end.state))

    def _announce_end(self, session_id: str, state: str) -> None:
        self._responses.resolve(session_id, HttpResponse(status_code=_END_STATUS.get(state, 500)))
        self._logs.publish(session_id, [SessionEnded(state)])
