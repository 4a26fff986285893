"""`purr up` (a server) and `purr worker` (sessions' code for a scaled platform): the long-running processes.

Both run sessions under the same limits and sandbox, so the options they share are declared once, here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from purrflow.config import ServerConfig

DataDir = Annotated[Path | None, typer.Option(help="database, deployments, token (default ~/.purrflow)")]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(help="a PostgreSQL database, postgresql://… (PURRFLOW_DATABASE_URL; the data folder's SQLite)"),
]
Temporal = Annotated[
    str | None, typer.Option("--temporal", help="the Temporal service, HOST:PORT (PURRFLOW_TEMPORAL; 127.0.0.1:7233)")
]
TemporalNamespace = Annotated[str | None, typer.Option(help="the Temporal namespace (default)")]
TaskQueue = Annotated[str | None, typer.Option(help="the Temporal task queue of the workers (purrflow-sessions)")]
WarmShapes = Annotated[
    int | None, typer.Option(help="deployments kept warm, their code imported before sessions start (16)")
]
Sandbox = Annotated[
    str, typer.Option(help="auto: sandbox sessions when running as root; on: refuse to start without; off")
]
SandboxAllow = Annotated[list[Path] | None, typer.Option(help="a folder every session may read and write (repeat)")]
PassEnv = Annotated[
    list[str] | None, typer.Option(help="an environment variable of the server that sessions also get (repeat)")
]
TrustAllCode = Annotated[bool, typer.Option(help="run every team's code even where it cannot be sandboxed")]
SessionMemory = Annotated[str | None, typer.Option(help="each session's memory limit (1G)")]
SessionCpu = Annotated[int | None, typer.Option(help="each runner's CPU time limit, seconds (3600)")]
SessionFiles = Annotated[int | None, typer.Option(help="each session's open files limit (1024)")]
SessionTimeout = Annotated[
    str | None, typer.Option(help="how long a session may run outside waits, e.g. 10m (no limit)")
]
CarriedFolderLimit = Annotated[
    str | None,
    typer.Option(help="what a session's state or config folder may hold when carried between workers (64M)"),
]
RunnerAttempts = Annotated[int | None, typer.Option(help="replays of a session whose runner died before it errs (3)")]
MaxRunners = Annotated[
    int | None, typer.Option(help="runners alive at once; later sessions queue (from memory and fd limit)")
]
MaxActive = Annotated[
    int | None, typer.Option(help="runners running user code at once, waiting ones aside (8 per CPU)")
]
LogFormat = Annotated[
    str | None, typer.Option(help="log lines as text or json, one object a line (PURRFLOW_LOG_FORMAT; text)")
]


def up(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 9980,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    orchestrator: Annotated[
        str, typer.Option(help="local: sessions run here; temporal: each a Temporal workflow, run by workers")
    ] = "local",
    temporal: Temporal = None,
    temporal_namespace: TemporalNamespace = None,
    task_queue: TaskQueue = None,
    role: Annotated[
        str, typer.Option(help="all: the API and sessions' code; api: the API only (sessions run on `purr worker`s)")
    ] = "all",
    demo: Annotated[bool, typer.Option(help="deploy the demo project")] = False,
    hot_wait: Annotated[
        float | None, typer.Option(help="seconds a waiting session keeps its process at most (300)")
    ] = None,
    hot_memory: Annotated[
        str | None,
        typer.Option(help="memory the processes of waiting sessions may hold, e.g. 2G; 0 suspends at once (RAM/10)"),
    ] = None,
    warm_shapes: WarmShapes = None,
    sync_timeout: Annotated[float | None, typer.Option(help="seconds a sync webhook waits for its answer (30)")] = None,
    timezone: Annotated[str | None, typer.Option(help="time zone of schedule triggers (UTC)")] = None,
    catch_up: Annotated[
        bool, typer.Option(help="after downtime, fire the latest missed tick of each schedule once")
    ] = False,
    sandbox: Sandbox = "auto",
    sandbox_allow: SandboxAllow = None,
    pass_env: PassEnv = None,
    trust_all_code: TrustAllCode = False,
    session_memory: SessionMemory = None,
    session_cpu: SessionCpu = None,
    session_files: SessionFiles = None,
    session_timeout: SessionTimeout = None,
    carried_folder_limit: CarriedFolderLimit = None,
    runner_attempts: RunnerAttempts = None,
    max_runners: MaxRunners = None,
    max_active: MaxActive = None,
    max_queue_wait: Annotated[
        float | None, typer.Option(help="seconds a new session may wait to start before webhooks get 503 (1)")
    ] = None,
    max_queued: Annotated[
        int | None, typer.Option(help="queued sessions before webhooks answer 503 + Retry-After (10000)")
    ] = None,
    retention: Annotated[
        str | None, typer.Option(help="delete ended sessions this long after they ended, e.g. 30d (keep forever)")
    ] = None,
    log_format: LogFormat = None,
    metrics_public: Annotated[
        bool, typer.Option(help="serve /metrics without a token (by default it needs an operator admin's)")
    ] = False,
) -> None:
    """Start the server (SQLite in the data folder, nothing else needed; or a PostgreSQL database)."""
    config = _config(
        locals(),
        host=host,
        port=port,
        orchestrator=orchestrator,
        role=role,
        demo=demo,
        hot_wait_seconds=hot_wait,
        hot_memory=_size(hot_memory, "--hot-memory"),
        sync_timeout_seconds=sync_timeout,
        timezone=timezone,
        catch_up=catch_up or None,
        max_queued=max_queued,
        max_queue_wait=max_queue_wait,
        retention_seconds=_duration(retention, "--retention"),
        metrics_public=metrics_public or None,
    )
    from purrflow.server.app import run_server  # the web stack's import, once the options are known good

    run_server(config)


def worker(
    database_url: DatabaseUrl = None,
    temporal: Temporal = None,
    temporal_namespace: TemporalNamespace = None,
    task_queue: TaskQueue = None,
    data_dir: DataDir = None,
    warm_shapes: WarmShapes = None,
    sandbox: Sandbox = "auto",
    sandbox_allow: SandboxAllow = None,
    pass_env: PassEnv = None,
    trust_all_code: TrustAllCode = False,
    session_memory: SessionMemory = None,
    session_cpu: SessionCpu = None,
    session_files: SessionFiles = None,
    session_timeout: SessionTimeout = None,
    carried_folder_limit: CarriedFolderLimit = None,
    runner_attempts: RunnerAttempts = None,
    max_runners: MaxRunners = None,
    max_active: MaxActive = None,
    log_format: LogFormat = None,
) -> None:
    """Run sessions' code for a scaled platform: stretches of sessions from Temporal, over the shared database."""
    config = _config(
        locals(),
        orchestrator="temporal",
        role="worker",
    )
    from purrflow.server.worker import run_worker

    run_worker(config)


#: The options `up` and `worker` share, by parameter name.
_SHARED = (
    "data_dir", "database_url", "temporal", "temporal_namespace", "task_queue", "warm_shapes", "sandbox",
    "sandbox_allow", "pass_env", "trust_all_code", "session_memory", "session_cpu", "session_files",
    "session_timeout", "carried_folder_limit", "runner_attempts", "max_runners", "max_active", "log_format",
)  # fmt: skip


def _shared_config(given: dict[str, Any]) -> dict[str, object]:
    """The options both commands share (from the command's parameters), as `ServerConfig` fields."""
    shared = {name: given[name] for name in _SHARED if name != "temporal"}
    return {
        **shared,
        "temporal_address": given["temporal"],
        "sandbox_allow": tuple(given["sandbox_allow"] or ()) or None,
        "pass_env": tuple(given["pass_env"] or ()) or None,
        "trust_all_code": given["trust_all_code"] or None,
        "session_memory": _size(given["session_memory"], "--session-memory"),
        "session_timeout": _duration(given["session_timeout"], "--session-timeout"),
        "carried_folder_limit": _size(given["carried_folder_limit"], "--carried-folder-limit"),
    }


def _size(text: str | None, option: str) -> int | None:
    from purrflow.config import parse_size

    return parse_size(text, option) if text else None


def _duration(text: str | None, option: str) -> float | None:
    from purrflow.cron import parse_duration

    return parse_duration(text, option) if text else None


def _config(given: dict[str, Any], **own: object) -> ServerConfig:
    """The configuration from the environment, with every option given on the command line over it
    (`given`: the command's parameters)."""
    from purrflow.config import ServerConfig

    return ServerConfig.from_env(**_shared_config(given), **own)
