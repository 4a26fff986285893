"""Bounded resources: a session past its memory limit or its timeout ends in error naming the limit while
the others go on; a burst far beyond the server's descriptors queues instead of failing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, wait_until

pytestmark = pytest.mark.slow

TRIGGERS = """
- name: hog
  type: manual
  call: program.py:hog
- name: spin
  type: manual
  timeout: 2s
  call: program.py:spin
- name: patient
  type: manual
  timeout: 2s
  call: program.py:patient
- name: steady
  type: manual
  call: program.py:steady
- name: brief
  type: manual
  call: program.py:brief
- name: single
  type: manual
  concurrency: 1
  call: program.py:brief
"""

PROGRAM = """
import time

from purrflow import sdk


@sdk.activity
def tick(n):
    return n


def hog(event):
    block = bytearray(4 * 2**30)
    return len(block)


def spin(event):
    while True:
        pass


def patient(event):
    time.sleep(3)  # sleep-ok: waiting does not count against the timeout
    return "waited"


def steady(event):
    return sum(tick(n) for n in range(200))


def brief(event):
    tick(1)
    time.sleep(0.3)  # sleep-ok: a hot wait: the runner is held meanwhile
    return "done"
"""


@pytest.fixture
def limited(server: Server, tmp_path: Path) -> Server:
    server.deploy(
        write_project(tmp_path / "limits", {"purrflow.yaml": manifest("limits", TRIGGERS), "program.py": PROGRAM})
    )
    return server


def start(server: Server, trigger: str) -> str:
    with server.client() as client:
        return str(
            client.post("/api/v1/sessions", json={"project": "limits", "entrypoint": trigger}).json()["session_id"]
        )


def test_memory_and_timeout_limits_end_only_their_own_session(limited: Server) -> None:
    hog, spin, patient = start(limited, "hog"), start(limited, "spin"), start(limited, "patient")
    steady = [start(limited, "steady") for _ in range(3)]
    hogged = limited.wait_state(hog, "completed", "error")
    assert hogged["state"] == "error" and hogged["error"]["type"] == "MemoryLimitExceeded"
    assert "memory limit of 1 GiB" in hogged["error"]["message"]
    spun = limited.wait_state(spin, "completed", "error", timeout=30)
    assert spun["state"] == "error" and spun["error"]["type"] == "Timeout"
    assert "timeout of 2 s" in spun["error"]["message"]
    assert limited.wait_state(patient, "completed", "error")["result_repr"] == "'waited'"  # 3 s of waiting
    for session_id in steady:
        assert limited.wait_state(session_id, "completed", "error")["result_repr"] == str(sum(range(200)))


def test_a_trigger_with_concurrency_1_runs_its_sessions_one_at_a_time(limited: Server) -> None:
    ids = [start(limited, "single") for _ in range(4)]
    seen: set[str] = set()

    def counts() -> dict[str, int]:  # one query: a consistent picture of every session at once
        with limited.client() as client:
            found: dict[str, int] = client.get("/api/v1/server/stats").json()["sessions"]
        seen.update(found)
        assert found.get("running", 0) + found.get("waiting", 0) <= 1, found
        return found

    wait_until(lambda: counts() == {"completed": 4}, timeout=60, what="the four to complete, one at a time")
    assert "queued" in seen
    assert all(limited.session(i)["result_repr"] == "'done'" for i in ids)


@pytest.mark.local_orchestrator(
    "sessions queue in the server, which answers 503 past its queue; on Temporal they queue in its task queue"
)
def test_a_burst_beyond_the_descriptor_limit_queues_and_the_api_answers_throughout(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", open_files=1024).start()
    try:
        server.deploy(
            write_project(tmp_path / "limits", {"purrflow.yaml": manifest("limits", TRIGGERS), "program.py": PROGRAM})
        )
        failures: list[str] = []

        async def burst() -> list[str]:
            limits = httpx.Limits(max_connections=50)
            headers = {"Authorization": f"Bearer {server.token}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, limits=limits, timeout=60) as client:
                gate = asyncio.Semaphore(50)

                async def one() -> str:
                    async with gate:
                        answer = await client.post(
                            "/api/v1/sessions", json={"project": "limits", "entrypoint": "brief"}
                        )
                        if answer.status_code != 201:
                            failures.append(answer.text)
                        return str(answer.json().get("session_id"))

                async def watch() -> None:
                    while len(started) < 1500:
                        health = await client.get("/api/v1/server/stats")
                        if health.status_code != 200:
                            failures.append(f"stats: {health.status_code}")
                        await asyncio.sleep(0.2)  # sleep-ok: the pace of a monitor, not a wait for a result

                started: list[str] = []
                watcher = asyncio.create_task(watch())
                for session_id in await asyncio.gather(*(one() for _ in range(1500))):
                    started.append(session_id)
                await watcher
                return started

        ids = asyncio.run(burst())
        assert failures == []
        with server.client() as client:
            wait_until(
                lambda: client.get("/api/v1/server/stats").json()["sessions"].get("completed", 0) == 1500,
                timeout=600,
                interval=0.5,
                what="1500 sessions to complete",
            )
            stats = client.get("/api/v1/server/stats").json()
        assert stats["sessions"] == {"completed": 1500}, stats
        assert len(set(ids)) == 1500
        assert "Too many open files" not in server.log_path.read_text()
    finally:
        server.stop()


@pytest.mark.local_orchestrator(
    "sessions queue in the server, which answers 503 past its queue; on Temporal they queue in its task queue"
)
def test_past_its_queue_a_webhook_answers_503_with_retry_after(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--max-runners", "1", "--max-queued", "1", "--hot-wait", "30"])
    server.start()
    try:
        triggers = "- name: hook\n  type: webhook\n  call: program.py:hold"
        # The runner stays busy (no durable wait, which would lend the runner to a queued session) until the
        # test opens the gate.
        program = (
            "import os, select\n\ndef hold(event):\n"
            "    while not os.path.exists(os.environ['GATE']):\n"
            "        select.select([], [], [], 0.01)\n"  # sleep-ok: polls the test's gate
            "    return 'held'\n"
        )
        gate = server.outside / "gate"
        files = {
            "purrflow.yaml": manifest("busy", triggers, vars=f"- name: GATE\n  value: {gate}"),
            "program.py": program,
        }
        hook = server.deploy(write_project(tmp_path / "busy", files))["triggers"][0]["webhook_url"]
        first = httpx.post(hook)
        wait_until(lambda: server.session(first.json()["session_id"])["state"] == "running", what="the first to run")
        second = httpx.post(hook)
        assert (first.status_code, second.status_code) == (202, 202)
        assert server.session(second.json()["session_id"])["state"] == "queued"
        third = httpx.post(hook)
        assert third.status_code == 503
        assert third.headers["Retry-After"] == "1"
        assert "nothing was stored" in third.json()["error"]["message"]
        gate.touch()
        for answer in (first, second):
            assert server.wait_state(answer.json()["session_id"], "completed", timeout=30)["result_repr"] == "'held'"
        assert httpx.post(hook).status_code == 202  # room again
    finally:
        server.stop()


def test_two_sleeping_sessions_that_share_one_runner_both_finish(tmp_path: Path) -> None:
    # They sleep until the same moment, each lending the runner to the other while it sleeps. The one woken
    # first replays to a sleep already due: it must end at once, not wait again (holding the wait, it lent
    # the runner back to the other before its timer fired, and the two took it from each other forever).
    server = Server(tmp_path / "data", extra_args=["--max-runners", "1", "--hot-wait", "30"]).start()
    try:
        triggers = "- name: hook\n  type: webhook\n  call: program.py:nap"
        program = (
            "import time\n\ndef nap(event):\n"
            "    time.sleep(max(0.0, float(event.data.url.query.at) - time.time()))\n"  # sleep-ok: the wait
            "    return 'rested'\n"
        )
        hook = server.deploy(
            write_project(tmp_path / "naps", {"purrflow.yaml": manifest("naps", triggers), "program.py": program})
        )["triggers"][0]["webhook_url"]
        wake = time.time() + 3
        sessions = [httpx.post(f"{hook}?at={wake}").json()["session_id"] for _ in range(2)]
        for session_id in sessions:
            assert server.wait_state(session_id, "completed", "error", timeout=30)["result_repr"] == "'rested'"
    finally:
        server.stop()
