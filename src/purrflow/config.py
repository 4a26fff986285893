"""Server configuration: read once at start-up, validated, and injectable in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from purrflow.errors import InvalidInputError
from purrflow.faults import ENV_VAR as FAULTS_ENV_VAR
from purrflow.store import POSTGRES_SCHEMES

DEFAULT_PORT = 9980
#: The admin token a server writes beside its database, for the CLI on the same machine.
ADMIN_TOKEN_FILE = "admin-token"


def default_data_dir() -> Path:
    """`PURRFLOW_HOME`, else `~/.purrflow`: where the database, deployments and admin token live."""
    return Path(os.environ.get("PURRFLOW_HOME") or Path.home() / ".purrflow")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    #: A PostgreSQL database instead of the data folder's SQLite file (PURRFLOW_DATABASE_URL).
    database_url: str | None = None
    demo: bool = False
    #: The longest a waiting session keeps its runner (within `hot_memory`), in seconds.
    hot_wait_seconds: float = 300.0
    #: What the runners of waiting sessions may hold in all, in bytes (None: a tenth of the machine's
    #: memory, at most 2 GiB; 0: every waiting session gives its runner up at once).
    hot_memory: int | None = None
    #: Deployments kept warm at once: zygotes with the project imported, forking its sessions' runners.
    warm_shapes: int = 16
    sync_timeout_seconds: float = 30.0
    #: Base of webhook URLs handed out; defaults to http://HOST:PORT.
    public_url: str | None = None
    durability: Literal["full", "normal"] = "full"
    runner: Literal["zygote", "spawn"] = "zygote"
    timezone: str = "UTC"
    catch_up: bool = False
    #: Fault points armed for tests (`purrflow.faults`; from PURRFLOW_FAULTS).
    faults: tuple[str, ...] = ()
    #: The sandbox: "auto" (on when the server runs as root), "on" (refuse to start without it), "off".
    sandbox: Literal["auto", "on", "off"] = "auto"
    sandbox_allow: tuple[Path, ...] = ()
    pass_env: tuple[str, ...] = ()
    trust_all_code: bool = False
    #: Each runner's limits: address space (bytes), CPU seconds, open files.
    session_memory: int = 1 << 30
    session_cpu: int = 3600
    session_files: int = 1024
    #: What a session's state or config folder may hold where it is carried between workers (bytes).
    carried_folder_limit: int = 64 << 20
    #: How long a session may run outside waits when its trigger sets no `timeout` (None: no limit).
    session_timeout: float | None = None
    #: How often a session's runner may die, each time replaying it, before the session ends in error.
    runner_attempts: int = 3
    #: Runners alive at once (None: from the machine's memory and the descriptor limit); sessions beyond
    #: it queue, and webhooks are answered 503 once `max_queued` wait.
    max_runners: int | None = None
    max_queued: int = 10_000
    #: A new session may wait this long to start before webhooks answer 503 (seconds).
    max_queue_wait: float = 1.0
    #: Runners running user code at once, waiting ones aside (None: 8 per CPU).
    max_active: int | None = None
    #: Encrypt what sessions carry at rest (PURRFLOW_ENCRYPT_AT_REST=0 turns it off, to measure its cost).
    encrypt_at_rest: bool = True
    #: The server's log lines: "text" for a terminal, "json" (one object a line) for a log pipeline.
    log_format: Literal["text", "json"] = "text"
    #: `/metrics` without a token (it names every team's projects, so by default it needs an operator's).
    metrics_public: bool = False
    #: Export traces over OTLP/HTTP (on when the standard OTEL_EXPORTER_OTLP_ENDPOINT variable is set).
    tracing: bool = False
    #: Ended sessions are deleted this many seconds after they ended (None: kept forever).
    retention_seconds: float | None = None
    #: What drives sessions: "local" (this process, its runners its children) or "temporal" (each session a
    #: Temporal workflow, its code run by workers on any machine; needs `database_url`).
    orchestrator: Literal["local", "temporal"] = "local"
    #: The Temporal service's frontend (PURRFLOW_TEMPORAL), its namespace, and the workers' task queue.
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "purrflow-sessions"
    #: "all": the API and sessions' code; "api": the API only (sessions run on workers); "worker": sessions'
    #: code only (`purr worker`).
    role: Literal["all", "api", "worker"] = "all"

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise InvalidInputError(f"port {self.port} is out of range", hint="use a port from 1 to 65535")
        if self.hot_wait_seconds < 0 or self.sync_timeout_seconds <= 0:
            raise InvalidInputError("hot-wait must be ≥ 0 and sync-timeout > 0 seconds")
        if self.max_queue_wait <= 0 or (self.max_active is not None and self.max_active < 1):
            raise InvalidInputError(
                "max-queue-wait must be > 0 seconds and max-active at least 1",
                hint="e.g. --max-queue-wait 0.5 --max-active 16",
            )
        if (self.hot_memory is not None and self.hot_memory < 0) or self.warm_shapes < 0:
            raise InvalidInputError("hot-memory and warm-shapes must not be negative", hint="0 turns either off")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInputError(
                f"time zone {self.timezone!r} is unknown", hint="use an IANA name such as UTC or Europe/Berlin"
            ) from None
        if self.sandbox not in ("auto", "on", "off"):
            raise InvalidInputError(f"sandbox {self.sandbox!r} is unknown", hint="use auto, on or off")
        if self.session_memory < 64 << 20:
            raise InvalidInputError("the session memory limit must be at least 64 MiB", hint="e.g. --session-memory 1G")
        if self.carried_folder_limit < 1 << 20:
            raise InvalidInputError(
                "the carried folder limit must be at least 1 MiB", hint="e.g. --carried-folder-limit 64M"
            )
        if (self.max_runners is not None and self.max_runners < 1) or self.max_queued < 1:
            raise InvalidInputError("--max-runners and --max-queued must be at least 1")
        if self.runner_attempts < 0:
            raise InvalidInputError("--runner-attempts must be 0 or more")
        if self.session_cpu < 1 or self.session_files < 64:
            raise InvalidInputError("sessions need at least 1 s of CPU time and 64 open files")
        if self.durability not in ("full", "normal"):
            raise InvalidInputError(f"durability {self.durability!r} is unknown", hint="use 'full' or 'normal'")
        if self.database_url is not None and not self.database_url.startswith(POSTGRES_SCHEMES):
            raise InvalidInputError(
                "the database URL must name a PostgreSQL database",
                hint="postgresql://user:password@host:port/database, or leave it unset for the data folder's SQLite",
            )
        if self.orchestrator not in ("local", "temporal"):
            raise InvalidInputError(f"orchestrator {self.orchestrator!r} is unknown", hint="use 'local' or 'temporal'")
        if self.role not in ("all", "api", "worker"):
            raise InvalidInputError(f"role {self.role!r} is unknown", hint="use 'all', 'api' or 'worker'")
        if self.orchestrator == "temporal" and self.database_url is None:
            raise InvalidInputError(
                "the temporal orchestrator needs a PostgreSQL database that every server and worker shares",
                hint="give it with --database-url postgresql://… (PURRFLOW_DATABASE_URL)",
            )
        if self.role != "all" and self.orchestrator != "temporal":
            raise InvalidInputError(
                f"--role {self.role} needs the temporal orchestrator: sessions run on its workers",
                hint="add --orchestrator temporal --temporal HOST:PORT, or leave --role out",
            )
        if self.log_format not in ("text", "json"):
            raise InvalidInputError(f"log format {self.log_format!r} is unknown", hint="use 'text' or 'json'")

    @classmethod
    def from_env(cls, **overrides: object) -> ServerConfig:
        """Defaults < environment (PURRFLOW_PUBLIC_URL, PURRFLOW_DATABASE_URL, PURRFLOW_DURABILITY,
        PURRFLOW_RUNNER, PURRFLOW_TIMEZONE, PURRFLOW_FAULTS, PURRFLOW_ENCRYPT_AT_REST, PURRFLOW_LOG_FORMAT,
        OpenTelemetry's OTEL_*) < overrides."""
        # Imported here: the server's start is the only caller, and the rest of the CLI loads no telemetry.
        from purrflow.telemetry import tracing_wanted

        values: dict[str, object] = {"tracing": tracing_wanted(os.environ)}
        if url := os.environ.get("PURRFLOW_PUBLIC_URL"):
            values["public_url"] = url
        if database_url := os.environ.get("PURRFLOW_DATABASE_URL"):
            values["database_url"] = database_url
        if temporal := os.environ.get("PURRFLOW_TEMPORAL"):
            values["temporal_address"] = temporal
        if durability := os.environ.get("PURRFLOW_DURABILITY"):
            values["durability"] = durability
        if runner := os.environ.get("PURRFLOW_RUNNER"):
            values["runner"] = runner
        if zone := os.environ.get("PURRFLOW_TIMEZONE"):
            values["timezone"] = zone
        if os.environ.get("PURRFLOW_ENCRYPT_AT_REST", "").strip().lower() in ("0", "false", "no", "off"):
            values["encrypt_at_rest"] = False
        if log_format := os.environ.get("PURRFLOW_LOG_FORMAT"):
            values["log_format"] = log_format.strip().lower()
        if faults := os.environ.get(FAULTS_ENV_VAR):
            values["faults"] = tuple(point.strip() for point in faults.split(",") if point.strip())
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str, what: str) -> int:
    """`512M`, `1G`, `1.5GiB`, `1048576` → bytes (binary units, as memory is counted); `what` names where
    the size came from (`--hot-memory`), for the error."""
    raw = text.strip().lower().removesuffix("ib").removesuffix("b")
    number, unit = (raw[:-1], raw[-1]) if raw and raw[-1] in _SIZE_UNITS else (raw, "")
    try:
        value = float(number) * _SIZE_UNITS[unit]
    except ValueError:
        raise InvalidInputError(f"{what} {text!r} is not a size", hint="e.g. 512M, 1G or 2GiB") from None
    if not 0 <= value < float("inf"):
        raise InvalidInputError(f"{what} {text!r} must be zero or more", hint="e.g. 512M, 1G or 2GiB")
    return int(value)
