"""The journal's details for a session's timeline: each step's arguments (secrets hidden, sealed at rest),
when it began and how long it took, and whether the latest runner answered it by replay — through the API
and `purr sessions journal`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from projects import manifest, write_project

from helpers import Server
from store_rows import stored_bytes

pytestmark = pytest.mark.slow

SECRET = "s3cr3t-journal-value"
MARKER = "marker-in-the-arguments"

PROGRAM = """
import time

from purrflow import sdk


@sdk.activity
def slow(word, times=1):
    time.sleep(0.1)  # sleep-ok: inside an activity, so that its duration shows
    return word * times


@sdk.activity
def authorize(header):
    return len(header)


def main(event):
    token = sdk.get_secret("api_token", hidden=True)
    authorize(f"Bearer {token}")
    first = slow(event.data.word, times=2)  # from the event: no file of the deployment holds it
    sdk.set_value("k", first)
    time.sleep(1)  # sleep-ok: a durable sleep longer than the hot-wait limit, so a new runner replays the session
    return slow("x" * 500)
"""


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def run_session(server: Server, tmp_path: Path) -> tuple[str, list[dict[str, Any]]]:
    server.deploy(write_project(tmp_path / "details", {"purrflow.yaml": manifest("details"), "program.py": PROGRAM}))
    with server.client() as client:
        assert client.put("/api/v1/secrets/api_token", json={"value": SECRET}).status_code == 200
        started = client.post(
            "/api/v1/sessions", json={"project": "details", "entrypoint": "program.py:main", "data": {"word": MARKER}}
        )
        assert started.status_code == 201, started.text
        session_id = str(started.json()["session_id"])
        session = server.wait_state(session_id, "completed", "error")
        assert session["state"] == "completed", session["error"]
        journal = client.get(f"/api/v1/sessions/{session_id}/journal")
    assert journal.status_code == 200, journal.text
    return session_id, list(journal.json()["steps"])


def test_each_step_has_its_arguments_times_and_replay_mark(server: Server, tmp_path: Path) -> None:
    session_id, steps = run_session(server, tmp_path)
    by_name = [(s["name"], s["args"]) for s in steps]
    assert by_name[:3] == [
        ("purrflow.secret_get", "key='api_token'"),
        ("program.authorize", "'Bearer (hidden)'"),
        ("program.slow", f"'{MARKER}', times=2"),
    ]
    name, args = by_name[3]  # a value travels pickled: only its size is shown
    assert name == "purrflow.set_value" and args.startswith("key='k', value=<") and args.endswith(" bytes>")
    assert by_name[4] == ("sleep", "1 s")
    last_name, last_args = by_name[5]
    assert last_name == "program.slow" and last_args.startswith("'xxx") and "..." in last_args
    assert all(SECRET not in str(step) for step in steps)
    for step in steps:
        assert step["started_at"] is not None and step["duration_ms"] is not None, step
        assert seconds(step["started_at"]) <= seconds(step["recorded_at"]) + 0.001
    slow = [s for s in steps if s["name"] == "program.slow"]
    assert all(s["duration_ms"] >= 100 for s in slow)  # the runner's times: the activity slept 0.1 s
    assert 900 <= steps[4]["duration_ms"] < 5000  # the sleep lasted about its second, across two runners
    # Everything before the sleep was journaled by the first runner and replayed by the second; the sleep's
    # end and what came after it were the second runner's own.
    assert [s["replayed"] for s in steps] == [True, True, True, True, False, False]
    assert all(s["attempt"] is None for s in steps)

    shown = purr(server, "sessions", "journal", session_id)
    assert shown.returncode == 0, shown.stderr
    assert f"'{MARKER}', times=2" in shown.stdout and "(replayed)" in shown.stdout
    assert "'Bearer (hidden)'" in shown.stdout and SECRET not in shown.stdout


def test_the_arguments_rest_sealed(server: Server, tmp_path: Path) -> None:
    run_session(server, tmp_path)
    server.stop()  # the WAL checkpointed or not, neither file may hold them in clear
    content = stored_bytes(server.database)
    assert MARKER.encode() not in content
    assert SECRET.encode() not in content
