"""The CTO.ai Python SDK reference (seed 000): a program calling every function it lists gets what it promises.

`seed_examples/cto/reference` runs as CTO.ai's images run it (`run: python3 /ops/main.py`, a follow-up
command reading `/ops/follow_up.txt`), in a zone west of UTC (TZ=America/Los_Angeles: `sdk.events()`
sends zone-less local times). It calls start, get_host_os, home_dir, log, get_state_path, config.get/
set/delete/get_all, get_secret (shown and hidden), set_secret, team, user, track (tags and event as a
string or a list) and events; and prompts whose fidelity the issue names: digit choices matched as
choices before indexes, text answers as typed, a checkbox's default, date and time variants in RFC 3339,
`progress_bar_advance(0)`. On a server, answered through the API and `purr prompts answer`; under
`purr run`, answered by the command's arguments.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import Server, wait_until

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).parent / "seed_examples" / "cto" / "reference"
ZONE = "America/Los_Angeles"


def result_of(lines: list[str]) -> dict[str, Any]:
    found = [line for line in lines if line.startswith("RESULT ")]
    assert len(found) == 1, lines
    return dict(json.loads(found[0].removeprefix("RESULT ")))


def check_result(result: dict[str, Any], host_os: str, interface: str) -> None:
    assert result["host_os"] == host_os and result["interface"] == interface
    assert result["home_dir"]
    assert result["state_kept"] == "kept for the workflow"
    assert result["config_set"] == {"REF_REGION": "eu-west-1"}  # set returns get-all, as the client does
    assert result["config_get"] == "eu-west-1" and result["config_missing"] is None
    assert result["config_all"] == {"REF_REGION": "eu-west-1"}
    assert (result["config_delete"], result["config_delete_again"]) == (True, False)
    assert result["secret_set"] == "REF_TOKEN" and result["secret_get"] == result["secret_hidden"] == "tok-123"
    assert result["user"] == ["email", "id", "username"] and result["team"] == ["id", "name"]
    assert result["events"] == [[[], "", "deployment"], [["release"], "deploy, prod", 2]]  # local times read as local
    assert result["channel"] == "1"  # choices ["3", "2", "1"] answered 1: the choice "1", not index 1
    assert result["pick"] == "b"  # no choice is "1": an index
    assert result["note"] == "1.10"  # a text answer as typed
    assert result["features"] == ["b"]  # the checkbox's default, for an empty answer
    assert result["day"] == "2026-12-24T00:00:00Z"
    # a bare time is today's (UTC here); yesterday is right too when the run crossed midnight
    today = datetime.now(UTC).date()
    assert result["at"] in {f"{day.isoformat()}T10:30:00Z" for day in (today, today - timedelta(days=1))}


def check_output(lines: list[str]) -> None:
    assert "… working" in lines and "✔ worked" in lines
    progress = [line for line in lines if re.match(r"\[\d+/\d+\]", line)]
    assert progress == ["[2/10] steps", "[2/10] steps", "[3/10] steps", "[10/10] all steps"]  # advance(0) is 0
    assert "secret REF_TOKEN was read by this session" in lines  # once: the second read is hidden
    assert sum("REF_TOKEN was read" in line for line in lines) == 1


def test_every_function_of_the_reference_on_a_server(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.5"], env={"TZ": ZONE}).start()
    try:
        server.deploy(PROJECT, name="reference")
        env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_TOKEN": server.token}

        def cli_answer(prompt_id: str, value: str) -> str:
            argv = [sys.executable, "-m", "purrflow.cli.main", "prompts", "answer", prompt_id, value]
            done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        with server.client() as client:
            started = client.post("/api/v1/sessions", json={"project": "reference", "entrypoint": "ops:reference"})
            assert started.status_code == 201, started.text
            session_id = started.json()["session_id"]
            answers: list[tuple[str, Any, bool]] = [
                ("channel", "1", True), ("pick", 1, False), ("note", "1.10", True), ("features", "", False),
                ("day", "2026-12-24", False), ("at", "10:30", True),
            ]  # fmt: skip
            for name, value, by_cli in answers:
                asked = next_prompt(client, session_id, name)
                if by_cli:
                    cli_answer(asked["id"], value)
                else:
                    response = client.post(f"/api/v1/prompts/{asked['id']}/answer", json={"value": value})
                    assert response.status_code == 200, response.text
        session = server.wait_state(session_id, "completed", "error")
        assert session["state"] == "completed", session["error"]
        lines = server.logs(session_id)
        check_result(result_of(lines), "unknown", "web")  # a server's sessions report no host
        check_output(lines)
        with server.client() as client:
            follow_up = wait_until(
                lambda: next(
                    (
                        s
                        for s in client.get("/api/v1/sessions").json()["sessions"]
                        if s["parent_id"] is None and s["entrypoint"] == "ops:follow-up"
                    ),
                    None,
                ),
                what="the follow-up session",
            )
            username = client.get("/api/v1/me").json()["user"]["username"]
        assert server.wait_state(follow_up["id"], "completed", "error")["state"] == "completed"
        assert server.logs(follow_up["id"]) == [f"follow-up ran for {username}: read from the project folder"]
        with server.client() as client:  # a command's arguments under /ops/ are the project's files too
            body = {"project": "reference", "entrypoint": "ops:follow-up", "data": {"args": ["/ops/follow_up.txt"]}}
            by_hand = client.post("/api/v1/sessions", json=body).json()["session_id"]
        assert server.wait_state(by_hand, "completed", "error")["state"] == "completed"
        text = "read from the project folder"
        assert server.logs(by_hand) == [f"follow-up ran for {username}: {text} + {text}"]
    finally:
        server.stop()


def next_prompt(client: httpx.Client, session_id: str, name: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        prompts = client.get("/api/v1/prompts", params={"session_id": session_id}).json()["prompts"]
        return next((p for p in prompts if p["name"] == name), None)

    return wait_until(find, what=f"prompt {name!r}")


@pytest.mark.runs_once("`purr run` starts no server")
def test_every_function_of_the_reference_under_purr_run(tmp_path: Path) -> None:
    arguments = ["--channel", "1", "--pick=1", "--note", "1.10", "--features=", "--day", "2026-12-24", "--at", "10:30"]
    argv = [sys.executable, "-m", "purrflow.cli.main", "run", str(PROJECT), "reference", *arguments]
    env = {**os.environ, "TZ": ZONE, "PURRFLOW_HOME": str(tmp_path / "home"), "REF_TOKEN": "unused"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    check_result(result_of(lines), sys.platform, "terminal")
    check_output(lines)
    # sdk.start's workflow ran to its end after its caller had returned, before purr run exited
    assert lines[-1].endswith("read from the project folder") and lines[-1].startswith("[follow-up] follow-up ran for")
