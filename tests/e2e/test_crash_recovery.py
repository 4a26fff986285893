"""kill -9 of the server while sessions are mid-way: nothing is lost and no finished step runs twice."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server, alive, descendants, wait_until

pytestmark = pytest.mark.slow

SESSIONS = 20
STEPS = 10

PROGRAM = """
import os
import time

from purrflow import sdk


@sdk.activity
def step(name, n):
    with open(os.environ["OUT"], "a") as out:
        out.write(f"{name} {n}\\n")
    time.sleep(0.03)  # sleep-ok: inside an activity, so the kill lands mid-session
    return n


def main(event):
    name = event.data.name
    total = 0
    for n in range(STEPS):
        total += step(name, n)
    return total
""".replace("STEPS", str(STEPS))


def test_kill9_mid_flight_loses_nothing_and_reruns_no_finished_step(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    out = server.outside / "side-effects.txt"
    project = write_project(
        tmp_path / "steps",
        {
            "purrflow.yaml": manifest("steps", vars=f"- name: OUT\n  value: {out}"),
            "program.py": PROGRAM,
        },
    )
    server.start()
    out.touch()
    out.chmod(0o666)  # the sessions append to it as their team's uid
    try:
        server.deploy(project)
        with server.client() as client:
            ids = [
                client.post(
                    "/api/v1/sessions",
                    json={"project": "steps", "entrypoint": "program.py:main", "data": {"name": f"s{i}"}},
                ).json()["session_id"]
                for i in range(SESSIONS)
            ]
        wait_until(lambda: len(out.read_text().splitlines()) >= SESSIONS * STEPS // 3, what="a third of the steps")
        assert server.proc is not None
        runners = descendants(server.proc.pid)
        assert runners, "the server should have runner processes while sessions run"
        os.kill(server.proc.pid, 9)  # the server only: its runners must die with it
        server.proc.wait(timeout=10)
        wait_until(lambda: not any(alive(pid) for pid in runners), timeout=10, what="orphaned runners to exit")
        before = Counter(tuple(line.split()) for line in out.read_text().splitlines())
        last_before = {name: max(int(n) for (who, n) in before if who == name) for (name, _) in before}

        server.start()
        for session_id in ids:
            session = server.wait_state(session_id, "completed", "error", timeout=60)
            assert session["state"] == "completed", session["error"]
            assert session["result_repr"] == str(sum(range(STEPS)))
    finally:
        server.stop()

    after = Counter(tuple(line.split()) for line in out.read_text().splitlines())
    for i in range(SESSIONS):
        name = f"s{i}"
        for n in range(STEPS):
            count = after[(name, str(n))]
            assert count >= 1, f"{name} step {n} never ran"
            if n < last_before.get(name, -1):
                assert count == 1, f"{name} step {n} finished before the kill but ran {count} times"
            else:
                assert count <= 2, f"{name} step {n} ran {count} times"
    assert len(last_before) > 0
