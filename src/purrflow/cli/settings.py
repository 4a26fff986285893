"""Where the CLI finds its server and token: flags, then environment, then the local data folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

from purrflow.config import ADMIN_TOKEN_FILE, DEFAULT_PORT, default_data_dir

DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


LOGIN_FILE = "cli-login.json"


def _login() -> dict[str, str]:
    try:
        saved = json.loads((default_data_dir() / LOGIN_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def save_login(url: str, token: str) -> Path:
    """Remember a server and token for later commands (`purr login`), readable by this user only."""
    path = default_data_dir() / LOGIN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "token": token}, handle)
    return path


def forget_login() -> Path | None:
    """Forget what `purr login` saved; the file it removed, or None when there was none."""
    path = default_data_dir() / LOGIN_FILE
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path


def server_url(flag: str | None = None) -> str:
    """The server's URL; `127.0.0.1:9980` (as people type it) means `http://127.0.0.1:9980`."""
    url = (flag or os.environ.get("PURRFLOW_URL") or _login().get("url") or DEFAULT_URL).strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


def api_token() -> str | None:
    """`PURRFLOW_TOKEN`, else the one saved by `purr login`, else a local server's admin token."""
    if token := os.environ.get("PURRFLOW_TOKEN"):
        return token.strip()
    if token := _login().get("token"):
        return token
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
