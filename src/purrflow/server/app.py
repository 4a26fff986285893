"""The server: one Starlette/FastAPI app and one Engine on uvicorn's event loop."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from purrflow import __version__
from purrflow.config import ServerConfig
from purrflow.engine.deploy import collect_files
from purrflow.engine.engine import Engine, EngineConfig
from purrflow.orchestrators.local import make_launcher
from purrflow.server import (
    analytics_api,
    api,
    config_api,
    errors,
    identity_api,
    prompts_api,
    secrets_api,
    values_api,
    webhooks,
)
from purrflow.server.auth import bootstrap_admin
from purrflow.store import open_store

log = logging.getLogger("purrflow.server")


def create_app(config: ServerConfig) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(config.data_dir / "purrflow.db", durability=config.durability)
        engine = Engine(store, make_launcher(config.runner), _engine_config(config))
        app.state.engine = engine
        bootstrap_admin(store, config.data_dir)
        await engine.start()
        if config.demo:
            await _deploy_demo(engine)
        try:
            yield
        finally:
            await engine.close()
            store.close()

    app = FastAPI(
        title="purrflow",
        version=__version__,
        description="Durable Python automations for teams.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.config = config
    errors.install(app)
    app.include_router(api.router)
    app.include_router(values_api.router)
    app.include_router(identity_api.router)
    app.include_router(config_api.router)
    app.include_router(prompts_api.router)
    app.include_router(secrets_api.router)
    app.include_router(analytics_api.router)
    app.router.routes.extend(webhooks.routes)
    return app


def _engine_config(config: ServerConfig) -> EngineConfig:
    return EngineConfig(
        data_dir=config.data_dir,
        public_url=config.url,
        hot_wait_seconds=config.hot_wait_seconds,
        timezone=config.timezone,
        catch_up=config.catch_up,
    )


async def _deploy_demo(engine: Engine) -> None:
    team = engine.store.get_team_by_name("default")
    assert team is not None  # bootstrap_admin created it
    folder = Path(str(resources.files("purrflow") / "demo"))
    admin = next(user for user in engine.store.list_users(team.id) if user.role == "admin")
    result = engine.deploy(team.id, collect_files(folder), owner_id=admin.id)
    await engine.committer.flushed()
    for trigger in result.triggers:
        if trigger.slug:
            print(f"  demo webhook {trigger.name}: {engine.webhook_url(trigger.slug)}", flush=True)


def run_server(config: ServerConfig) -> None:
    """Serve until interrupted (`purr up`)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"purrflow {__version__} serving on {config.url}  (data: {config.data_dir})", flush=True)
    print(f"  API token: {config.data_dir / 'admin-token'}   API docs: {config.url}/api/v1/docs", flush=True)
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level="warning",
        loop="uvloop",
        http="httptools",
        lifespan="on",
    )
