"""Faults are contained: an exception injected at each host-side fault point (`PURRFLOW_FAULTS`, read by
the server at start) fails the step it hit — the handler sees `InternalError` raised by its SDK call — or,
where there is no step, the session; it is logged once, and the server goes on serving. `purr run`
returns, whatever fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server, wait_until
from purrflow.wire import OPERATIONS, WaitKind

pytestmark = pytest.mark.slow

MANIFEST = manifest(
    "faulty",
    """
    - name: hook
      type: webhook
      call: program.py:main
    """,
)

PROGRAM = '''
import dataclasses
import json

from purrflow import sdk, wire
from purrflow.errors import InternalError
from purrflow.sdk import _runtime


@sdk.activity
def work():
    return 1


def attempt(label, call):
    try:
        call()
    except InternalError as err:
        return {"label": label, "error": "InternalError", "message": err.message}
    except Exception as err:  # a different failure: the test says which
        return {"label": label, "error": type(err).__name__, "message": str(err)}
    return {"label": label, "error": None, "message": ""}


def every_operation():
    """Each operation of the wire, performed the way the SDK performs it."""
    runtime = _runtime.current()
    for op in wire.OPERATIONS:
        instance = op(**{f.name: f"{f.name}-value" for f in dataclasses.fields(op)})
        yield op.step.label, lambda instance=instance: runtime.call_host(instance)


def every_wait(soon):
    runtime = _runtime.current()
    yield "sleep", lambda: sdk.sleep(0.05)  # sleep-ok: the durable sleep under test
    yield "signal", lambda: runtime.wait(wire.ProjectSignalWait(("ping",), soon))
    yield "session_signal", lambda: runtime.wait(wire.SessionSignalWait(("ping",), soon))
    yield "event", lambda: runtime.wait(wire.EventWait(("sub_none",), soon))
    yield "prompt", lambda: runtime.wait(wire.PromptWait({"type": "input", "name": "who"}))


def main(event):
    kinds = event.data.body.json["kinds"]
    found = []
    if "host" in kinds:
        found += [attempt(label, call) for label, call in every_operation()]
    if "wait" in kinds:
        found += [attempt(f"wait.{label}", call) for label, call in every_wait(event.data.body.json["soon"])]
    if "step" in kinds:
        found.append(attempt("step", work))
    print(json.dumps(found))
    return len(found)


def chatty(event):
    print("a line of output")
    return "done"
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "faulty", {"purrflow.yaml": MANIFEST, "program.py": PROGRAM})


def faulty_server(tmp_path: Path, points: str) -> Server:
    return Server(tmp_path / f"data-{points}", extra_args=["--hot-wait", "0.5"], env={"PURRFLOW_FAULTS": points})


def run_session(server: Server, project: Path, body: dict[str, object], entrypoint: str = "program.py:main") -> str:
    server.deploy(project)
    with server.client() as client:
        started = client.post(
            "/api/v1/sessions",
            json={"project": "faulty", "entrypoint": entrypoint, "data": {"body": {"json": body}}},
        )
    assert started.status_code == 201, started.text
    return str(started.json()["session_id"])


def test_each_host_operation_wait_and_step_fails_with_internal_error(project: Path, tmp_path: Path) -> None:
    server = faulty_server(tmp_path, "host.*,wait.*,step").start()
    try:
        # a deadline from outside: with `step` armed, even the handler's time.time() would fail
        session_id = run_session(server, project, {"kinds": ["host", "wait", "step"], "soon": time.time() + 30})
        session = server.wait_state(session_id, "completed", "error", timeout=60)
        assert session["state"] == "completed", session["error"]
        found = json.loads(server.logs(session_id)[-1])
        expected = [op.step.label for op in OPERATIONS] + [f"wait.{kind}" for kind in WaitKind] + ["step"]
        assert [item["label"] for item in found] == expected
        wrong = [item for item in found if item["error"] != "InternalError"]
        assert wrong == []
        first = found[0]
        assert first["message"].startswith(f"purrflow failed while performing {first['label']}() (step ")
        assert "InjectedFault" in first["message"]
        log = server.log_path.read_text()
        for label in ("get_value", "secret_get", "start", "track"):  # logged once each, with a traceback
            assert log.count(f"the host failed while performing {label}() (step ") == 1, label
        assert "Traceback" in log and "Task exception was never retrieved" not in log
        with server.client() as client:  # still serving
            assert client.get("/api/v1/sessions", params={"project": "faulty"}).status_code == 200
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("point", "doing"),
    [
        ("prepare", "preparing the session's start"),
        ("logs", "recording output"),
        ("finish", "recording the session's end"),
    ],
)
def test_a_fault_without_a_step_fails_the_session(project: Path, tmp_path: Path, point: str, doing: str) -> None:
    server = faulty_server(tmp_path, point).start()
    try:
        ids = [run_session(server, project, {}, entrypoint="program.py:chatty") for _ in range(3)]
        for session_id in ids:
            session = server.wait_state(session_id, "completed", "error", timeout=60)
            assert session["state"] == "error"
            assert session["error"]["type"] == "InternalError"
            assert f"purrflow failed while {doing}" in session["error"]["message"]
        with server.client() as client:
            assert client.get("/api/v1/health").status_code == 200
            stats = client.get("/api/v1/server/stats").json()
        assert stats["sessions"].get("running", 0) == 0
        wait_until(lambda: client_stats(server)["runners"] == 0, timeout=20, what="the runners to be gone")
    finally:
        server.stop()


def client_stats(server: Server) -> dict[str, int]:
    with server.client() as client:
        return dict(client.get("/api/v1/server/stats").json())


LOCAL_PROGRAM = """
from purrflow import sdk

def main(event):
    print("hello")
    return sdk.get_value("k")
"""


@pytest.mark.runs_once("`purr run` starts no server")
@pytest.mark.parametrize("points", ["host.get_value", "finish", "logs"])
def test_purr_run_returns_whatever_fails(tmp_path: Path, points: str) -> None:
    folder = write_project(
        tmp_path / "local",
        {
            "purrflow.yaml": manifest("local", "- name: go\n  type: manual\n  call: program.py:main\n"),
            "program.py": LOCAL_PROGRAM,
        },
    )
    env = {**os.environ, "PURRFLOW_FAULTS": points}
    done = subprocess.run(
        [sys.executable, "-m", "purrflow.cli.main", "run", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "InternalError: purrflow failed while" in done.stderr
    assert "purrflow/orchestrators" not in done.stderr  # the host's own traceback stays out of the terminal
    assert "purrflow: session " in done.stderr and "the host failed while" in done.stderr  # said in one line
