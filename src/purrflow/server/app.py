"""The server: one FastAPI app over one `Platform`, on uvicorn's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from purrflow import __version__
from purrflow.config import ADMIN_TOKEN_FILE, ServerConfig
from purrflow.data_lock import DataDirLock
from purrflow.engine.deploy import collect_files
from purrflow.engine.notices import listen, stop_listening
from purrflow.engine.sandbox import SandboxPolicy, SandboxSettings
from purrflow.engine.secretbox import SecretBox
from purrflow.faults import Faults
from purrflow.orchestrators.admission import default_max_active, default_max_runners
from purrflow.orchestrators.sticky import default_hot_memory
from purrflow.orchestrators.warm import WarmPolicy
from purrflow.platform import DATABASE_FILE, Platform, PlatformConfig, build_platform
from purrflow.server import (
    analytics_api,
    api,
    api_docs,
    config_api,
    connections_api,
    errors,
    events_api,
    identity_api,
    inbound,
    metrics,
    oauth,
    prompts_api,
    secrets_api,
    ui,
    values_api,
    vars_api,
    webhooks,
)
from purrflow.server.durable import DurableResponses
from purrflow.server.limits import BodySizeLimit
from purrflow.services.carried_folders import FolderLimits
from purrflow.store import IN_CLEAR, Store, open_store, shown_url
from purrflow.telemetry import configure_logging
from purrflow.wire import Limits

if TYPE_CHECKING:
    from purrflow.orchestrators.temporal import TemporalSettings

log = logging.getLogger("purrflow.server")
#: How long an idle keep-alive connection stays open. Longer than uvicorn's 5 s: a client that sends its
#: next request just as a busy server's timer fires gets its connection closed under it (a reset, not an
#: answer), which a burst of clients sharing a connection pool meets.
KEEP_ALIVE_SECONDS = 30


def create_app(config: ServerConfig) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform = build_platform(platform_config(config))
        app.state.platform = platform
        platform.identity.bootstrap_admin(config.data_dir / ADMIN_TOKEN_FILE)
        await platform.start()
        if config.demo:
            await _deploy_demo(platform)
        try:
            yield
        finally:
            await platform.close()

    app = FastAPI(
        title="purrflow",
        version=__version__,
        description="Durable Python automations for teams.",
        openapi_url=api_docs.OPENAPI_URL,
        docs_url=None,  # api_docs serves Swagger UI from the wheel, not a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.config = config
    errors.install(app, page_for=ui.not_found_page)
    app.add_middleware(DurableResponses, committed=lambda scope: platform_of_app(scope).committed())
    app.add_middleware(BodySizeLimit)  # outermost of ours: a body over its limit reaches nothing
    app.include_router(api.router)
    app.include_router(values_api.router)
    app.include_router(events_api.router)
    app.include_router(identity_api.router)
    app.include_router(config_api.router)
    app.include_router(prompts_api.router)
    app.include_router(secrets_api.router)
    app.include_router(analytics_api.router)
    app.include_router(vars_api.router)
    app.include_router(connections_api.router)
    app.router.routes.extend(api_docs.routes)
    app.router.routes.extend(inbound.routes)
    app.router.routes.extend(oauth.routes)
    app.router.routes.extend(metrics.routes)
    app.include_router(ui.router)
    app.mount("/static", StaticFiles(packages=[("purrflow.server.ui", "static")]), name="static")
    return app


def platform_config(config: ServerConfig) -> PlatformConfig:
    return PlatformConfig(
        data_dir=config.data_dir,
        database_url=config.database_url,
        durability=config.durability,
        runner=config.runner,
        public_url=config.url,
        hot_wait_seconds=config.hot_wait_seconds,
        hot_memory_bytes=config.hot_memory if config.hot_memory is not None else default_hot_memory(),
        warm=WarmPolicy(max_shapes=config.warm_shapes),
        timezone=config.timezone,
        catch_up=config.catch_up,
        faults=Faults.of(config.faults),
        sandbox=sandbox_settings(config),
        limits=Limits(config.session_memory, config.session_cpu, config.session_files),
        session_timeout=config.session_timeout,
        carried_folders=FolderLimits(bytes=config.carried_folder_limit),
        runner_attempts=config.runner_attempts,
        max_runners=config.max_runners or default_max_runners(resource.getrlimit(resource.RLIMIT_NOFILE)[0]),
        max_queued=config.max_queued,
        max_queue_wait=config.max_queue_wait,
        max_active=config.max_active or default_max_active(),
        encrypt_at_rest=config.encrypt_at_rest,
        tracing=config.tracing,
        retention=config.retention_seconds,
        temporal=_temporal_settings(config),
        runs_sessions=config.role != "api",
        serves_api=config.role != "worker",
    )


def _temporal_settings(config: ServerConfig) -> TemporalSettings | None:
    if config.orchestrator != "temporal":
        return None
    from purrflow.orchestrators.temporal import TemporalSettings  # Temporal's client, only when asked for

    return TemporalSettings(config.temporal_address, config.temporal_namespace, config.task_queue)


def sandbox_settings(config: ServerConfig) -> SandboxSettings:
    return SandboxSettings(
        mode=config.sandbox,
        allow=config.sandbox_allow,
        trust_all_code=config.trust_all_code,
        pass_env=config.pass_env,
    )


def platform_of_app(scope: Scope) -> Platform:
    platform = scope["app"].state.platform
    assert isinstance(platform, Platform)  # set by the lifespan before any request
    return platform


async def _deploy_demo(platform: Platform) -> None:
    admin = platform.identity.operator_admin()
    folder = Path(str(resources.files("purrflow") / "demo"))
    result = platform.projects.deploy(admin.team_id, collect_files(folder), owner_id=admin.id)
    await platform.committed()
    for trigger in result.triggers:
        url = platform.triggers.webhook_url(trigger)
        if url:
            print(f"  demo webhook {trigger.name}: {url}", flush=True)


def raise_file_limit() -> int:
    """Every descriptor the system lets this process have (runners each need one); how many that is."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def check_services(config: ServerConfig) -> None:
    """Refuse to start, with the reason, when the database or Temporal given does not answer, or when this
    process's data key does not open the database's data (another server's database, another key)."""
    box = SecretBox.load(config.data_dir)
    cipher = box.data_cipher() if config.encrypt_at_rest else IN_CLEAR
    store = open_store(config.database_url or config.data_dir / DATABASE_FILE, cipher=cipher)  # (and migrated)
    try:
        store.check_data_key()
        asyncio.run(_listens(store))
    finally:
        store.close()
    settings = _temporal_settings(config)
    if settings is not None:
        from purrflow.orchestrators.temporal import connect

        asyncio.run(connect(settings))


async def _listens(store: Store) -> None:
    """Where other processes write the database, whether it takes this one's LISTEN (`engine/notices.py`)."""
    task = await listen(store, lambda topic, fields: None, lambda: None)
    if task is not None:
        await stop_listening(task)


def run_server(config: ServerConfig) -> None:
    """Serve until interrupted (`purr up`); refuse at once a data folder another server holds."""
    lock = DataDirLock(config.data_dir)
    lock.acquire()
    raise_file_limit()
    try:
        sandbox = SandboxPolicy(config.data_dir, sandbox_settings(config))  # a bad --sandbox-allow stops here
        check_services(config)
        configure_logging(config.log_format)  # log lines on stderr; the lines below are for the person who starts it
        database = f", database: {shown_url(config.database_url)}" if config.database_url else ""
        print(f"purrflow {__version__} serving on {config.url}  (data: {config.data_dir}{database})", flush=True)
        if config.orchestrator == "temporal":
            where = "on this server and any `purr worker`" if config.role == "all" else "on the workers (`purr worker`)"
            print(
                f"  sessions: Temporal workflows at {config.temporal_address} (task queue {config.task_queue}),"
                f" their code run {where}",
                flush=True,
            )
        print(f"  web UI: {config.url}/   (log in with the API token, or set a password: purr password)", flush=True)
        print(f"  API token: {config.data_dir / 'admin-token'}   API docs: {config.url}/api/v1/docs", flush=True)
        print(f"  {sandbox.describe()}", flush=True)
        if not config.encrypt_at_rest:
            print("  encryption at rest: OFF (PURRFLOW_ENCRYPT_AT_REST): sessions' data rests in clear", flush=True)
        scrape = "open to all (--metrics-public)" if config.metrics_public else "with the API token"
        traces = "OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT)" if config.tracing else "off"
        print(f"  metrics: {config.url}/metrics, {scrape}   traces: {traces}", flush=True)
        app = create_app(config)
        uvicorn.run(
            webhooks.WebhookFront(app, state=app.state),  # webhooks on a lean path; the rest to the app
            host=config.host,
            port=config.port,
            log_level="warning",
            loop="uvloop",
            http="httptools",
            lifespan="on",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            log_config=None,  # uvicorn's lines go through the handler above, in the same format
        )
    finally:
        lock.release()
