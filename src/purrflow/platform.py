"""The composition root: the one place that builds purrflow's object graph, for a server and for `purr run`.

Every other part gets the few collaborators it needs and callbacks for what it announces; only here are
they wired to each other (a session created → the orchestrator drives it; a wait ended → the
orchestrator answers or resumes; a deployment → the scheduler re-arms). The server and the CLI receive
a `Platform`: the services, and the lifecycle of what runs in the background.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.deploy import DeploymentFiles
from purrflow.engine.dispatch import EventDispatch
from purrflow.engine.envs import ProjectEnvs
from purrflow.engine.journal import Journal
from purrflow.engine.logs import LogBus
from purrflow.engine.notices import Notices
from purrflow.engine.sandbox import SandboxPolicy, SandboxSettings
from purrflow.engine.scheduler import Scheduler, Schedules
from purrflow.engine.secretbox import SecretBox
from purrflow.engine.signals import SignalWaits
from purrflow.engine.sync import SyncResponses
from purrflow.engine.timers import TimerQueue
from purrflow.faults import NO_FAULTS, Faults
from purrflow.orchestrators.admission import DEFAULT_MAX_QUEUE_WAIT, LoopLag, OverloadedError, default_max_active
from purrflow.orchestrators.launchers import RunnerKind, make_launcher
from purrflow.orchestrators.local import LocalOrchestrator
from purrflow.orchestrators.protocol import Orchestrator
from purrflow.orchestrators.sticky import DEFAULT_HOT_MEMORY
from purrflow.orchestrators.warm import WarmPolicy
from purrflow.rules.values import ValueLimits
from purrflow.services.analytics import AnalyticsService
from purrflow.services.carried_folders import CarriedFolders, FolderLimits
from purrflow.services.config import ConfigService
from purrflow.services.connections import ConnectionService
from purrflow.services.events import EventService
from purrflow.services.host_ops import HostServices
from purrflow.services.identity import OPERATOR_TEAM, IdentityService
from purrflow.services.mailboxes import MailboxPoller
from purrflow.services.oauth import OAuthService
from purrflow.services.operations import RetentionSweep, SessionOperations
from purrflow.services.projects import ProjectService
from purrflow.services.prompts import PromptService
from purrflow.services.secrets import SecretService
from purrflow.services.session_host import RunnerSettings, ServerSessionHost
from purrflow.services.sessions import SessionService
from purrflow.services.slack_interface import SlackInterface
from purrflow.services.triggers import TriggerService
from purrflow.services.values import ValueService
from purrflow.services.vars import VarService
from purrflow.store import IN_CLEAR, Durability, Store, bridge, open_store
from purrflow.telemetry import Metrics, Telemetry, Tracing
from purrflow.wire import Limits

if TYPE_CHECKING:  # imported when asked for: the `temporal` extra brings Temporal's client
    from purrflow.orchestrators.temporal import TemporalSettings

#: The database, in the data folder.
DATABASE_FILE = "purrflow.db"


@dataclass(frozen=True)
class PlatformConfig:
    data_dir: Path
    #: A PostgreSQL database (`postgresql://…`) instead of the data folder's SQLite file.
    database_url: str | None = None
    #: "full" fsyncs every commit; "normal" may lose the last commits on power loss, never on a crash.
    durability: Durability = "full"
    #: "zygote": runners forked from a pre-warmed process (~4 ms); "spawn": a fresh interpreter each.
    runner: RunnerKind = "zygote"
    public_url: str = "http://127.0.0.1:9980"
    #: A wait that ends within this many seconds keeps its runner; a longer one gives the process up.
    hot_wait_seconds: float = 300.0
    #: What the runners of waiting sessions may hold in all; past it, the least recently active suspend.
    hot_memory_bytes: int = DEFAULT_HOT_MEMORY
    #: Which deployments get warm runners (shape zygotes with the project imported).
    warm: WarmPolicy = field(default_factory=WarmPolicy)
    #: A suspended sleep's runner is started this early so that it has replayed when the timer is due.
    prewarm_seconds: float = 0.05
    values: ValueLimits = field(default_factory=ValueLimits)
    #: Schedules' time zone, and whether one missed tick fires after a stall (never a burst).
    timezone: str = "UTC"
    catch_up: bool = False
    #: Where the session's person is: "web" (server: API and UI) or "terminal" (`purr run`), and their OS.
    interface: str = "web"
    host_platform: str = "unknown"
    faults: Faults = NO_FAULTS
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    #: Each runner's memory, CPU time and open files; how long a session may run outside waits.
    limits: Limits = field(default_factory=Limits)
    session_timeout: float | None = None
    #: How often a session's runner may die (each death replays it) before the session ends in error.
    runner_attempts: int = 3
    #: Runners alive at once (later sessions queue), and how many may queue before new work is turned away.
    max_runners: int = 64
    max_queued: int = 10_000
    #: New work is turned away, too, once a new session would wait longer than this for a runner (seconds).
    max_queue_wait: float = DEFAULT_MAX_QUEUE_WAIT
    #: Runners running user code at once (waiting ones do not count).
    max_active: int = field(default_factory=default_max_active)
    #: Seal journal outcomes, values, payloads, results and errors with the data key (off only to measure).
    encrypt_at_rest: bool = True
    #: Where requirements.txt environments are installed (default `<data dir>/envs`; `purr run`, whose data
    #: folder lasts one run, keeps them in the user's cache so that the next run reuses them).
    envs_dir: Path | None = None
    #: Export sessions' traces over OTLP/HTTP, as the standard OTEL_* variables configure it.
    tracing: bool = False
    #: Ended sessions are deleted once they have been over this many seconds (None: kept forever).
    retention: float | None = None
    #: What a session's state or config folder may hold where it is carried between workers (on Temporal).
    carried_folders: FolderLimits = field(default_factory=FolderLimits)
    #: Sessions as Temporal workflows (the `temporal` orchestrator), over a store every process shares.
    temporal: TemporalSettings | None = None
    #: Whether this process runs sessions' code (False: an API server of a scaled platform; its sessions run
    #: on the workers), and whether it serves the API (False: a worker).
    runs_sessions: bool = True
    serves_api: bool = True


@dataclass(frozen=True)
class Health:
    """What the server holds right now (for operators)."""

    runners: int
    queued: int
    timers: int
    commits: int


class Platform:
    """The services of one purrflow, and the background work (sessions, timers, schedules) behind them."""

    def __init__(
        self,
        *,
        committer: GroupCommitter,
        sessions: SessionService,
        operations: SessionOperations,
        projects: ProjectService,
        triggers: TriggerService,
        events: EventService,
        values: ValueService,
        config: ConfigService,
        secrets: SecretService,
        identity: IdentityService,
        analytics: AnalyticsService,
        prompts: PromptService,
        connections: ConnectionService,
        oauth: OAuthService,
        mailboxes: MailboxPoller,
        slack: SlackInterface,
        vars: VarService,
        envs: ProjectEnvs,
        orchestrator: Orchestrator,
        signals: SignalWaits,
        scheduler: Schedules,
        notices: Notices,
        timers: TimerQueue,
        sandbox: SandboxPolicy,
        deployments: DeploymentFiles,
        store: Store,
        telemetry: Telemetry,
        retention: RetentionSweep,
        serves_api: bool = True,
    ) -> None:
        """`serves_api`: False for a worker of a scaled platform, which runs sessions' code and nothing of the
        API's background work (schedules, mailboxes, token renewals, Slack, retention)."""
        self.telemetry = telemetry
        self._serves_api = serves_api
        self._retention = retention
        self._lag = LoopLag()
        self._lag_task: asyncio.Task[None] | None = None
        self.sessions = sessions
        self.operations = operations
        self.projects = projects
        self.triggers = triggers
        self.events = events
        self.values = values
        self.config = config
        self.secrets = secrets
        self.identity = identity
        self.analytics = analytics
        self.prompts = prompts
        self.connections = connections
        self.oauth = oauth
        self._mailboxes = mailboxes
        self._slack = slack
        self.vars = vars
        self._envs = envs
        self._committer = committer
        self._orchestrator = orchestrator
        self._signals = signals
        self._scheduler = scheduler
        self._notices = notices
        self._timers = timers
        self._sandbox = sandbox
        self._deployments = deployments
        self._store = store
        self._admitting = 0

    def describe_sandbox(self) -> str:
        """What sessions can reach here, in one line (the server says it when it starts)."""
        return self._sandbox.describe()

    async def start(self) -> None:
        """Resume everything the last process left: running sessions replay, waits and schedules re-arm.

        Over a networked store, every task and timer from here on waits for the database off the event loop
        (`store/bridge.py`), and so does this start."""
        if not self._store.networked:
            await self._start()
            return
        bridge.enable(asyncio.get_running_loop())
        await bridge.drive(self._start())

    async def _start(self) -> None:
        self._sandbox.secure_data_dir()
        self._deployments.sweep_staging()  # what deploys cut short by a crash left behind
        self._envs.sweep()  # and requirements installs
        self.connections.load()
        await self._notices.start()  # before anything that waits for another process's commits
        if self._serves_api:
            await self.oauth.start()  # due tokens renewed before any session resumes
        await self._orchestrator.start()
        self._signals.load()
        self.events.load()
        if self._serves_api:
            await self._scheduler.start()
            self._mailboxes.start()
            self._slack.start()
            self._retention.start()
        self._lag_task = asyncio.get_running_loop().create_task(self._lag.run())

    async def close(self) -> None:
        if not self._store.networked:
            await self._close()
            return
        await bridge.drive(self._close())
        bridge.disable(asyncio.get_running_loop())

    async def _close(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
        await self._retention.close()
        await self._mailboxes.close()
        await self._slack.close()
        await self.oauth.close()
        self._timers.close()
        await self._scheduler.close()
        await self._orchestrator.close()
        await self._notices.close()
        self._committer.flush()
        self._committer.close()  # after the last fsync
        self._store.close()
        await asyncio.to_thread(self.telemetry.close)  # the last spans leave, off the event loop

    async def committed(self) -> None:
        """Wait until everything written so far is on disk (raises if the database refused the commit)."""
        await self._committer.flushed()

    def health(self) -> Health:
        return Health(
            self._orchestrator.live_runners, self._orchestrator.queued, len(self._timers), self._committer.commits
        )

    @contextmanager
    def admission(self, *, may_queue: bool = False) -> Iterator[None]:
        """Raise OverloadedError (503, Retry-After) when a new session would not start soon enough (a
        webhook), or, when it `may_queue` as long as it takes (started through the API), when the queue is
        full: every entry point that starts sessions from outside asks before it stores anything, and
        stores inside the block. Sessions created but not yet handed to the orchestrator count too, and so
        do requests admitted and still storing theirs (over a networked store they wait for the database
        one beside the other): a burst is seen whole."""
        overload = self._orchestrator.overloaded(
            arriving=self.sessions.pending + self._admitting, lag=self._lag.standing(), may_queue=may_queue
        )
        if overload is not None:
            raise OverloadedError(overload)
        self._admitting += 1
        try:
            yield
        finally:
            self._admitting -= 1


def build_platform(config: PlatformConfig, *, clock: Callable[[], float] = time.time) -> Platform:
    """The whole graph over the data folder's store (opened here, with the data key; closed by `close`)."""
    config = replace(config, data_dir=config.data_dir.resolve())  # every path below it is then resolved too
    sandbox = SandboxPolicy(config.data_dir, config.sandbox)
    launcher = make_launcher(config.runner, sandbox.frame(), config.warm)
    box = SecretBox.load(config.data_dir)
    cipher = box.data_cipher() if config.encrypt_at_rest else IN_CLEAR
    where = config.database_url or config.data_dir / DATABASE_FILE
    store = open_store(where, durability=config.durability, cipher=cipher)
    committer = GroupCommitter(store)
    journal = Journal(store)
    deployments = DeploymentFiles(store, config.data_dir / "deployments")
    envs = ProjectEnvs(config.envs_dir or config.data_dir / "envs")
    notices = Notices(store, committer)
    logs = LogBus(store, committer, notices)
    responses = SyncResponses(store, notices)
    telemetry = Telemetry(Metrics(), Tracing.start() if config.tracing else None)
    dispatch = EventDispatch()
    # The callbacks below name parts built further down: nothing announces before the platform starts.

    def timer_due(session_id: str, seq: int) -> None:
        """A wait's deadline ends the wait; any other timer is a sleep, the orchestrator's."""
        if not signals.timeout(session_id, seq):
            orchestrator.timer_due(session_id, seq)

    def wait_ended(session_id: str, seq: int, result: bytes) -> None:
        orchestrator.wait_ended(session_id, seq, result)

    def project_deleted(project_id: str) -> None:
        scheduler.rearm_project(project_id)  # with no triggers left: its schedules stop
        host.forget_project(project_id)

    # On Temporal, the workflows keep every session's time (a stretch whose timers are due fires them through
    # `timer_due`), so nothing in this process may resume a session when its timer comes.
    timers = TimerQueue(timer_due if config.temporal is None else _kept_by_temporal)
    signals = SignalWaits(
        store,
        committer,
        journal,
        schedule_deadline=timers.schedule,
        on_wait_ended=wait_ended,
    )
    identity = IdentityService(store, committer, session_key=box.derive_key(b"purrflow web sessions v1"))
    triggers = TriggerService(store, notices, public_url=config.public_url)
    projects = ProjectService(
        store,
        committer,
        deployments,
        may_run_code=lambda team_id: (
            None if sandbox.runs_any_team else sandbox.check_team(identity.team(team_id).name, OPERATOR_TEAM)
        ),
        triggers_changed=triggers.forget,
        on_deployed=lambda project_id: scheduler.rearm_project(project_id),
        stop_session=lambda team_id, session_id, reason: sessions.stop(team_id, session_id, reason),
        delete_sessions=lambda project_id: sessions.delete_of_project(project_id),
        on_deleted=project_deleted,
        envs=envs,
    )
    sessions = SessionService(
        store,
        committer,
        projects=projects,
        triggers=triggers,
        deployments=deployments,
        signals=signals,
        dispatch=dispatch,
        logs=logs,
        responses=responses,
        notices=notices,
        on_created=lambda session_id: orchestrator.launch(session_id),
        on_stopped=lambda session_id: orchestrator.stop(session_id),
        on_deleted=lambda session_ids: host.forget_sessions(session_ids),
    )
    events = EventService(
        store, committer, projects=projects, triggers=triggers, sessions=sessions, dispatch=dispatch, signals=signals
    )
    zone = ZoneInfo(config.timezone)
    secrets = SecretService(store, committer, box)
    project_vars = VarService(store, committer, box)
    connections = ConnectionService(
        store,
        committer,
        box,
        projects=projects,
        events=events,
        public_url=config.public_url,
        on_tokens_due=lambda: oauth.wake(),
        interactions=lambda record, payload: slack.take(record, payload),
    )
    mailboxes = MailboxPoller(store, committer, connections=connections, projects=projects, events=events, clock=clock)
    oauth = OAuthService(store, committer, box, connections=connections, public_url=config.public_url, clock=clock)
    prompts = PromptService(
        store,
        committer,
        journal,
        secrets,
        on_wait_ended=wait_ended,
    )
    slack = SlackInterface(store, connections=connections, prompts=prompts, triggers=triggers, logs=logs)
    services = HostServices(
        sessions=sessions,
        events=events,
        values=ValueService(store, committer, config.values),
        config=ConfigService(store, committer),
        secrets=secrets,
        identity=identity,
        analytics=AnalyticsService(store, committer, clock=clock),
    )
    host = ServerSessionHost(
        store,
        journal,
        deployments,
        services=services,
        projects=projects,
        triggers=triggers,
        prompts=prompts,
        signals=signals,
        sandbox=sandbox,
        connections=connections,
        interface_of=lambda session: "slack" if slack.place_of(session) else None,
        vars=project_vars,
        # Where sessions' stretches move between workers, so do the folders they write.
        carried=(
            CarriedFolders(store, committer, config.data_dir, limits=config.carried_folders)
            if config.temporal is not None and config.runs_sessions
            else None
        ),
        settings=RunnerSettings(
            config.data_dir, config.interface, config.host_platform, config.limits, config.session_timeout
        ),
    )
    host.move_old_state_folders()  # once, before any session starts
    temporal = config.temporal
    # On Temporal, a session's process never outlives its stretch: every wait gives it up at once.
    local = LocalOrchestrator(
        store=store,
        committer=committer,
        journal=journal,
        launcher=launcher,
        host=host,
        timers=timers,
        logs=logs,
        faults=config.faults,
        clock=clock,
        hot_wait_seconds=config.hot_wait_seconds if temporal is None else 0.0,
        hot_memory_bytes=config.hot_memory_bytes if temporal is None else 0,
        prewarm_seconds=config.prewarm_seconds if temporal is None else 0.0,
        runner_attempts=config.runner_attempts,
        limits=config.limits,
        max_runners=config.max_runners,
        max_queued=config.max_queued,
        max_queue_wait=config.max_queue_wait,
        max_active=config.max_active,
        telemetry=telemetry,
    )
    orchestrator: Orchestrator = local
    scheduler: Schedules
    if temporal is None:
        scheduler = Scheduler(store, committer, on_tick=events.tick, zone=zone, catch_up=config.catch_up, clock=clock)
    else:  # Temporal Schedules keep the time, and the workers fire the ticks
        from purrflow.orchestrators.temporal import SessionStretches, TemporalOrchestrator, WorkerActivities
        from purrflow.orchestrators.temporal_schedules import ScheduleTicks, TemporalSchedules

        activities = (
            WorkerActivities(
                stretches=SessionStretches(
                    local=local, store=store, committer=committer, fire_timer=timer_due, clock=clock
                ),
                ticks=ScheduleTicks(
                    store=store,
                    committer=committer,
                    on_tick=events.tick,
                    zone=zone,
                    catch_up=config.catch_up,
                    clock=clock,
                ),
            )
            if config.runs_sessions
            else None
        )
        orchestrator = on_temporal = TemporalOrchestrator(
            settings=temporal,
            store=store,
            notices=notices,
            activities=activities,
            max_stretches=config.max_runners,
            clock=clock,
        )
        scheduler = TemporalSchedules(
            store=store,
            client=lambda: on_temporal.client,
            task_queue=temporal.task_queue,
            zone=zone,
            catch_up=config.catch_up,
        )
    telemetry.metrics.watch(orchestrator.census)
    return Platform(
        committer=committer,
        sessions=sessions,
        operations=SessionOperations(store, committer, sessions=sessions, projects=projects, deployments=deployments),
        retention=RetentionSweep(sessions, projects, keep_seconds=config.retention, clock=clock),
        projects=projects,
        triggers=triggers,
        events=events,
        values=services.values,
        config=services.config,
        secrets=secrets,
        identity=services.identity,
        analytics=services.analytics,
        prompts=prompts,
        connections=connections,
        oauth=oauth,
        mailboxes=mailboxes,
        slack=slack,
        vars=project_vars,
        envs=envs,
        orchestrator=orchestrator,
        signals=signals,
        scheduler=scheduler,
        notices=notices,
        timers=timers,
        sandbox=sandbox,
        deployments=deployments,
        store=store,
        telemetry=telemetry,
        serves_api=config.serves_api,
    )


def _kept_by_temporal(session_id: str, seq: int) -> None:
    """A timer of this process's queue came due: Temporal's timer of the same wait acts on it, not this one."""
