"""Durable sleeps, suspension, replay, journaled nondeterminism and non-deterministic code changes."""

from __future__ import annotations

import pickle
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, session_runners, wait_until

pytestmark = pytest.mark.slow


def start(server: Server, project: str, entrypoint: str, data: dict[str, object] | None = None) -> str:
    with server.client() as client:
        response = client.post(
            "/api/v1/sessions", json={"project": project, "entrypoint": entrypoint, "data": data or {}}
        )
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


def stats(server: Server) -> dict[str, object]:
    with server.client() as client:
        return dict(client.get("/api/v1/server/stats").json())


SLEEPER = """
import time

def main(event):
    print("going to sleep")
    time.sleep(60)  # sleep-ok: the durable sleep under test
    print("woke up")
"""


@pytest.mark.local_orchestrator("200 sessions at the Temporal dev server's pace (10–20 workflows a second here)")
def test_200_sleeping_sessions_hold_no_runner_processes(server: Server, tmp_path: Path) -> None:
    project = write_project(tmp_path / "sleepers", {"purrflow.yaml": manifest("sleepers"), "program.py": SLEEPER})
    server.deploy(project)
    ids = [start(server, "sleepers", "program.py:main") for _ in range(200)]
    wait_until(
        lambda: stats(server)["sessions"] == {"waiting": 200},
        timeout=90,
        what="200 sessions waiting",  # type: ignore[comparison-overlap]
    )
    assert stats(server)["runners"] == 0
    assert stats(server)["timers"] == 200
    wait_until(lambda: not session_runners(server), timeout=10, what="runner processes to exit")
    assert server.logs(ids[0]) == ["going to sleep"]


CLOCKS = """
import random
import time
import uuid

from purrflow import sdk


def main(event):
    first = (time.time(), random.random(), uuid.uuid4().hex)
    print("first", first)
    handle = sdk_client()
    time.sleep(1.5)  # sleep-ok: the durable sleep under test
    print("second", (time.time(), random.random(), uuid.uuid4().hex), type(handle).__name__)
    return first


def sdk_client():
    import pickle_helper
    return pickle_helper.Client()
"""

PICKLE_HELPER = """
class Client:
    def __reduce__(self):
        raise TypeError("a live connection cannot be pickled")
"""


def test_sleep_survives_restart_and_replay_sees_the_same_values(tmp_path: Path) -> None:
    # The "third-party" client lives outside the project, so calling it is an automatic step.
    lib = tmp_path / "lib"
    write_project(lib, {"pickle_helper.py": PICKLE_HELPER})
    project = write_project(tmp_path / "clocks", {"purrflow.yaml": manifest("clocks"), "program.py": CLOCKS})
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"], env={"PYTHONPATH": str(lib)}).start()
    try:
        server.deploy(project)
        session_id = start(server, "clocks", "program.py:main")
        server.wait_state(session_id, "waiting")
        server.kill9()
        server.start()
        session = server.wait_state(session_id, "completed", "error")
        assert session["state"] == "completed", session["error"]
        logs = server.logs(session_id)
    finally:
        server.stop()
    first_lines = [line for line in logs if line.startswith("first")]
    assert len(first_lines) == 1, logs  # replay is silent: the first part printed once
    assert first_lines[0] == f"first {session['result_repr']}"  # time, random and uuid were journaled
    live_notes = [line for line in logs if "cannot be pickled" in line]
    assert len(live_notes) == 1 and "pickle_helper.Client" in live_notes[0], logs
    assert any(line.startswith("second") and line.endswith("Client") for line in logs), logs


V1 = """
import time
from purrflow import sdk

@sdk.activity
def fetch():
    return 1

def main(event):
    fetch()
    time.sleep(2)  # sleep-ok: the durable sleep under test
    return "done"
"""

V2 = """
import time
from purrflow import sdk

@sdk.activity
def fetch_everything():
    return 1

def main(event):
    fetch_everything()
    time.sleep(2)  # sleep-ok: the durable sleep under test
    return "done"
"""


def test_changed_code_under_a_waiting_session_is_caught_as_non_deterministic(server: Server, tmp_path: Path) -> None:
    project = write_project(tmp_path / "evolving", {"purrflow.yaml": manifest("evolving"), "program.py": V1})
    server.deploy(project)
    session_id = start(server, "evolving", "program.py:main")
    server.wait_state(session_id, "waiting")
    (project / "program.py").write_text(V2)
    deployed = server.deploy(project, migrate=True)
    assert deployed["migrated_sessions"] == 1
    session = server.wait_state(session_id, "completed", "error")
    assert session["state"] == "error"
    assert session["error"]["type"] == "NonDeterminismError"
    assert (
        "non-deterministic replay at step 1: journal has program.fetch, code called program.fetch_everything"
        in session["error"]["message"]
    )
    # without migrate, a waiting session keeps the code it started with
    (project / "program.py").write_text(V1)
    server.deploy(project)
    other = start(server, "evolving", "program.py:main")
    server.wait_state(other, "waiting")
    (project / "program.py").write_text(V2)
    server.deploy(project)
    assert server.wait_state(other, "completed", "error")["state"] == "completed"


CHILDREN = """
from purrflow import sdk

def parent(event):
    child = sdk.start("program.py:child", {"n": 21}, memo={"why": "test"})
    print("started", child)
    return child

def child(event):
    print("child got", event.data.n)
    return event.data.n * 2

def escape(event):
    sdk.start("../x.py:f")
"""


def test_child_sessions_and_locations_outside_the_project(server: Server, tmp_path: Path) -> None:
    project = write_project(tmp_path / "family", {"purrflow.yaml": manifest("family"), "program.py": CHILDREN})
    server.deploy(project)
    parent = server.wait_state(start(server, "family", "program.py:parent"), "completed", "error")
    assert parent["state"] == "completed", parent["error"]
    child_id = parent["result_repr"].strip("'")
    child = server.wait_state(child_id, "completed", "error")
    assert child["result_repr"] == "42" and child["parent_id"] == parent["id"]
    assert server.session(child_id)["memo"] == {"why": "test"}

    escaped = server.wait_state(start(server, "family", "program.py:escape"), "completed", "error")
    assert escaped["state"] == "error"
    assert "'../x.py:f'" in escaped["error"]["message"]


NON_DURABLE = """
import os
import time

def main(event):
    with open(os.environ["OUT"], "a") as out:
        out.write("start\\n")
    time.sleep(1.5)  # sleep-ok: the durable sleep under test
    return "done"
"""


def test_non_durable_sessions_keep_their_process_and_rerun_from_the_start(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"])
    out = server.outside / "starts.txt"
    triggers = "- name: hook\n  type: webhook\n  is_durable: false\n  call: program.py:main"
    project = write_project(
        tmp_path / "plain",
        {"purrflow.yaml": manifest("plain", triggers, vars=f"- name: OUT\n  value: {out}"), "program.py": NON_DURABLE},
    )
    server.start()
    try:
        url = server.deploy(project)["triggers"][0]["webhook_url"]
        session_id = httpx.post(url).json()["session_id"]
        wait_until(lambda: out.exists() and out.read_text() == "start\n", what="the first start")
        assert stats(server)["runners"] == 1  # a long sleep, yet the process is kept: it cannot be replayed
        assert server.session(session_id)["state"] == "running"
        server.kill9()
        server.start()
        assert server.wait_state(session_id, "completed", "error")["state"] == "completed"
    finally:
        server.stop()
    assert out.read_text() == "start\nstart\n"  # re-run from the start, as non-durable sessions are


LIVE_THEN_JOURNALED = """
import time

import live_lib


def main(event):
    client = live_lib.make_client(event.data.out)  # cannot be pickled: runs live, again on replay
    before = client.call("before")  # journaled: replay returns it without calling
    print("called", before)
    time.sleep(3)  # sleep-ok: a suspension, and the server is killed during it
    after = client.call("after")
    print("woke up", after)
    return [before, after]
"""

LIVE_LIB = """
import os


def _count(out, name, text):
    with open(os.path.join(out, name), "a") as log:
        log.write(text + "\\n")


class Client:
    def __init__(self, out):
        self.out = out
        _count(out, "made.txt", "made")

    def __reduce__(self):
        raise TypeError("a live connection cannot be pickled")

    def call(self, label):
        _count(self.out, "calls.txt", label)
        return f"{label}-answer"


def make_client(out):
    return Client(out)
"""


def test_steps_after_a_live_step_replay_in_place_after_a_crash(tmp_path: Path) -> None:
    lib = write_project(tmp_path / "lib", {"live_lib.py": LIVE_LIB})
    project = write_project(tmp_path / "live", {"purrflow.yaml": manifest("live"), "program.py": LIVE_THEN_JOURNALED})
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.5"], env={"PYTHONPATH": str(lib)}).start()
    made, calls = server.outside / "made.txt", server.outside / "calls.txt"
    for path in (made, calls):
        path.touch()
        path.chmod(0o666)  # sessions run as an unprivileged uid
    try:
        server.deploy(project)
        session_id = start(server, "live", "program.py:main", {"out": str(server.outside)})
        server.wait_state(session_id, "waiting")
        assert calls.read_text() == "before\n"
        server.kill9()
        server.start()
        session = server.wait_state(session_id, "completed", "error")
        assert session["state"] == "completed", session["error"]
        logs = server.logs(session_id)
    finally:
        server.stop()
    assert session["result_repr"] == "['before-answer', 'after-answer']"
    assert calls.read_text() == "before\nafter\n"  # the journaled call that finished before the kill ran once
    assert made.read_text() == "made\nmade\n"  # the live step ran again on replay, in its place
    live_notes = [line for line in logs if "live_lib.make_client" in line]
    assert len(live_notes) == 1, logs  # replay is silent: noted once
    assert "cannot be pickled" in live_notes[0] and "runs live" in live_notes[0], live_notes
    assert [line for line in logs if line.startswith(("called", "woke"))] == [
        "called before-answer",
        "woke up after-answer",
    ], logs


BIG_RESULT = """
import os
import time

from purrflow import sdk


@sdk.activity
def download(out):
    with open(os.path.join(out, "downloads.txt"), "a") as log:
        log.write("download\\n")
    return b"x" * (2 * 1024 * 1024)


def main(event):
    blob = download(event.data.out)
    time.sleep(1.5)  # sleep-ok: a suspension, so the rest runs in a new process that replays
    return len(blob)
"""


def test_a_result_over_the_limit_runs_live_and_the_log_says_how_large(server: Server, tmp_path: Path) -> None:
    downloads = server.outside / "downloads.txt"
    downloads.touch()
    downloads.chmod(0o666)
    project = write_project(tmp_path / "big", {"purrflow.yaml": manifest("big"), "program.py": BIG_RESULT})
    server.deploy(project)
    session_id = start(server, "big", "program.py:main", {"out": str(server.outside)})
    server.wait_state(session_id, "waiting")
    session = server.wait_state(session_id, "completed", "error")
    assert session["state"] == "completed", session["error"]
    assert session["result_repr"] == str(2 * 1024 * 1024)
    assert downloads.read_text() == "download\ndownload\n"  # not journaled: it ran again on replay
    pickled = len(pickle.dumps(b"x" * (2 * 1024 * 1024), protocol=pickle.HIGHEST_PROTOCOL))
    notes = [line for line in server.logs(session_id) if "program.download" in line]
    assert len(notes) == 1, notes
    assert f"2.0 MiB ({pickled} bytes)" in notes[0], notes
    assert "over the limit of 1 MiB" in notes[0] and "runs live" in notes[0], notes
