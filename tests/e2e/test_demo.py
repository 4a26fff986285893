"""The README's first command: `purr up --demo`, a webhook call, and the session's log via the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from helpers import Server

pytestmark = pytest.mark.slow


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_demo_webhook_runs_a_session_whose_log_the_cli_shows(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--demo"]).start()
    try:
        with server.client() as client:
            triggers = client.get("/api/v1/triggers", params={"project": "demo"}).json()["triggers"]
        hello = next(t["webhook_url"] for t in triggers if t["name"] == "hello")
        assert "demo webhook hello: " + hello in (server.data_dir / "server.log").read_text()
        session_id = httpx.get(hello + "?name=Ada").json()["session_id"]
        session = server.wait_state(session_id, "completed", "error")
        assert session["state"] == "completed", session["error"]
        logs = purr(server, "sessions", "logs", session_id)
        assert logs.returncode == 0, logs.stderr
        assert "Hello, Ada!" in logs.stdout and "1 greetings so far" in logs.stdout
        greeted = httpx.get(next(t["webhook_url"] for t in triggers if t["name"] == "greet_sync") + "?name=Bo")
        assert greeted.json() == {"greeting": "Hello, Bo!"}
    finally:
        server.stop()
