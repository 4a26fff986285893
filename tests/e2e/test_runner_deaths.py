"""A dead runner is not a dead session: kill -9 of runners (what the OOM killer does) replays their
sessions from the journal; no finished step runs twice; a runner that keeps dying ends its session in
error, with the reason."""

from __future__ import annotations

import os
import random
import signal
from collections import Counter
from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server, session_runners, wait_until

pytestmark = pytest.mark.slow

SESSIONS = 100
STEPS = 10
KILLS = 15
#: Kills one session may take: fewer than the server's replays (--runner-attempts 3 allows 3).
KILLS_PER_SESSION = 2

PROGRAM = """
import os
import time

from purrflow import sdk


@sdk.activity
def step(name, n):
    with open(os.environ["OUT"], "a") as out:
        out.write(f"{name} {n} {os.getpid()}\\n")
    time.sleep(0.05)  # sleep-ok: inside an activity, so a kill can land mid-step
    return n


def main(event):
    return sum(step(event.data.name, n) for n in range(STEPS))


def doomed(event):
    print("about to be killed")
    step("doomed", 0)
    time.sleep(120)  # sleep-ok: a hot wait (the server's hot-wait is longer): the runner stays, to be killed again
    return "never"
""".replace("STEPS", str(STEPS))


def project(tmp: Path, out: Path) -> Path:
    triggers = (
        "- name: go\n  type: manual\n  call: program.py:main\n- name: doomed\n  type: manual\n  call: program.py:doomed"
    )
    return write_project(
        tmp / "steps",
        {"purrflow.yaml": manifest("steps", triggers, vars=f"- name: OUT\n  value: {out}"), "program.py": PROGRAM},
    )


def test_killed_runners_are_replayed_and_no_finished_step_runs_twice(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    out = server.outside / "steps.txt"
    server.start()
    out.touch()
    out.chmod(0o666)
    try:
        server.deploy(project(tmp_path, out))
        with server.client() as client:
            ids = [
                client.post(
                    "/api/v1/sessions", json={"project": "steps", "entrypoint": "go", "data": {"name": f"s{i}"}}
                ).json()["session_id"]
                for i in range(SESSIONS)
            ]
            killed = 0
            in_flight: dict[str, int] = {}  # per session killed: the lowest step that may have been in flight
            kills_of: Counter[str] = Counter()
            chooser = random.Random(7)
            while killed < KILLS:
                lines = [fields for line in out.read_text().splitlines() if len(fields := line.split()) == 3]
                owner = {pid: who for who, _, pid in lines}  # whose runner each pid is (its last line says)
                # Only runners known to be a session's, and never one session past its replays: a session
                # killed more often than --runner-attempts allows ends in error by design (the next test).
                victims = [
                    pid
                    for pid in session_runners(server)
                    if kills_of[owner.get(str(pid), "")] < KILLS_PER_SESSION and str(pid) in owner
                ]
                if not victims:
                    if all(client.get(f"/api/v1/sessions/{i}").json()["session"]["state"] == "completed" for i in ids):
                        break  # they all finished before enough kills
                    continue
                victim = chooser.choice(victims)
                name = owner[str(victim)]
                written = [int(n) for who, n, _ in lines if who == name]
                try:
                    os.kill(victim, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    continue
                kills_of[name] += 1
                in_flight[name] = min(
                    in_flight.get(name, STEPS), max(written, default=0)
                )  # the ones before it finished
                progress = len(out.read_text().splitlines())  # the kills are spread over the run
                wait_until(
                    lambda progress=progress: len(out.read_text().splitlines()) >= min(progress + 10, SESSIONS * STEPS),
                    what="the sessions to go on after a kill",
                )
            states = Counter()
            for session_id in ids:
                session = server.wait_state(session_id, "completed", "error", timeout=120)
                states[session["state"]] += 1
                assert session["state"] == "completed", session["error"]
                assert session["result_repr"] == str(sum(range(STEPS)))
        assert killed >= 10, f"only {killed} runners could be killed"
    finally:
        server.stop()
    ran = Counter(tuple(line.split()[:2]) for line in out.read_text().splitlines())
    for i in range(SESSIONS):
        for n in range(STEPS):
            count = ran[(f"s{i}", str(n))]
            assert count >= 1, f"s{i} step {n} never ran"
            if count > 1:  # only a step in flight at a kill may run again
                assert n >= in_flight.get(f"s{i}", STEPS), f"s{i} step {n} had finished, yet ran {count} times"
    assert sum(count - 1 for count in ran.values()) <= killed


@pytest.mark.local_orchestrator("a waiting session keeps its runner (hot waits); on Temporal every wait gives it up")
def test_a_runner_killed_four_times_ends_its_session_with_the_reason(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "300"])
    out = server.outside / "steps.txt"
    server.start()
    out.touch()
    out.chmod(0o666)
    try:
        server.deploy(project(tmp_path, out))
        with server.client() as client:
            session_id = client.post("/api/v1/sessions", json={"project": "steps", "entrypoint": "doomed"}).json()[
                "session_id"
            ]
            wait_until(lambda: server.session(session_id)["steps"] >= 1, what="its first step to be journaled")
            for kill in range(4):
                pid = wait_until(lambda: session_runners(server), what=f"runner {kill + 1} to start")[0]
                os.kill(pid, signal.SIGKILL)
                wait_until(lambda pid=pid: pid not in session_runners(server), what="the killed runner to be gone")
            session = server.wait_state(session_id, "error", timeout=30)
        assert session["error"]["type"] == "RunnerDied"
        assert "killed by signal 9 (SIGKILL" in session["error"]["message"]
        assert "died 4 times" in session["error"]["message"]
        logs = server.logs(session_id)
        assert sum("replays from its journal" in line for line in logs) == 3
        assert logs.count("about to be killed") == 1  # every line is logged once, however often it replays
        assert out.read_text().count("doomed 0") == 1  # the finished step never ran again
    finally:
        server.stop()
