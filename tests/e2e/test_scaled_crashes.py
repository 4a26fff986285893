"""kill -9 in a scaled platform: two API servers and two workers over one PostgreSQL and Temporal.

Every webhook an API server accepted becomes a session that completes; no finished step runs again; and a
session waiting on a timer outlives every purrflow process, with only Temporal and PostgreSQL left running.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, alive, session_runners, wait_until
from postgres_cluster import Cluster
from scaled import ScaledPlatform
from temporal_server import TemporalServer

pytestmark = [pytest.mark.slow, pytest.mark.runs_once("it builds its own scaled platform")]

SESSIONS = 100
STEPS = 10

PROGRAM = """
import os
import time

from purrflow import sdk


@sdk.activity
def step(name, n):
    with open(os.environ["OUT"], "a") as out:
        out.write(f"{name} {n}\\n")
    time.sleep(0.02)  # sleep-ok: inside an activity, so the kills land mid-session
    return n


def on_hook(event):
    name = event.data.url.query["name"]
    return sum(step(name, n) for n in range(STEPS))


def napper(event):
    step("napper", 0)
    time.sleep(float(event.data.seconds))  # sleep-ok: the durable sleep under test
    step("napper", 1)
    return "rested"
""".replace("STEPS", str(STEPS))

TRIGGERS = """
- name: hook
  type: webhook
  call: program.py:on_hook
"""


@pytest.fixture
def platform(tmp_path: Path, postgres_cluster: Cluster, temporal_server: TemporalServer) -> Iterator[ScaledPlatform]:
    database = postgres_cluster.new_database()
    scaled = ScaledPlatform(tmp_path, database=database, temporal=temporal_server.address)
    try:
        yield scaled
    finally:
        scaled.stop()
        postgres_cluster.drop_database(database)


def _deploy(platform: ScaledPlatform, tmp_path: Path) -> tuple[Path, str]:
    out = platform.outside / "side-effects.txt"
    out.touch()
    out.chmod(0o666)
    project = write_project(
        tmp_path / "steps",
        {
            "purrflow.yaml": manifest("steps", TRIGGERS, vars=f"- name: OUT\n  value: {out}"),
            "program.py": PROGRAM,
        },
    )
    deployed = platform.apis[0].deploy(project)
    url = next(t["webhook_url"] for t in deployed["triggers"] if t["name"] == "hook")
    return out, "/webhooks/" + url.rsplit("/", 1)[1]


def _steps(out: Path) -> Counter[tuple[str, str]]:
    return Counter((name, n) for (name, n) in (line.split() for line in out.read_text().splitlines()))


def test_kill9_of_a_worker_and_an_api_server_mid_way_loses_no_session_and_reruns_no_finished_step(
    platform: ScaledPlatform, tmp_path: Path
) -> None:
    api1, api2 = platform.add_api(), platform.add_api()
    worker1, _ = platform.add_worker(), platform.add_worker()
    out, hook = _deploy(platform, tmp_path)
    accepted: dict[str, str] = {}  # session name → session id, for every webhook a server answered 2xx
    killed = threading.Event()

    def send(name: str) -> None:
        """Through the first API server while it lives, else (or when it died mid-request) the second."""
        for api in (api1, api2):
            if api is api1 and killed.is_set():
                continue
            try:
                answer = httpx.post(f"{api.url}{hook}?name={name}", timeout=30)
            except httpx.TransportError:
                continue  # it died with the request in flight: nothing was promised, so send it again
            if answer.status_code == 202:
                accepted[name] = answer.json()["session_id"]
                return
        raise AssertionError(f"webhook {name} was accepted by neither API server")

    for i in range(SESSIONS // 2):
        send(f"s{i}")
    wait_until(lambda: sum(_steps(out).values()) >= SESSIONS * STEPS // 6, timeout=120, what="a sixth of the steps")
    runners = session_runners(worker1)
    worker1.kill9()
    api1.kill9()
    killed.set()
    wait_until(lambda: not any(alive(pid) for pid in runners), timeout=10, what="the dead worker's runners to exit")
    before = _steps(out)
    last_before = {name: max(int(n) for (who, n) in before if who == name) for (name, _) in before}
    for i in range(SESSIONS // 2, SESSIONS):
        send(f"s{i}")

    assert len(accepted) == SESSIONS
    for name, session_id in accepted.items():
        session = api2.wait_state(session_id, "completed", "error", timeout=180)
        assert session["state"] == "completed", f"{name}: {session['error']}"
        assert session["result_repr"] == str(sum(range(STEPS)))
    after = _steps(out)
    for name in accepted:
        for n in range(STEPS):
            count = after[(name, str(n))]
            assert count >= 1, f"{name} step {n} never ran"
            if n < last_before.get(name, -1):
                assert count == 1, f"{name} step {n} finished before the kills but ran {count} times"
            else:
                assert count <= 2, f"{name} step {n} ran {count} times"
    assert last_before, "the kills came before any step ran"


def test_a_waiting_session_outlives_every_purrflow_process(platform: ScaledPlatform, tmp_path: Path) -> None:
    api = platform.add_api()
    worker = platform.add_worker()
    out, _ = _deploy(platform, tmp_path)
    with api.client() as client:
        answer = client.post(
            "/api/v1/sessions", json={"project": "steps", "entrypoint": "program.py:napper", "data": {"seconds": 6}}
        )
    assert answer.status_code == 201, answer.text
    session_id = answer.json()["session_id"]
    api.wait_state(session_id, "waiting", timeout=30)
    worker.kill9()
    api.kill9()  # nothing of purrflow is left: Temporal holds the timer, PostgreSQL the journal

    restarted = Server(api.data_dir, extra_args=api.extra_args, env=api.env).start()
    platform.apis.append(restarted)
    platform.add_worker()  # a new worker, on a data folder of its own
    session = restarted.wait_state(session_id, "completed", "error", timeout=60)
    assert session["state"] == "completed", session["error"]
    assert session["result_repr"] == repr("rested")
    assert _steps(out) == Counter({("napper", "0"): 1, ("napper", "1"): 1})
