"""Events received, as people read them: listed newest first a page at a time (API and CLI), one in
detail with its data and sessions, team-scoped, and dispatched again to the triggers that match it now."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server

pytestmark = pytest.mark.slow

TRIGGERS = """
- name: hook
  type: webhook
  call: program.py:greet
"""

PROGRAM = """
def greet(event):
    return "hello " + event.data.body.json["who"]

def shout(event):
    return "HELLO " + event.data.body.json["who"]
"""


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir), "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def test_events_are_listed_shown_and_redispatched(server: Server, tmp_path: Path) -> None:
    folder = write_project(
        tmp_path / "greeter", {"purrflow.yaml": manifest("greeter", TRIGGERS), "program.py": PROGRAM}
    )
    hook = server.deploy(folder)["triggers"][0]["webhook_url"]
    sent: list[tuple[str, str]] = []
    for who in ("ada", "bob", "cy"):
        accepted = httpx.post(hook, json={"who": who})
        assert accepted.status_code == 202, accepted.text
        sent.append((accepted.json()["event_id"], accepted.json()["session_id"]))
    for _, session_id in sent:
        assert server.wait_state(session_id, "completed", "error")["state"] == "completed"

    with server.client() as client:
        first = client.get("/api/v1/events", params={"project": "greeter", "limit": 2})
        assert first.status_code == 200, first.text
        page = first.json()
        assert [e["id"] for e in page["events"]] == [sent[2][0], sent[1][0]]  # newest first
        assert page["events"][0] | {"created_at": ""} == {
            "id": sent[2][0],
            "project": "greeter",
            "source": "hook",
            "event_type": "post",
            "created_at": "",
        }
        rest = client.get("/api/v1/events", params={"limit": 2, "before": page["next"]}).json()
        assert [e["id"] for e in rest["events"]] == [sent[0][0]] and rest["next"] is None
        assert client.get("/api/v1/events", params={"source": "nope"}).json()["events"] == []

        event_id, session_id = sent[0]
        shown = client.get(f"/api/v1/events/{event_id}")
        assert shown.status_code == 200, shown.text
        event = shown.json()["event"]
        assert event["data"]["body"]["json"] == {"who": "ada"}  # read back through the store's encryption
        assert event["session_ids"] == [session_id]

        # the code changed since: a redispatch runs what the trigger calls now
        (folder / "purrflow.yaml").write_text(manifest("greeter", TRIGGERS.replace("greet", "shout")))
        server.deploy(folder)
        again = client.post(f"/api/v1/events/{event_id}/redispatch")
        assert again.status_code == 201, again.text
        (new_id,) = again.json()["session_ids"]
        assert new_id != session_id
        assert server.wait_state(new_id, "completed", "error")["result_repr"] == "'HELLO ada'"
        assert client.get(f"/api/v1/events/{event_id}").json()["event"]["session_ids"] == [session_id, new_id]
        assert len(client.get("/api/v1/events").json()["events"]) == 3  # the event is not stored twice

        beta = client.post("/api/v1/teams", json={"name": "beta", "admin": "bea"}).json()["token"]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {beta}"}, timeout=30) as other:
        assert other.get("/api/v1/events").json()["events"] == []
        for response in (other.get(f"/api/v1/events/{event_id}"), other.post(f"/api/v1/events/{event_id}/redispatch")):
            assert response.status_code == 404 and "purr events list" in response.json()["error"]["hint"]
        assert other.get("/api/v1/events", params={"before": event_id}).status_code == 404

    listed = purr(server, "events", "list", "--project", "greeter")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    order = [next(i for i, line in enumerate(lines) if eid in line) for eid, _ in reversed(sent)]
    assert order == sorted(order)
    as_json = json.loads(purr(server, "events", "list", "--json").stdout)
    assert [e["id"] for e in as_json["events"]] == [eid for eid, _ in reversed(sent)]
    paged = purr(server, "events", "list", "--limit", "1")
    assert paged.returncode == 0 and f"--before {sent[2][0]}" in paged.stderr

    detail = purr(server, "events", "show", event_id)
    assert detail.returncode == 0, detail.stderr
    assert session_id in detail.stdout and new_id in detail.stdout and '"ada"' in detail.stdout
    assert json.loads(purr(server, "events", "show", event_id, "--json").stdout)["data"]["body"]["json"] == {
        "who": "ada"
    }
    redone = purr(server, "events", "redispatch", sent[1][0])
    assert redone.returncode == 0, redone.stderr
    cli_id = redone.stdout.strip()
    assert cli_id.startswith("ses_")
    assert server.wait_state(cli_id, "completed", "error")["result_repr"] == "'HELLO bob'"
    missing = purr(server, "events", "show", "evt_nope")
    assert missing.returncode == 1 and "no event 'evt_nope'" in missing.stderr and "Traceback" not in missing.stderr
