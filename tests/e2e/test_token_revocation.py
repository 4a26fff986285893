"""A revoked token stops working everywhere at once, including the log streams it had opened."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, wait_until

pytestmark = pytest.mark.slow

PROGRAM = """
import time

def wait(event):
    print("started")
    time.sleep(60)  # sleep-ok: the session runs while its log stream is revoked
"""


def test_a_revoked_token_ends_its_open_log_streams(server: Server, tmp_path: Path) -> None:
    folder = write_project(tmp_path / "streams", {"purrflow.yaml": manifest("streams"), "program.py": PROGRAM})
    server.deploy(folder)
    with server.client() as admin:
        made = admin.post("/api/v1/tokens", json={"name": "short-lived"}).json()
        session_id = admin.post(
            "/api/v1/sessions", json={"project": "streams", "entrypoint": "program.py:wait"}
        ).json()["session_id"]
    wait_until(lambda: "started" in server.logs(session_id), what="the session's first line")
    headers = {"Authorization": f"Bearer {made['token']}"}
    events: list[str] = []
    revoked_at = None
    timeout = httpx.Timeout(10, read=5)  # a stream that does not end fails the test on its read timeout
    with httpx.stream(
        "GET", f"{server.url}/api/v1/sessions/{session_id}/logs/stream", headers=headers, timeout=timeout
    ) as stream:
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("event:"):
                events.append(line[6:].strip())
            if line.startswith("data:") and '"started"' in line and revoked_at is None:
                with server.client() as admin:
                    assert admin.delete(f"/api/v1/tokens/{made['id']}").status_code == 200
                revoked_at = time.monotonic()
    assert revoked_at is not None, events
    ended_after = time.monotonic() - revoked_at
    assert ended_after < 2.0, f"the stream went on for {ended_after:.2f} s after the token was revoked"
    assert events == ["log", "error"], events
    with server.client() as admin:
        assert admin.get(f"/api/v1/sessions/{session_id}").json()["session"]["state"] in ("running", "waiting")
    refused = httpx.get(f"{server.url}/api/v1/sessions/{session_id}/logs/stream", headers=headers)
    assert refused.status_code == 401
