"""The `purr` command (temporary minimal form: `purr up`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="purrflow: durable Python automations.")


@app.callback()
def _root() -> None:
    """purrflow: durable Python automations."""


@app.command()
def up(
    host: str = "127.0.0.1",
    port: int = 9980,
    data_dir: Annotated[Path | None, typer.Option()] = None,
    demo: bool = False,
    hot_wait: float | None = None,
    sync_timeout: float | None = None,
) -> None:
    """Start the server."""
    from purrflow.config import ServerConfig
    from purrflow.server.app import run_server

    config = ServerConfig.from_env(
        host=host, port=port, data_dir=data_dir, demo=demo, hot_wait_seconds=hot_wait, sync_timeout_seconds=sync_timeout
    )
    run_server(config)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
