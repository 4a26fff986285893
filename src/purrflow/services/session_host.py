"""The services' side of driving a session (`SessionHost`): what a runner starts with, what its host
operations and waits mean, and where its end is recorded."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from purrflow.engine.deploy import DeploymentFiles
from purrflow.engine.journal import Journal
from purrflow.engine.sandbox import FIRST_TEAM_UID, SandboxPolicy
from purrflow.engine.seams import Admission, SessionEnd
from purrflow.engine.signals import SignalWaits
from purrflow.errors import InternalError
from purrflow.opsyml import is_ops_call
from purrflow.services.carried_folders import CarriedFolders, FolderUse
from purrflow.services.connections import ConnectionService
from purrflow.services.host_ops import HostServices, SessionOps
from purrflow.services.identity import OPERATOR_TEAM
from purrflow.services.ids import SESSION
from purrflow.services.projects import ProjectService
from purrflow.services.prompts import PromptService
from purrflow.services.triggers import TriggerService
from purrflow.services.vars import VarService
from purrflow.store import Deployment, OpenWait, Session, Store
from purrflow.wire import (
    JOURNAL_PAGE,
    NO_RETRIES,
    EventWait,
    HostOps,
    InboxWait,
    JournalRecord,
    Limits,
    Prime,
    PromptWait,
    RetryPolicy,
    SandboxSpec,
    StartSession,
    WaitSpec,
)

#: How many deployments and sandbox specs a host remembers before it starts over.
_REMEMBERED = 1024

log = logging.getLogger("purrflow.services.session_host")


@dataclass(frozen=True)
class RunnerSettings:
    """Where sessions keep their files, what they are told about their person, and their bounds."""

    data_dir: Path
    #: Where the session's person is: "web" (server: API and UI) or "terminal" (`purr run`), and their OS.
    interface: str = "web"
    host_platform: str = "unknown"
    limits: Limits = field(default_factory=Limits)
    #: How long a session may run, outside waits, when its trigger says nothing (None: no limit).
    session_timeout: float | None = None


class ServerSessionHost:
    def __init__(
        self,
        store: Store,
        journal: Journal,
        deployments: DeploymentFiles,
        *,
        services: HostServices,
        projects: ProjectService,
        triggers: TriggerService,
        prompts: PromptService,
        signals: SignalWaits,
        sandbox: SandboxPolicy,
        settings: RunnerSettings,
        vars: VarService,
        connections: ConnectionService,
        interface_of: Callable[[Session], str | None] = lambda session: None,
        carried: CarriedFolders | None = None,
    ) -> None:
        """`carried`: where sessions' runs move between workers, their folders are carried in the store."""
        self._store = store
        self._journal = journal
        self._deployments = deployments
        self._services = services
        self._projects = projects
        self._triggers = triggers
        self._prompts = prompts
        self._signals = signals
        self._sandbox = sandbox
        self._settings = settings
        self._vars = vars
        self._connections = connections
        self._interface_of = interface_of
        self._carried = carried
        self._uids: dict[str, int] = {}
        #: Folders made already, sandbox specs set up already, deployments read already (bounded).
        self._made: set[Path] = set()
        self._specs: dict[tuple[object, ...], SandboxSpec] = {}
        self._deployments_seen: dict[str, Deployment] = {}

    def prepare(self, session: Session) -> StartSession:
        """What the session's runner starts with: the session, and the `Prime` of its shape (which a warm
        runner was prepared with already)."""
        team_id = self._projects.team_of(session.project_id)
        if not self._sandbox.runs_any_team:
            self._sandbox.check_team(self._services.identity.team(team_id).name, OPERATOR_TEAM)
        project_dir = self._deployments.ensure(session.deployment_id)
        if not session.durable:  # a non-durable session that was interrupted runs again from the start
            self._journal.clear(session.id)
        self._store.mark_running(session.id)
        deployment = self._deployment(session.deployment_id)
        env, writable = self.shape_environment(session, team_id, deployment)
        site_dir = self._projects.environment_of(deployment) if deployment is not None else None
        if site_dir is not None:  # also for the programs the session starts (an ops.yml's `python3 …`)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(site_dir), env.get("PYTHONPATH"))))
        sandbox = None
        uid = None
        if self._sandbox.enabled:
            uid = self._uids.get(team_id)
            if uid is None:  # allocated once per team, and never changed
                uid = self._uids[team_id] = self._store.team_run_uid(team_id, first=FIRST_TEAM_UID)
            sandbox = self._sandbox_spec(uid, project_dir, writable, [site_dir] if site_dir else [])
        root = self._root_session(session)
        if self._carried is not None:
            self._carried.arrive(session.id, self._folders_of(session, team_id, root), uid)
        entry_file = None if is_ops_call(session.entrypoint) else session.entrypoint.partition(":")[0]
        prime = Prime(
            project_dir=str(project_dir),
            entry_file=entry_file,
            env=env,
            durable=session.durable,
            sandbox=sandbox,
            limits=self._settings.limits,
            site_dir=str(site_dir) if site_dir is not None else None,
        )
        journal = self._journal.read(session.id, limit=JOURNAL_PAGE)
        return StartSession(
            session_id=session.id,
            entrypoint=session.entrypoint,
            event=session.event,
            journal=journal,
            more_journal=len(journal) == JOURNAL_PAGE,
            env=self.session_environment(session, team_id, root),
            output_position=self._store.output_position(session.id) if session.durable else (0, 0),
            retries=self.retries(session),
            prime=prime,
        )

    def journal_after(self, session_id: str, seq: int) -> list[JournalRecord]:
        """The next page of a streamed journal: the steps after `seq`."""
        return self._journal.read(session_id, after=seq, limit=JOURNAL_PAGE)

    def timeout(self, session: Session) -> float | None:
        """The session's trigger's `timeout`, else the server's (`--session-timeout`)."""
        if session.trigger_name:
            for trigger in self._triggers.of(session.project_id):
                if trigger.name == session.trigger_name and trigger.spec.get("timeout"):
                    return float(trigger.spec["timeout"])
        return self._settings.session_timeout

    def retries(self, session: Session) -> RetryPolicy:
        """The session's trigger's `retries` default for its activities (none without one)."""
        if session.trigger_name:
            for trigger in self._triggers.of(session.project_id):
                spec = trigger.spec.get("retries")
                if trigger.name == session.trigger_name and spec:
                    return RetryPolicy(int(spec["count"]), float(spec["backoff"]), float(spec["max_backoff"]))
        return NO_RETRIES

    def host_ops(self, session: Session) -> HostOps:
        return SessionOps(self._services, session, self._projects.team_of(session.project_id))

    def admission(self, session: Session) -> Admission:
        team_id = self._projects.team_of(session.project_id)
        if session.trigger_name:
            for trigger in self._triggers.of(session.project_id):
                concurrency = trigger.spec.get("concurrency")
                if trigger.name == session.trigger_name and concurrency:
                    return Admission(team_id, (session.project_id, trigger.name), int(concurrency))
        return Admission(team_id)

    def claim_place(self, session_id: str, trigger: tuple[str, str], concurrency: int) -> bool:
        project_id, name = trigger
        self._store.lock_trigger_sessions(project_id, name)  # (until the claim commits: processes take turns)
        if self._store.count_trigger_sessions(project_id, name, ("running", "waiting")) >= concurrency:
            return False
        self._store.set_session_state(session_id, "running")
        return True

    def open_wait(self, session: Session, seq: int, wait: WaitSpec) -> bytes | None:
        if isinstance(wait, PromptWait):
            self._prompts.ask(session, self._projects.team_of(session.project_id), seq, wait.spec)
            return None
        if not isinstance(wait, InboxWait):
            raise InternalError(f"a {wait.kind} wait is the orchestrator's to keep, not the session host's")
        if isinstance(wait, EventWait):
            self._services.events.check_owned(session, wait.names)
        opened = OpenWait(
            session_id=session.id,
            seq=seq,
            project_id=session.project_id,
            kind=wait.kind,
            names=list(wait.names),
            deadline=wait.deadline,
        )
        return self._signals.begin(opened)

    def finish(self, session_id: str, end: SessionEnd) -> None:
        self._services.sessions.finish(session_id, end)

    def keep_files(self, session_id: str) -> None:
        if self._carried is not None:
            self._carried.keep(session_id)

    def runner_gone(self, session_id: str) -> None:
        if self._carried is not None:
            self._carried.leave(session_id)

    def _folders_of(self, session: Session, team_id: str, root: str) -> list[FolderUse]:
        """The folders the session's runner writes that are carried between workers: its run's state
        folder (with its first session) and its project's config folder (with its project)."""
        data_dir = self._settings.data_dir
        return [
            FolderUse(
                data_dir / "state" / team_id / root, root, f"the state folder ($SDK_STATE_DIR) of session {root}"
            ),
            FolderUse(
                data_dir / "workflow-config" / session.project_id,
                session.project_id,
                f"the config folder ($SDK_CONFIG_DIR) of project {session.project_name}",
                stays=True,  # (bound as it is into its runners' sandbox)
            ),
        ]

    # -- the runner's environment --------------------------------------------------------------
    def shape_environment(
        self, session: Session, team_id: str, deployment: Deployment | None
    ) -> tuple[dict[str, str], list[Path]]:
        """What every runner of the session's shape gets — what every runner gets (PATH, LANG, TZ,
        NO_PROXY and what the operator passes), manifest vars, webhook URLs, connection fields, CTO.ai's
        SDK variables — and the folders it may write: its team's state folders, and its project's config
        folder (its HOME and TMPDIR the runner makes itself)."""
        data_dir = self._settings.data_dir
        team_states = data_dir / "state" / team_id
        config_dir = data_dir / "workflow-config" / session.project_id  # CTO.ai's (deprecated) config folder
        for folder in (team_states, config_dir):
            if folder not in self._made:
                folder.mkdir(parents=True, exist_ok=True)
                self._made.add(folder)
        env = self._sandbox.environment_base()
        env |= {
            "PURRFLOW_PROJECT": session.project_name,
            "SDK_CONFIG_DIR": str(config_dir),
            "OPS_HOST_PLATFORM": self._settings.host_platform,
        }
        manifest_vars = deployment.manifest.get("project", {}).get("vars", []) if deployment is not None else []
        env |= self._vars.environment(session.project_id, manifest_vars, session.created_at)  # as it was then
        for trigger in self._triggers.of(session.project_id):
            url = self._triggers.webhook_url(trigger)
            if url:
                env[f"{trigger.name}__webhook_url"] = url
        for connection, fields in self._connections.fields_of(session.project_id).items():
            for name, value in fields.items():
                env[f"{connection}__{name}"] = value
        return env, [team_states, config_dir]

    def session_environment(self, session: Session, team_id: str, root: str) -> dict[str, str]:
        """The session's own variables: its id, its interface and its state folder, its run's (`root`, its
        first session), inside its team's. Its runner makes it: the host's loop does no file system work per
        session for it, unless the folder is carried (`CarriedFolders` lays it out)."""
        states = self._settings.data_dir / "state"
        return {
            "PURRFLOW_SESSION_ID": session.id,
            "SDK_STATE_DIR": str(states / team_id / root),
            "SDK_INTERFACE_TYPE": self._interface_of(session) or self._settings.interface,
        }

    def _deployment(self, deployment_id: str) -> Deployment | None:
        """A deployment (they never change: remembered)."""
        found = self._deployments_seen.get(deployment_id)
        if found is None:
            found = self._projects.deployment(deployment_id)
            if found is not None:
                if len(self._deployments_seen) >= _REMEMBERED:
                    self._deployments_seen.clear()
                self._deployments_seen[deployment_id] = found
        return found

    def _sandbox_spec(self, uid: int, project_dir: Path, writable: list[Path], read_only: list[Path]) -> SandboxSpec:
        """The sandbox of a shape, its folders' owners and modes set once (per server start)."""
        key = (uid, project_dir, tuple(writable), tuple(read_only))
        spec = self._specs.get(key)
        if spec is None:
            made = self._sandbox.spec(uid, project_dir, writable, read_only=read_only)
            assert made is not None  # the sandbox is enabled
            if len(self._specs) >= _REMEMBERED:
                self._specs.clear()
            spec = self._specs[key] = made
        return spec

    def move_old_state_folders(self) -> None:
        """State folders kept where servers before this one kept them (`state/<root session>`) move into
        their team's (`state/<team>/<root session>`), once, at start: no session start looks for them."""
        states = self._settings.data_dir / "state"
        if not states.is_dir():
            return
        for folder in states.glob(f"{SESSION.prefix}_*"):
            session = self._store.get_session(folder.name)
            if session is None or not folder.is_dir():
                continue  # its session was deleted: nothing reads the folder, and an operator may remove it
            team_dir = states / self._projects.team_of(session.project_id)
            team_dir.mkdir(mode=0o700, exist_ok=True)
            folder.rename(team_dir / folder.name)
            log.info("moved the state folder of session %s into its team's", folder.name)

    def forget_sessions(self, session_ids: list[str]) -> None:
        """Deleted sessions: the state folders they were the first session of go too (a child of theirs
        that still runs finds no parent from now on, and gets a folder of its own)."""
        states = self._settings.data_dir / "state"
        for session_id in session_ids:
            for folder in states.glob(f"*/{session_id}"):
                shutil.rmtree(folder, ignore_errors=True)

    def forget_project(self, project_id: str) -> None:
        """A deleted project: its sessions' shared config folder goes too."""
        config_dir = self._settings.data_dir / "workflow-config" / project_id
        shutil.rmtree(config_dir, ignore_errors=True)
        self._made.discard(config_dir)
        self._specs.clear()

    def _root_session(self, session: Session) -> str:
        """The first session of a workflow run: its state folder is shared by every session it starts."""
        root = session
        while root.parent_id:
            parent = self._store.get_session(root.parent_id)
            if parent is None:
                break
            root = parent
        return root.id
