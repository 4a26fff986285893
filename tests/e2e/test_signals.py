"""Signals over a real server: both forms, held signals, timeouts, children, and a kill -9 while waiting."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server

pytestmark = pytest.mark.slow

PROGRAM = """
from datetime import timedelta
from purrflow import sdk

def approval(event):
    decision = sdk.wait_for_signal("approve", timeout=event.data.get("timeout", 30))
    print("decision:", decision)
    return decision

def approve(event):
    sdk.signal("approve", {"by": event.data.by})

def send(event):
    sdk.signal(event.data.name, event.data.get("data"))

def inbox(event):
    got = sdk.next_signal(["a", "b"], timeout=timedelta(seconds=30))
    return (got.name, got.payload)

def poke(event):
    sdk.signal(event.data.target, "b", 7)

def parent(event):
    child = sdk.start("program.py:child", {"n": 21})
    done = sdk.next_signal(child, timeout=30)
    return done.payload

def child(event):
    return event.data.n * 2

def bad_timeout(event):
    sdk.wait_for_signal("x", timeout="soon")

@sdk.activity
def sneaky():
    sdk.signal("nope")

def in_activity(event):
    sneaky()
"""


@pytest.fixture
def signals_project(server: Server, tmp_path: Path) -> Server:
    server.deploy(write_project(tmp_path / "sig", {"purrflow.yaml": manifest("sig"), "program.py": PROGRAM}))
    return server


def start(server: Server, entrypoint: str, **data: object) -> str:
    with server.client() as client:
        body = {"project": "sig", "entrypoint": f"program.py:{entrypoint}", "data": data}
        response = client.post("/api/v1/sessions", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


def result(server: Server, session_id: str) -> str:
    session = server.wait_state(session_id, "completed", "error")
    assert session["state"] == "completed", session["error"]
    return str(session["result_repr"])


def test_approval_waits_suspended_and_resumes_on_the_signal(signals_project: Server) -> None:
    server = signals_project
    waiting = start(server, "approval")
    server.wait_state(waiting, "waiting")
    result(server, start(server, "approve", by="ada"))
    assert result(server, waiting) == "{'by': 'ada'}"
    assert server.logs(waiting) == ["decision: {'by': 'ada'}"]


def test_every_waiter_receives_and_an_unawaited_signal_is_held_for_the_next(signals_project: Server) -> None:
    server = signals_project
    first, second = start(server, "approval"), start(server, "approval")
    server.wait_state(first, "waiting")
    server.wait_state(second, "waiting")
    result(server, start(server, "approve", by="both"))
    assert result(server, first) == result(server, second) == "{'by': 'both'}"

    result(server, start(server, "send", name="approve", data="held"))
    assert result(server, start(server, "approval")) == "'held'"  # took the held signal at once
    assert result(server, start(server, "approval", timeout=0.5)) == "None"  # it was taken: times out


def test_targeted_signals_and_child_completion(signals_project: Server) -> None:
    server = signals_project
    target = start(server, "inbox")
    server.wait_state(target, "waiting")
    result(server, start(server, "poke", target=target))
    assert result(server, target) == "('b', 7)"
    assert result(server, start(server, "parent")) == "{'completed': True, 'value': 42}"


def test_bad_waits_fail_clearly(signals_project: Server) -> None:
    server = signals_project
    bad = server.wait_state(start(server, "bad_timeout"), "completed", "error")
    assert "timeout must be seconds (int or float) or a datetime.timedelta, not str" in bad["error"]["message"]
    inside = server.wait_state(start(server, "in_activity"), "completed", "error")
    assert "signal() cannot be called inside an @activity" in inside["error"]["message"]


def test_a_wait_survives_kill9_and_the_signal_is_delivered_once(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.3"]).start()
    try:
        server.deploy(write_project(tmp_path / "sig", {"purrflow.yaml": manifest("sig"), "program.py": PROGRAM}))
        waiting = [start(server, "approval") for _ in range(3)]
        for session_id in waiting:
            server.wait_state(session_id, "waiting")
        server.kill9()
        server.start()
        result(server, start(server, "approve", by="after restart"))
        for session_id in waiting:
            assert result(server, session_id) == "{'by': 'after restart'}"
            assert server.logs(session_id) == ["decision: {'by': 'after restart'}"]
        assert result(server, start(server, "approval", timeout=0.5)) == "None"  # consumed, not held
    finally:
        server.stop()
