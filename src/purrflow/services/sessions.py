"""Sessions: starting them (by trigger name, code location, as a child or as a team's workflow), stopping
them, recording their end, signals between them, and reading them back — scoped to a team.

A session is created inside the caller's write batch and driven once that batch is committed
(`on_created`), so a crash can never leave a session running that the database does not know, nor a
child started twice by a replayed parent.
"""

from __future__ import annotations

import asyncio
import base64
import math
import pickle
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.deploy import DeploymentFiles, check_entrypoint
from purrflow.engine.dispatch import EventDispatch
from purrflow.engine.logs import LogBus, LogItem, SessionEnded
from purrflow.engine.notices import Notices
from purrflow.engine.seams import SessionCallback, SessionEnd
from purrflow.engine.signals import SignalWaits
from purrflow.engine.sync import HttpResponse, SyncResponses
from purrflow.errors import InvalidInputError, NotFoundError, PurrflowError, SessionStateError
from purrflow.services import ids
from purrflow.services.projects import ProjectService
from purrflow.services.triggers import TriggerService
from purrflow.store import FINAL_STATES, SESSION_STATES, LogRecord, Project, Session, SessionError, SessionFilter, Store

#: Sessions removed per write when many are deleted (`delete_ended`).
DELETE_BATCH = 500


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
        notices: Notices,
        on_created: SessionCallback,
        on_stopped: SessionCallback,
        on_deleted: Callable[[list[str]], None],
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
        self._notices = notices
        self._on_created = on_created
        self._on_stopped = on_stopped
        self._on_deleted = on_deleted
        self._change_watchers: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)
        self._pending = 0
        # Sessions that other processes start (a parent on a worker) and end reach this one's watchers too.
        notices.on("created", lambda session_id, team_id: self._announce_change(team_id, session_id))
        notices.on("ended", lambda session_id, team_id, _state: self._announce_change(team_id, session_id))

    @property
    def pending(self) -> int:
        """Sessions created but not yet handed to the orchestrator (their commit is under way)."""
        return self._pending

    # -- reading -------------------------------------------------------------------------------
    def get(self, team_id: str, session_id: str) -> Session:
        """The team's session `session_id`, or the one whose id starts with it (`services/ids.py`);
        another team's sessions do not exist for it."""
        session = self._store.get_session(ids.resolve(self._store, ids.SESSION, team_id, session_id))
        if session is None:  # deleted between the two reads
            raise NotFoundError(f"no session {session_id!r}", hint=ids.SESSION.listing)
        return session

    def lookup(self, session_id: str) -> Session | None:
        return self._store.get_session(session_id)

    def recent(
        self,
        team_id: str,
        *,
        project: Project | None = None,
        state: str | None = None,
        filters: SessionFilter | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> list[Session]:
        """The team's sessions newest first; `before` is the cursor a `page` handed out."""
        wanted = filters or SessionFilter()
        if state is not None:
            wanted = replace(wanted, states=(*wanted.states, state))
        for name in wanted.states:
            if name not in SESSION_STATES:
                raise InvalidInputError(
                    f"{name!r} is not a session state", hint=f"use one of: {', '.join(sorted(SESSION_STATES))}"
                )
        if wanted.since is not None and wanted.until is not None and wanted.since >= wanted.until:
            raise InvalidInputError("`since` must be earlier than `until`", hint="swap the two times")
        return self._store.list_sessions(
            team_id,
            project_id=project.id if project else None,
            filters=wanted,
            before=_read_cursor(before) if before else None,
            limit=limit,
        )

    def page(
        self,
        team_id: str,
        *,
        project: Project | None = None,
        filters: SessionFilter | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> SessionPage:
        """One page of `recent`, with the cursor of the next (older) page when there is one."""
        found = self.recent(team_id, project=project, filters=filters, before=before, limit=limit + 1)
        more = len(found) > limit
        sessions = found[:limit]
        return SessionPage(sessions, cursor_of(sessions[-1]) if more else None)

    def changed_since(self, team_id: str, since: float) -> list[Session]:
        """The team's sessions created or moved on after `since` (their `updated_at`), oldest first."""
        return self._store.sessions_changed(team_id, since)

    def watch_changes(self, team_id: str) -> asyncio.Queue[str]:
        """The id of each of the team's sessions as it is created or ends, once that is committed;
        `unwatch_changes` when done. The orchestrator's own moves (queued, running, waiting) are not
        announced: read them with `changed_since`."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._change_watchers[team_id].add(queue)
        return queue

    def unwatch_changes(self, team_id: str, queue: asyncio.Queue[str]) -> None:
        watchers = self._change_watchers.get(team_id)
        if watchers is not None:
            watchers.discard(queue)
            if not watchers:
                del self._change_watchers[team_id]

    def _announce_change(self, team_id: str, session_id: str) -> None:
        for queue in self._change_watchers.get(team_id, ()):
            queue.put_nowait(session_id)

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
            self._notices.publish("created", session_id, project.team_id)
        created = self._on_created
        self._pending += 1

        def announce() -> None:
            self._pending -= 1
            created(session_id)
            self._announce_change(project.team_id, session_id)

        def aborted() -> None:
            self._pending -= 1

        self._committer.after_commit(announce, aborted)
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
        """`http_outcome`: the synchronous webhook's answer, given once the step is durable. Over a shared
        database it is kept too, for the server holding the request may be another process."""
        responses = self._responses
        if self._notices.shared:
            with self._committer.write(atomic=False):
                status, headers, body = response.status_code, response.headers, response.body
                if self._store.save_webhook_answer(session.id, status, headers, body):
                    self._notices.publish("answer", session.id)

        def answer() -> None:
            responses.resolve(session.id, response)

        self._committer.after_commit(answer)

    # -- ending --------------------------------------------------------------------------------
    def stop(self, team_id: str, session_id: str, reason: str = "") -> Session:
        session = self.get(team_id, session_id)
        if session.is_final:
            raise SessionStateError(f"session {session.id} has already ended ({session.state})")
        self._on_stopped(session.id)
        message = f"stopped: {reason}" if reason else "stopped by request"
        self.finish(session.id, SessionEnd("stopped", error=SessionError("Stopped", message)))
        return self.get(team_id, session.id)

    def finish(self, session_id: str, end: SessionEnd) -> None:
        """Record the end; a child also signals its parent with {"completed", "value"} (AutoKitteh's rule)."""
        with self._committer.write():
            self._store.finish_session(
                session_id, state=end.state, result=end.result, result_repr=end.result_repr, error=end.error
            )
            self._dispatch.forget_session(session_id)
            session = self._store.get_session(session_id)
            team_id = self._projects.team_of(session.project_id) if session is not None else None
            if team_id is not None:
                self._notices.publish("ended", session_id, team_id, end.state)
            if session is not None and session.parent_id:
                completion = end.completion
                if completion is None:
                    message = end.error.message if end.error else None
                    completion = pickle.dumps({"completed": end.state == "completed", "value": None, "error": message})
                self._signals.send(session.project_id, session.parent_id, session_id, completion)
        self._committer.after_commit(lambda: self._announce_end(session_id, end.state, team_id))

    def _announce_end(self, session_id: str, state: str, team_id: str | None) -> None:
        self._responses.ended(session_id, state)
        self._logs.publish(session_id, [SessionEnded(state)])
        if team_id is not None:
            self._announce_change(team_id, session_id)

    # -- deleting ------------------------------------------------------------------------------
    def delete(self, team_id: str, session_ids: Sequence[str]) -> int:
        """Remove the team's ended sessions and everything that is theirs (their rows in one commit, their
        state folders once it is committed); how many.

        A session still under way is refused (and then nothing is removed): its runner would go on
        writing for a session that no longer exists."""
        found = [self.get(team_id, session_id) for session_id in dict.fromkeys(session_ids)]
        live = next((s for s in found if not s.is_final), None)
        if live is not None:
            raise SessionStateError(
                f"session {live.id} is still {live.state}; only an ended session can be deleted",
                hint=f"stop it first: `purr sessions stop {live.id}`",
            )
        return self._delete([s.id for s in found])

    def delete_ended(
        self,
        *,
        ended_before: float,
        team_id: str | None = None,
        project_id: str | None = None,
        state: str | None = None,
        server_retention: bool = False,
        limit: int = DELETE_BATCH,
    ) -> int:
        """Remove at most `limit` ended sessions (of one team, one project, in one final state, of the
        projects without a retention of their own, or all) that ended before `ended_before`, oldest first,
        in one commit; how many. Callers deleting many call again until fewer than `limit` go, committing
        in between, so that no one write holds the database for long."""
        ids = self._store.ended_session_ids(
            ended_before=ended_before,
            team_id=team_id,
            project_id=project_id,
            states=self._final_states(state),
            server_retention=server_retention,
            limit=limit,
        )
        return self._delete(ids) if ids else 0

    def delete_of_project(self, project_id: str) -> int:
        """Remove every ended session of a project (joins the caller's write batch: deleting the project)."""
        deleted = 0
        while batch := self.delete_ended(ended_before=math.inf, project_id=project_id):
            deleted += batch
        return deleted

    def _delete(self, session_ids: list[str]) -> int:
        """Remove the sessions' rows in one commit; then what they had on disk goes (`on_deleted`)."""
        with self._committer.write():
            deleted = self._store.delete_sessions(session_ids)
        on_deleted = self._on_deleted
        self._committer.after_commit(lambda: on_deleted(session_ids))
        return deleted

    def count_ended(
        self, *, ended_before: float, team_id: str, project_id: str | None = None, state: str | None = None
    ) -> int:
        """How many sessions `delete_ended` would remove in all (what a person is asked to confirm)."""
        return self._store.count_ended_sessions(
            ended_before=ended_before, team_id=team_id, project_id=project_id, states=self._final_states(state)
        )

    @staticmethod
    def _final_states(state: str | None) -> frozenset[str]:
        if state is None:
            return FINAL_STATES
        if state not in FINAL_STATES:
            raise InvalidInputError(
                f"{state!r} is not the state of an ended session",
                hint=f"use one of: {', '.join(sorted(FINAL_STATES))} (a live session cannot be deleted)",
            )
        return frozenset({state})


@dataclass(frozen=True, slots=True)
class SessionPage:
    sessions: list[Session]
    next: str | None  # the cursor of the next, older page; None on the last


def cursor_of(session: Session) -> str:
    """An opaque cursor: the page after it starts with the next older session (keyset, never OFFSET)."""
    return base64.urlsafe_b64encode(f"{session.created_at!r} {session.id}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[float, str]:
    try:
        created, session_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(" ", 1)
        return float(created), session_id
    except ValueError:
        raise InvalidInputError(
            f"{cursor!r} is not a session cursor", hint="pass the `next` value a listing answered, unchanged"
        ) from None
