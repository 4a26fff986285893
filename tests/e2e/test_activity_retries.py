"""Durable activity retries on a real server: each attempt is journaled, each backoff is a durable timer,
and a kill -9 of the server during a backoff neither repeats a finished attempt nor loses one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, wait_until

pytestmark = pytest.mark.slow

PROGRAM = """
import os

from purrflow import sdk


def attempt(name):
    # Counts attempts in a file outside purrflow: what the test checks against the journal.
    path = os.path.join(os.environ["OUT"], name)
    with open(path, "a") as out:
        out.write("x")
    with open(path) as done:
        return len(done.read())


class Refused(Exception):
    pass


@sdk.activity(retries=3, backoff=BACKOFF)
def flaky(name):
    n = attempt(name)
    if n <= 2:
        raise ConnectionError(f"{name}: attempt {n} failed")
    return f"{name}: done on attempt {n}"


@sdk.activity(retries=5, backoff=0.05, non_retryable=(Refused,))
def refused(name):
    attempt(name)
    raise Refused(f"{name}: not today")


@sdk.activity(retries=2, backoff=0.05)
def hopeless(name):
    raise RuntimeError(f"{name}: attempt {attempt(name)} failed")


@sdk.activity
def plain(name):
    n = attempt(name)
    if n == 1:
        raise ConnectionError(f"{name}: attempt {n} failed")
    return f"{name}: done on attempt {n}"


def main(event):
    return globals()[event.data.call](event.data.name)


def hooked(event):
    return plain("w")
"""


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def project(tmp_path: Path, out: Path, *, backoff: float = 0.05, triggers: str = "") -> Path:
    return write_project(
        tmp_path / "retries",
        {
            "purrflow.yaml": manifest("retries", triggers=triggers, vars=f"- name: OUT\n  value: {out}"),
            "program.py": PROGRAM.replace("BACKOFF", repr(backoff)),
        },
    )


def start(client: httpx.Client, call: str, name: str) -> str:
    started = client.post(
        "/api/v1/sessions",
        json={"project": "retries", "entrypoint": "program.py:main", "data": {"call": call, "name": name}},
    )
    assert started.status_code == 201, started.text
    return str(started.json()["session_id"])


def journal(server: Server, session_id: str) -> list[dict[str, Any]]:
    with server.client() as client:
        response = client.get(f"/api/v1/sessions/{session_id}/journal")
    assert response.status_code == 200, response.text
    return list(response.json()["steps"])


def attempts(out: Path, name: str) -> int:
    path = out / name
    return len(path.read_text()) if path.exists() else 0


def test_fails_twice_then_succeeds_under_three_retries(server: Server, tmp_path: Path) -> None:
    out = server.outside
    server.deploy(project(tmp_path, out))
    with server.client() as client:
        session_id = start(client, "flaky", "a")
    session = server.wait_state(session_id, "completed", "error")
    assert session["state"] == "completed", session["error"]
    assert session["result_repr"] == repr("a: done on attempt 3")
    assert attempts(out, "a") == 3
    steps = journal(server, session_id)
    assert [(s["name"], s["outcome"], s["attempt"]) for s in steps] == [
        ("program.flaky", "retried", 1),
        ("sleep", "ok", None),
        ("program.flaky", "retried", 2),
        ("sleep", "ok", None),
        ("program.flaky", "ok", 3),
    ]
    assert steps[0]["summary"] == "ConnectionError: a: attempt 1 failed"
    assert steps[2]["summary"] == "ConnectionError: a: attempt 2 failed"
    assert [s["args"] for s in steps] == [
        "'a'",
        "backoff 0.05 s before attempt 2",
        "'a'",
        "backoff 0.1 s before attempt 3",
        "'a'",
    ]
    assert steps[3]["duration_ms"] >= 90  # the second backoff waited twice the first
    shown = purr(server, "sessions", "journal", session_id)
    assert shown.returncode == 0, shown.stderr
    for text in ("attempt 2", "retried", "ConnectionError: a: attempt 2 failed", "backoff 0.1 s before attempt 3"):
        assert text in shown.stdout, shown.stdout


def test_a_non_retryable_error_fails_at_once(server: Server, tmp_path: Path) -> None:
    out = server.outside
    server.deploy(project(tmp_path, out))
    with server.client() as client:
        session_id = start(client, "refused", "b")
    session = server.wait_state(session_id, "completed", "error")
    assert session["state"] == "error" and "b: not today" in session["error"]["message"]
    assert attempts(out, "b") == 1
    assert [(s["outcome"], s["attempt"]) for s in journal(server, session_id)] == [("error", 1)]


def test_exhausted_retries_fail_the_session_with_the_last_error(server: Server, tmp_path: Path) -> None:
    out = server.outside
    server.deploy(project(tmp_path, out))
    with server.client() as client:
        session_id = start(client, "hopeless", "c")
    session = server.wait_state(session_id, "completed", "error")
    assert session["state"] == "error"
    assert session["error"]["type"] == "RuntimeError" and "c: attempt 3 failed" in session["error"]["message"]
    assert attempts(out, "c") == 3
    steps = [s for s in journal(server, session_id) if s["name"] == "program.hopeless"]
    assert [(s["outcome"], s["attempt"]) for s in steps] == [("retried", 1), ("retried", 2), ("error", 3)]


def test_a_triggers_retries_apply_to_activities_without_their_own(server: Server, tmp_path: Path) -> None:
    out = server.outside
    triggers = """
        - name: hook
          type: webhook
          call: program.py:hooked
          retries: {count: 1, backoff: 0.05}
    """
    deployed = server.deploy(project(tmp_path, out, triggers=triggers))
    [url] = [t["webhook_url"] for t in deployed["triggers"]]
    accepted = httpx.post(url, json={})
    assert accepted.status_code == 202, accepted.text
    hooked = server.wait_state(accepted.json()["session_id"], "completed", "error")
    assert hooked["state"] == "completed", hooked["error"]
    assert hooked["result_repr"] == repr("w: done on attempt 2") and attempts(out, "w") == 2
    with server.client() as client:
        manual = start(client, "plain", "d")  # started by hand, under no trigger: no retries
    assert server.wait_state(manual, "completed", "error")["state"] == "error"
    assert attempts(out, "d") == 1


def test_kill9_during_a_backoff_loses_nothing_and_repeats_no_attempt(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"])
    out = server.outside
    folder = project(tmp_path, out, backoff=1.5)
    server.start()
    try:
        server.deploy(folder)
        with server.client() as client:
            session_id = start(client, "flaky", "e")
        wait_until(lambda: attempts(out, "e") == 1, what="the first attempt")
        server.wait_state(session_id, "waiting")  # the backoff gave the process up: only its timer remains
        server.kill9()
        assert attempts(out, "e") == 1
        server.start()
        session = server.wait_state(session_id, "completed", "error", timeout=60)
        assert session["state"] == "completed", session["error"]
        assert session["result_repr"] == repr("e: done on attempt 3")
        steps = journal(server, session_id)
    finally:
        server.stop()
    assert attempts(out, "e") == 3  # attempt 1 ran once, before the kill, and was not run again
    assert [(s["outcome"], s["attempt"]) for s in steps if s["name"] == "program.flaky"] == [
        ("retried", 1),
        ("retried", 2),
        ("ok", 3),
    ]
    assert steps[0]["replayed"] and not steps[-1]["replayed"]
