"""Past its capacity the server turns webhooks away at once — 503 with Retry-After, async and sync alike —
while every request is answered and every session it accepted still completes. A session started through
the API queues instead, up to the queue's limit, and past it gets the same 503 in the API's error shape."""

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
- name: hold
  type: webhook
  call: program.py:hold
- name: hold_sync
  type: webhook
  is_sync: true
  call: program.py:hold
- name: by_hand
  type: manual
  call: program.py:hold
"""
#: Each session holds its runner for 2 s: busy in an activity (a durable sleep would give the runner up
#: to a queued session).
PROGRAM = """
import time
from purrflow import sdk

@sdk.activity
def work():
    time.sleep(2)  # sleep-ok: the handler holds its runner, busy, while the test overloads the server

def hold(event):
    work()
    return "held"
"""
BURST = 60
#: Under its limit a webhook is answered in milliseconds; this bound only says "not queued behind a handler".
PROMPT_SECONDS = 2.0


async def burst(url: str, n: int) -> list[tuple[int, str | None, str, float]]:
    """`n` POSTs at once: (status, Retry-After, error type, seconds to the answer) of each; an HTTP error
    (a dropped connection) raises."""

    async def one(http: httpx.AsyncClient) -> tuple[int, str | None, str, float]:
        sent = time.monotonic()
        answer = await http.post(url, json={"n": 1})
        kind = answer.json().get("error", {}).get("type", "") if answer.status_code >= 400 else ""
        return answer.status_code, answer.headers.get("Retry-After"), kind, time.monotonic() - sent

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=BURST), timeout=60) as http:
        return await asyncio.gather(*(one(http) for _ in range(n)))


@pytest.mark.local_orchestrator(
    "sessions queue in the server, which answers 503 past its queue; on Temporal they queue in its task queue"
)
def test_past_capacity_new_work_is_refused_at_once_and_what_was_accepted_completes(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--max-runners", "2", "--max-queued", "2"])
    server.start()
    try:
        folder = write_project(tmp_path / "busy", {"purrflow.yaml": manifest("busy", TRIGGERS), "program.py": PROGRAM})
        hooks = {t["name"]: t["webhook_url"] for t in server.deploy(folder)["triggers"] if t["webhook_url"]}
        with server.client() as api:
            # The pace is learnt from sessions that waited for a runner: two run while a third queues.
            posted = [httpx.post(hooks["hold"]) for _ in range(3)]
            assert all(p.status_code == 202 for p in posted), [p.text for p in posted]
            first = [p.json()["session_id"] for p in posted]
            for session_id in first:
                server.wait_state(session_id, "completed")

            answers = asyncio.run(burst(hooks["hold"], BURST))

            statuses = sorted({status for status, *_ in answers})
            assert statuses == [202, 503], answers  # every request answered: accepted, or refused
            refused = [a for a in answers if a[0] == 503]
            accepted = len(answers) - len(refused)
            assert accepted >= 2, answers  # both runners got work
            for _, retry_after, kind, seconds in refused:
                assert kind == "OverloadedError"
                assert retry_after is not None and int(retry_after) >= 1
                assert seconds < PROMPT_SECONDS, f"a refusal took {seconds:.2f} s"

            # Still past capacity (the accepted sessions take 2 s each on 2 runners): a sync webhook is refused
            # too; a start by hand queues, until the queue is full.
            sync = httpx.post(hooks["hold_sync"], timeout=30)
            assert sync.status_code == 503 and int(sync.headers["Retry-After"]) >= 1, sync.text
            by_hand = {"project": "busy", "entrypoint": "by_hand"}
            queued = api.post("/api/v1/sessions", json=by_hand)
            assert queued.status_code == 201, queued.text
            assert server.session(queued.json()["session_id"])["state"] == "queued"
            started = api.post("/api/v1/sessions", json=by_hand)
            assert started.status_code == 503, started.text
            assert int(started.headers["Retry-After"]) >= 1
            error = started.json()["error"]
            assert error["type"] == "OverloadedError" and "nothing was stored" in error["message"]
            assert error["hint"] == f"send the request again in {started.headers['Retry-After']} s"

            def all_completed() -> bool:
                counts = api.get("/api/v1/server/stats").json()["sessions"]
                return bool(counts == {"completed": len(first) + accepted + 1})

            wait_until(all_completed, timeout=30 + 2 * accepted, what=f"the {accepted} accepted sessions to complete")
        assert httpx.post(hooks["hold"]).status_code == 202  # room again once the queue has drained
    finally:
        server.stop()
