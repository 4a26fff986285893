"""`purr worker`: a process that runs sessions' code for a scaled platform, and serves nothing.

It takes stretches of sessions from Temporal's task queue (`orchestrators/temporal.py`) and runs them in its
own sandboxed runners, over the PostgreSQL database the API servers share. Any number run, on any machines;
one that dies has its stretches run again by another.
"""

from __future__ import annotations

import asyncio
import signal

import uvloop

from purrflow import __version__
from purrflow.config import ServerConfig
from purrflow.data_lock import DataDirLock
from purrflow.engine.sandbox import SandboxPolicy
from purrflow.platform import build_platform
from purrflow.server.app import check_services, platform_config, raise_file_limit, sandbox_settings
from purrflow.store import shown_url
from purrflow.telemetry import configure_logging


def run_worker(config: ServerConfig) -> None:
    """Work until interrupted (SIGINT, SIGTERM); refuse at once a data folder another process holds."""
    lock = DataDirLock(config.data_dir)
    lock.acquire()
    raise_file_limit()
    try:
        sandbox = SandboxPolicy(config.data_dir, sandbox_settings(config))
        check_services(config)
        configure_logging(config.log_format)
        database = shown_url(config.database_url) if config.database_url else ""
        print(
            f"purrflow {__version__} worker: sessions of Temporal at {config.temporal_address}"
            f" (task queue {config.task_queue}), database {database}  (data: {config.data_dir})",
            flush=True,
        )
        print(f"  {sandbox.describe()}", flush=True)
        uvloop.run(_work(config))
    finally:
        lock.release()


async def _work(config: ServerConfig) -> None:
    platform = build_platform(platform_config(config))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    await platform.start()
    print("  ready: taking sessions", flush=True)
    try:
        await stopping.wait()
    finally:
        await platform.close()  # its runners end; Temporal runs their stretches again on another worker
