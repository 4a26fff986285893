"""sdk.user() and sdk.team(): whom a session runs for."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server

pytestmark = pytest.mark.slow

PROGRAM = """
from purrflow import sdk

def who(event):
    return (sdk.user()["username"], sdk.team()["name"], bool(sdk.user()["id"]))

def parent(event):
    return sdk.start("program.py:who")
"""


def test_sessions_run_for_their_starter_or_the_project_owner(server: Server, tmp_path: Path) -> None:
    triggers = "- name: hook\n  type: webhook\n  call: program.py:who"
    server.deploy(write_project(tmp_path / "who", {"purrflow.yaml": manifest("who", triggers), "program.py": PROGRAM}))
    with server.client() as admin:
        owner = admin.get("/api/v1/me").json()["user"]["username"]
        member_token = admin.post("/api/v1/users", json={"username": "mo"}).json()["token"]
        hook = admin.get("/api/v1/triggers", params={"project": "who"}).json()["triggers"][0]["webhook_url"]
    member = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {member_token}"})
    started = member.post("/api/v1/sessions", json={"project": "who", "entrypoint": "program.py:who"}).json()
    assert server.wait_state(started["session_id"], "completed")["result_repr"] == "('mo', 'default', True)"

    by_webhook = httpx.post(hook).json()["session_id"]
    assert server.wait_state(by_webhook, "completed")["result_repr"] == f"('{owner}', 'default', True)"

    parent = member.post("/api/v1/sessions", json={"project": "who", "entrypoint": "program.py:parent"}).json()
    child = server.wait_state(parent["session_id"], "completed")["result_repr"].strip("'")
    assert server.wait_state(child, "completed")["result_repr"] == "('mo', 'default', True)"  # the parent's user
