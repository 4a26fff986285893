"""The engine: sessions' lifecycle over a Store and a runner Launcher, on one asyncio loop.

It owns no SQL and no HTTP. The server and the CLI's local run both build an Engine and call it.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import shutil
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.deploy import DeploymentFiles, DeployResult, stage, trigger_rows
from purrflow.engine.driver import SessionDriver
from purrflow.engine.events import EventRouter
from purrflow.engine.logs import LogBus, SessionEnded
from purrflow.engine.ops import HostOps
from purrflow.engine.prompts import Prompts
from purrflow.engine.schedules import Scheduler
from purrflow.engine.secrets import SecretBox
from purrflow.engine.signals import SignalWaits
from purrflow.engine.sync import HttpResponse, SyncResponses
from purrflow.engine.timers import TimerQueue
from purrflow.engine.values import ProjectValues
from purrflow.engine.webhooks import WebhookRequest, event_data
from purrflow.errors import NotFoundError, SessionStateError
from purrflow.orchestrators.runners import Launcher
from purrflow.store import LIVE_STATES, Event, Project, Session, SessionError, Store, Trigger

log = logging.getLogger("purrflow.engine")


@dataclass(frozen=True)
class EngineConfig:
    data_dir: Path
    public_url: str = "http://127.0.0.1:9980"
    #: A wait that ends within this many seconds keeps its runner; a longer one gives the process up.
    hot_wait_seconds: float = 5.0
    #: A suspended sleep's runner is started this early so that it has replayed when the timer is due.
    prewarm_seconds: float = 0.05
    max_values: int = 64
    max_value_bytes: int = 64 * 1024
    #: Schedules' time zone, and whether one missed tick fires after a stall (never a burst).
    timezone: str = "UTC"
    catch_up: bool = False
    #: Where the session's person is: "web" (server: API and UI) or "terminal" (`purr run`), and their OS.
    interface: str = "web"
    host_platform: str = "unknown"


class Engine:
    def __init__(
        self,
        store: Store,
        launcher: Launcher,
        config: EngineConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.launcher = launcher
        self.config = config
        self.clock = clock
        self.committer = GroupCommitter(store)
        self.logs = LogBus()
        self.responses = SyncResponses()
        self.timers = TimerQueue(self._on_timer, clock=clock)
        self.deployments = DeploymentFiles(store, config.data_dir / "deployments")
        self.ops = HostOps(self)
        self.signals = SignalWaits(self)
        self.events = EventRouter(self)
        self.prompts = Prompts(self)
        self.secrets = SecretBox.load(config.data_dir)
        self.schedules = Scheduler(self, zone=ZoneInfo(config.timezone), catch_up=config.catch_up)
        self.values = ProjectValues(store, max_values=config.max_values, max_value_bytes=config.max_value_bytes)
        self.closing = False
        self._drivers: dict[str, SessionDriver] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._finish_waiters: dict[str, list[asyncio.Future[None]]] = defaultdict(list)

    # -- start and stop ------------------------------------------------------------------------
    async def start(self) -> None:
        """Resume everything the last process left: running sessions replay, waiting ones re-arm."""
        resumed = self.store.session_ids_in_states(["created", "running"])
        for session_id in resumed:
            self._launch(session_id)
        waiting = set(self.store.session_ids_in_states(["waiting"]))
        self.signals.load()
        self.events.load()
        self.schedules.load()
        for timer in self.store.list_timers():
            if timer.session_id in waiting:
                self.timers.schedule(timer.session_id, timer.seq, timer.fire_at - self.config.prewarm_seconds)
        if resumed or waiting:
            log.info("resumed %d running and re-armed %d waiting sessions", len(resumed), len(waiting))

    async def close(self) -> None:
        self.closing = True
        self.timers.close()
        self.schedules.close()
        for driver in list(self._drivers.values()):
            driver.abandon()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self.committer.flush()
        await self.launcher.close()

    # -- deployments and events ----------------------------------------------------------------
    def deploy(
        self,
        team_id: str,
        files: dict[str, bytes],
        *,
        name: str | None = None,
        migrate: bool = False,
        owner_id: str | None = None,
    ) -> DeployResult:
        """Store a new deployment and make its triggers live (joins the write batch; await `flushed`).

        With `migrate`, the project's unfinished sessions move to the new code: each replays its journal
        against it when it next runs, and fails as non-deterministic if the new code diverges.
        """
        staging, manifest = stage(self.deployments.root, files, name)
        try:
            with self.committer.write():
                project = self.store.get_or_create_project(team_id, name or manifest.project.name, owner_id=owner_id)
                deployment = self.store.create_deployment(project.id, manifest.model_dump(mode="json"), files)
                self.store.replace_connections(
                    project.id, {conn.name: conn.integration for conn in manifest.project.connections}
                )
                triggers = self.store.replace_triggers(project.id, trigger_rows(manifest))
                migrated = (
                    self.store.move_sessions_to_deployment(project.id, deployment.id, LIVE_STATES) if migrate else 0
                )
            self.deployments.adopt(staging, deployment.id)
            self.committer.after_commit(lambda: self.schedules.rearm_project(project.id))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        current = self.store.get_project(project.id)
        assert current is not None  # created just above
        return DeployResult(project=current, deployment=deployment, triggers=triggers, migrated_sessions=migrated)

    def receive_webhook(self, trigger: Trigger, request: WebhookRequest) -> tuple[Event, str | None]:
        """Store the event, then start the trigger's handler if the event matches (one write batch)."""
        data = event_data(request)
        event_type = request.method.lower()
        project = self.store.get_project(trigger.project_id)
        if project is None:
            raise NotFoundError(f"trigger {trigger.name!r} belongs to no project")
        with self.committer.write():
            event, started = self.events.receive(project, trigger.name, event_type, data)
        return event, started[0] if started else None

    def receive_event(
        self, project: Project, source: str, event_type: str, data: dict[str, Any]
    ) -> tuple[Event, list[str]]:
        """An event injected into a trigger or connection (API, `purr events send`, integrations)."""
        known = {t.name for t in self.store.list_triggers(project.id)} | set(self.store.list_connections(project.id))
        if source not in known:
            raise NotFoundError(
                f"project {project.name!r} has no trigger or connection named {source!r}",
                hint=f"send to one of: {', '.join(sorted(known)) or 'none (declare one in purrflow.yaml)'}",
            )
        with self.committer.write():
            return self.events.receive(project, source, event_type, data)

    # -- sessions ------------------------------------------------------------------------------
    def create_session(
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
        memo: dict[str, Any] | None = None,
        durable: bool = True,
        user_id: str | None = None,
    ) -> str:
        """Create a session (joining the current write batch) and start it once that is committed.

        It runs for `user_id`, or for the project's owner when nobody in particular started it.
        """
        deployment_id = deployment_id or project.deployment_id
        if deployment_id is None:
            raise NotFoundError(f"project {project.name!r} has no deployment", hint="run `purr deploy` first")
        with self.committer.write():
            session_id = self.store.create_session(
                project_id=project.id,
                deployment_id=deployment_id,
                entrypoint=entrypoint,
                event={"event_type": event_type, "event_id": event_id, "data": data},
                trigger_name=trigger_name,
                event_id=event_id,
                parent_id=parent_id,
                memo=memo,
                durable=durable,
                user_id=user_id or project.owner_id,
            )
        self.committer.after_commit(lambda: self._launch(session_id))
        return session_id

    def get_session(self, session_id: str) -> Session:
        session = self.store.get_session(session_id)
        if session is None:
            raise NotFoundError(f"no session {session_id!r}", hint="list sessions with `purr sessions list`")
        return session

    async def stop_session(self, session_id: str, reason: str = "") -> Session:
        session = self.get_session(session_id)
        if session.is_final:
            raise SessionStateError(f"session {session_id} has already ended ({session.state})")
        driver = self._drivers.get(session_id)
        if driver is not None:
            driver.kill()
        self.timers.cancel_session(session_id)
        message = f"stopped: {reason}" if reason else "stopped by request"
        self.finish_session(session_id, state="stopped", error=SessionError("Stopped", message))
        await self.committer.flushed()
        return self.get_session(session_id)

    def finish_session(
        self,
        session_id: str,
        *,
        state: str,
        result: bytes | None = None,
        result_repr: str = "",
        error: SessionError | None = None,
        completion: bytes | None = None,
    ) -> None:
        """Record the end; a child also signals its parent with {"completed", "value"} (AutoKitteh's rule)."""
        with self.committer.write():
            self.store.finish_session(session_id, state=state, result=result, result_repr=result_repr, error=error)
            self.signals.forget(session_id)
            self.events.forget_session(session_id)
            session = self.store.get_session(session_id)
            if session is not None and session.parent_id:
                if completion is None:
                    message = error.message if error else None
                    completion = pickle.dumps({"completed": state == "completed", "value": None, "error": message})
                self.signals.send(session.project_id, session.parent_id, session_id, completion)
        self.committer.after_commit(lambda: self._announce_end(session_id, state))

    def _announce_end(self, session_id: str, state: str) -> None:
        status = {"completed": 200, "error": 500, "stopped": 503}.get(state, 500)
        self.responses.resolve(session_id, HttpResponse(status_code=status))
        self.logs.publish(session_id, [SessionEnded(state)])
        for future in self._finish_waiters.pop(session_id, []):
            if not future.done():
                future.set_result(None)

    async def wait_finished(self, session_id: str, timeout: float | None = None) -> Session:
        session = self.get_session(session_id)
        if not session.is_final:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._finish_waiters[session_id].append(future)
            await asyncio.wait_for(future, timeout)
        return self.get_session(session_id)

    def session_env(self, session: Session) -> dict[str, str]:
        """Manifest vars and every webhook's URL, as environment variables for the session."""
        deployment = self.store.get_deployment(session.deployment_id)
        state_dir = self.config.data_dir / "state" / self._root_session(session)
        state_dir.mkdir(parents=True, exist_ok=True)
        env: dict[str, str] = {
            "PURRFLOW_SESSION_ID": session.id,
            "PURRFLOW_PROJECT": session.project_name,
            "SDK_STATE_DIR": str(state_dir),
            "SDK_CONFIG_DIR": str(self._config_dir(session)),
            "SDK_HOME_DIR": str(Path.home()),
            "SDK_INTERFACE_TYPE": self.config.interface,
            "OPS_HOST_PLATFORM": self.config.host_platform,
        }
        if deployment is not None:
            for var in deployment.manifest.get("project", {}).get("vars", []):
                env[str(var["name"])] = str(var.get("value") or "")
        for trigger in self.store.list_triggers(session.project_id):
            if trigger.slug:
                env[f"{trigger.name}__webhook_url"] = self.webhook_url(trigger.slug)
        for connection, fields in self.store.connection_vars(session.project_id).items():
            for field, value in fields.items():
                env[f"{connection}__{field}"] = value
        return env

    def _config_dir(self, session: Session) -> Path:
        """CTO.ai's (deprecated) per-workflow config folder: one per project, kept across runs."""
        folder = self.config.data_dir / "workflow-config" / session.project_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _root_session(self, session: Session) -> str:
        """The first session of a workflow run: its state folder is shared by every session it starts."""
        root = session
        while root.parent_id:
            parent = self.store.get_session(root.parent_id)
            if parent is None:
                break
            root = parent
        return root.id

    def webhook_url(self, slug: str) -> str:
        return f"{self.config.public_url.rstrip('/')}/webhooks/{slug}"

    # -- drivers -------------------------------------------------------------------------------
    def current_driver(self, session_id: str) -> SessionDriver | None:
        return self._drivers.get(session_id)

    def forget_driver(self, session_id: str) -> None:
        self._drivers.pop(session_id, None)

    @property
    def live_runners(self) -> int:
        return sum(1 for driver in self._drivers.values() if driver.proc is not None and driver.alive)

    def _launch(self, session_id: str) -> None:
        if self.closing:
            return
        driver = SessionDriver(self, session_id)
        self._drivers[session_id] = driver
        task = asyncio.get_running_loop().create_task(driver.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def wait_ended(self, session_id: str, seq: int, result: bytes) -> None:
        """A journaled wait ended: answer the runner blocked on it, or bring the session back."""
        driver = self._drivers.get(session_id)
        if driver is not None and driver.alive:
            if driver.pending_wait == seq:
                driver.answer(seq, result)
            return  # still replaying towards the wait: its Wait finds the journaled result
        session = self.store.get_session(session_id)
        if session is not None and not session.is_final:
            self._launch(session_id)

    def _on_timer(self, session_id: str, seq: int) -> None:
        if self.signals.timeout(session_id, seq):
            return
        driver = self._drivers.get(session_id)
        if driver is not None and driver.alive:
            driver.timer_fired(seq)
            return
        session = self.store.get_session(session_id)
        if session is None or session.is_final:
            return
        self._launch(session_id)  # replay brings it back to the wait; its Wait re-arms this timer
