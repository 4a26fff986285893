"""Warm runners (a deployment's code imported before its sessions start) and sticky sessions (a waiting
session keeps its runner): sessions see exactly what a cold start would show them, and a kill -9 of the
server while warm zygotes and sticky sessions hold processes loses nothing and re-runs no finished step."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, alive, descendants, wait_until

pytestmark = pytest.mark.slow

PROGRAM = """
import os
import tempfile

from purrflow import sdk

with open(os.environ["OUT"] + "/imports", "a") as imports:  # the module's top level: once per import
    imports.write(f"{os.getpid()}\\n")
print("module imported")
IMPORTED_BY = os.getpid()
CALLS = [0]


def main(event):
    CALLS[0] += 1
    return {
        "warm": IMPORTED_BY != os.getpid(), "calls": CALLS[0], "color": os.environ.get("COLOR"),
        "state": os.environ["SDK_STATE_DIR"], "session": os.environ["PURRFLOW_SESSION_ID"],
        "state_writable": os.access(os.environ["SDK_STATE_DIR"], os.W_OK),
        "home": os.environ["HOME"], "tmp": tempfile.gettempdir(),
    }


@sdk.activity
def step(name):
    with open(os.environ["OUT"] + "/steps", "a") as out:
        out.write(f"{name} {os.getpid()}\\n")


@sdk.activity
def count(n):
    return n


def waiter(event):
    key = event.data.key
    step(f"{key}-before")
    total = sum(count(n) for n in range(event.data.get("steps", 0)))
    subscription = sdk.subscribe("feed", f'data.url.query.to == "{key}"')
    for i in range(event.data.get("rounds", 1)):
        print(f"waiting {i}")
        sdk.next_event(subscription)
        step(f"{key}-after-{i}")
    return [key, total]
"""

NEEDS_A_SESSION = """
import os

from purrflow import sdk

GREETING = sdk.get_value("greeting", "hello")  # a step, at import: it needs its session


def main(event):
    return GREETING
"""

TRIGGERS = """
- name: go
  type: manual
  call: program.py:main
- name: feed
  type: webhook
"""


def deploy(server: Server, tmp_path: Path, program: str = PROGRAM, name: str = "warm") -> str:
    """Deploy the program; its feed webhook's URL."""
    out = server.outside
    files = {"purrflow.yaml": manifest(name, TRIGGERS, vars=f"- name: OUT\n  value: {out}"), "program.py": program}
    deployed = server.deploy(write_project(tmp_path / name, files))
    return str(next(t["webhook_url"] for t in deployed["triggers"] if t["name"] == "feed"))


def run(server: Server, project: str = "warm", entrypoint: str = "go", **data: Any) -> dict[str, Any]:
    with server.client() as client:
        answer = client.post("/api/v1/sessions", json={"project": project, "entrypoint": entrypoint, "data": data})
    assert answer.status_code == 201, answer.text
    return server.wait_state(answer.json()["session_id"], "completed", "error")


def start(server: Server, entrypoint: str, **data: Any) -> str:
    with server.client() as client:
        answer = client.post("/api/v1/sessions", json={"project": "warm", "entrypoint": entrypoint, "data": data})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["session_id"])


def processes_named(name: str, server: Server) -> list[int]:
    """The server's processes of that name (zygotes, warm zygotes, spares, runners)."""
    assert server.proc is not None
    found = []
    for pid in descendants(server.proc.pid):
        try:
            if (Path("/proc") / str(pid) / "comm").read_text().strip() == name:
                found.append(pid)
        except OSError:
            continue
    return found


def imports(server: Server) -> list[str]:
    path = server.outside / "imports"
    return path.read_text().split() if path.exists() else []


def test_later_sessions_fork_from_a_warm_zygote_and_see_what_a_cold_start_shows(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        deploy(server, tmp_path)
        results: list[dict[str, Any]] = []

        def warm_one() -> bool:
            session = run(server)
            assert session["state"] == "completed", session["error"]
            results.append(eval(session["result_repr"]))
            return bool(results[-1]["warm"])

        # The first session starts cold and asks for a warm zygote; later ones fork from it once it is ready.
        wait_until(warm_one, what="a warm runner")
        sessions = [run(server) for _ in range(4)]
        warm = [eval(s["result_repr"]) for s in sessions]
        assert [r["warm"] for r in warm] == [True] * 4
        assert [r["calls"] for r in warm] == [1] * 4, "each session starts from the freshly imported module"
        assert [r["session"] for r in warm] == [s["id"] for s in sessions]
        assert all(r["state"].endswith(s["id"]) and r["state_writable"] for r, s in zip(warm, sessions, strict=True))
        assert len({r["home"] for r in warm} | {r["tmp"] for r in warm}) == 8, "a HOME and TMPDIR of its own each"
        for session in sessions:  # what the module printed at import is in every session's log
            assert server.logs(session["id"])[0] == "module imported"
        cold = sum(1 for r in results if not r["warm"])
        assert cold >= 1
        assert len(imports(server)) == cold + 1, "imported by each cold session and once by the warm zygote"

        # A var set from outside is a new shape: the next sessions see it, none sees the old environment.
        with server.client() as client:
            assert client.put("/api/v1/projects/warm/vars/COLOR", json={"value": "teal"}).status_code == 200
        assert [eval(run(server)["result_repr"])["color"] for _ in range(3)] == ["teal"] * 3
    finally:
        server.stop()


def test_a_module_that_needs_its_session_at_import_stays_cold_and_works(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        deploy(server, tmp_path, NEEDS_A_SESSION, name="needy")
        results = [run(server, project="needy") for _ in range(4)]
        assert [(r["state"], r["result_repr"]) for r in results] == [("completed", "'hello'")] * 4
        assert not processes_named("purr-warm", server), "its warm zygote could not be primed, so none is kept"
    finally:
        server.stop()


@pytest.mark.local_orchestrator("a waiting session keeps its runner (hot waits); on Temporal every wait gives it up")
def test_a_waiting_session_keeps_its_runner_and_never_replays(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "60"]).start()
    try:
        feed = deploy(server, tmp_path)
        session_id = start(server, "program.py:waiter", key="loop", rounds=5)
        with httpx.Client() as http:
            for i in range(5):
                wait_until(lambda i=i: f"waiting {i}" in server.logs(session_id), what=f"wait {i}")
                http.post(f"{feed}?to=loop").raise_for_status()
        assert server.wait_state(session_id, "completed", "error")["state"] == "completed"
    finally:
        server.stop()
    steps = (server.outside / "steps").read_text().split("\n")
    pids = {line.split()[1] for line in steps if line.startswith("loop-")}
    assert len(pids) == 1, f"the session was replayed in other runners: {pids}"


def test_with_no_hot_memory_a_waiting_session_gives_its_runner_up(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "60", "--hot-memory", "0"]).start()
    try:
        feed = deploy(server, tmp_path)
        session_id = start(server, "program.py:waiter", key="cold", rounds=2)
        with httpx.Client() as http:
            for i in range(2):
                wait_until(lambda: server.session(session_id)["state"] == "waiting", what=f"suspended {i}")
                http.post(f"{feed}?to=cold").raise_for_status()
                wait_until(lambda i=i: f"cold-after-{i}" in (server.outside / "steps").read_text(), what=f"step {i}")
        assert server.wait_state(session_id, "completed", "error")["state"] == "completed"
    finally:
        server.stop()
    lines = [line.split() for line in (server.outside / "steps").read_text().splitlines() if line.startswith("cold-")]
    assert [name for name, _ in lines] == ["cold-before", "cold-after-0", "cold-after-1"]  # none ran twice
    assert len({pid for _, pid in lines}) == 3, "each wait gave the runner up, and the session replayed"


@pytest.mark.local_orchestrator("a waiting session keeps its runner (hot waits); on Temporal every wait gives it up")
def test_a_queued_session_takes_the_runner_of_a_waiting_one(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "60", "--max-runners", "2"]).start()
    try:
        feed = deploy(server, tmp_path)
        waiters = [start(server, "program.py:waiter", key=f"w{i}") for i in range(2)]
        for session_id in waiters:
            wait_until(lambda s=session_id: "waiting 0" in server.logs(s), what="both waiting in their runners")
        assert len(processes_named("purr-session", server)) == 2
        ran = run(server)  # no runner free: a waiting one gives its up for it
        assert ran["state"] == "completed", ran["error"]
        with httpx.Client() as http:
            for i in range(2):
                http.post(f"{feed}?to=w{i}").raise_for_status()
        for session_id in waiters:
            assert server.wait_state(session_id, "completed", "error")["state"] == "completed"
    finally:
        server.stop()


@pytest.mark.local_orchestrator("a waiting session keeps its runner (hot waits); on Temporal every wait gives it up")
def test_kill9_with_warm_zygotes_and_sticky_sessions_loses_nothing(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "60"]).start()
    try:
        feed = deploy(server, tmp_path)
        run(server)
        wait_until(lambda: processes_named("purr-warm", server), what="a warm zygote")
        waiters = [start(server, "program.py:waiter", key=f"k{i}") for i in range(5)]
        for session_id in waiters:
            wait_until(lambda s=session_id: "waiting 0" in server.logs(s), what="the waiters in their runners")
        assert len(processes_named("purr-session", server)) >= 5
        assert server.proc is not None
        processes = descendants(server.proc.pid)  # zygotes, warm zygotes, spares, runners
        os.kill(server.proc.pid, 9)  # the server only: its zygotes and runners must die with it
        server.proc.wait(timeout=10)
        wait_until(
            lambda: not any(alive(pid) for pid in processes), timeout=10, what="the killed server's processes to exit"
        )

        server.start()
        with httpx.Client() as http:
            for i in range(5):
                http.post(f"{feed}?to=k{i}").raise_for_status()
        for session_id in waiters:
            session = server.wait_state(session_id, "completed", "error", timeout=60)
            assert session["state"] == "completed", session["error"]
    finally:
        server.stop()
    ran = Counter(line.split()[0] for line in (server.outside / "steps").read_text().splitlines())
    for i in range(5):
        assert ran[f"k{i}-before"] == 1, "a step finished before the kill ran again"
        assert ran[f"k{i}-after-0"] == 1


def test_a_long_journal_is_streamed_to_the_replaying_runner(tmp_path: Path) -> None:
    """2,500 steps before the wait: the resumed runner gets the first page with its start and the rest while
    it replays, and its replay returns every one of them from the journal."""
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0"]).start()
    try:
        feed = deploy(server, tmp_path)
        session_id = start(server, "program.py:waiter", key="long", steps=2500)
        wait_until(lambda: server.session(session_id)["state"] == "waiting", timeout=60, what="the session suspended")
        httpx.post(f"{feed}?to=long").raise_for_status()
        session = server.wait_state(session_id, "completed", "error", timeout=60)
        assert session["state"] == "completed", session["error"]
        assert session["result_repr"] == repr(["long", sum(range(2500))])
    finally:
        server.stop()
    lines = (server.outside / "steps").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["long-before", "long-after-0"]
    assert lines[0].split()[1] != lines[1].split()[1], "the step after the wait ran in the replaying runner"


@pytest.mark.local_orchestrator("a waiting session keeps its runner (hot waits); on Temporal every wait gives it up")
def test_a_killed_warm_zygote_takes_its_runners_along_and_their_sessions_replay(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "60"]).start()
    try:
        feed = deploy(server, tmp_path)
        run(server)
        (zygote,) = wait_until(lambda: processes_named("purr-warm", server), what="a warm zygote")
        session_id = start(server, "program.py:waiter", key="orphan")
        wait_until(lambda: "waiting 0" in server.logs(session_id), what="the waiter in its warm runner")
        (runner,) = processes_named("purr-session", server)
        os.kill(zygote, 9)
        wait_until(lambda: not alive(runner), timeout=10, what="its runner to die with it")
        # The session replays in a new runner (its death counted), and waits again; the next event reaches it.
        wait_until(lambda: server.logs(session_id).count("waiting 0") == 1 and processes_named("purr-session", server),
                   timeout=30, what="the session replayed to its wait")  # fmt: skip
        httpx.post(f"{feed}?to=orphan").raise_for_status()
        session = server.wait_state(session_id, "completed", "error")
        assert session["state"] == "completed", session["error"]
        assert sum("replay 1 of" in line for line in server.logs(session_id)) == 1  # its runner died once
        assert eval(run(server)["result_repr"])["calls"] == 1  # later sessions still run (warm again, or cold)
    finally:
        server.stop()
    ran = Counter(line.split()[0] for line in (server.outside / "steps").read_text().splitlines())
    assert ran["orphan-before"] == 1 and ran["orphan-after-0"] == 1


def test_a_spare_killed_while_it_waits_is_replaced_and_no_session_notices(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        deploy(server, tmp_path)
        wait_until(lambda: eval(run(server)["result_repr"])["warm"], what="a warm runner")
        (zygote,) = processes_named("purr-warm", server)

        def spares() -> set[int]:
            return {pid for pid in processes_named("purr-spare", server) if pid in descendants(zygote)}

        waiting = wait_until(spares, what="a spare of the warm zygote")
        for pid in waiting:
            os.kill(pid, 9)
        wait_until(lambda: spares() and not spares() & waiting, what="a new spare in place of the killed one")
        sessions = [run(server) for _ in range(3)]
        assert [s["state"] for s in sessions] == ["completed"] * 3, [s["error"] for s in sessions]
        assert [eval(s["result_repr"])["warm"] for s in sessions] == [True] * 3
        assert not any("replay" in line for s in sessions for line in server.logs(s["id"]))
    finally:
        server.stop()
