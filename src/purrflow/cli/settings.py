"""Where the CLI finds its server and token: flags, then environment, then the local data folder."""

from __future__ import annotations

import os
from pathlib import Path

from purrflow.config import ADMIN_TOKEN_FILE, DEFAULT_PORT, default_data_dir

DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


def server_url(flag: str | None = None) -> str:
    return (flag or os.environ.get("PURRFLOW_URL") or DEFAULT_URL).rstrip("/")


def api_token() -> str | None:
    """`PURRFLOW_TOKEN`, else the admin token a server on this machine wrote to its data folder."""
    if token := os.environ.get("PURRFLOW_TOKEN"):
        return token.strip()
    path = default_data_dir() / ADMIN_TOKEN_FILE
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def token_hint() -> str:
    return (
        f"set PURRFLOW_TOKEN, or run the CLI on the server's machine (it reads {default_data_dir() / ADMIN_TOKEN_FILE})"
    )


def data_dir_flag(value: Path | None) -> Path:
    return value if value is not None else default_data_dir()
