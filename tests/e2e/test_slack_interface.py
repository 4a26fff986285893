"""Slack as a session's interface: a CTO.ai command started from a slash command prints into the channel
and asks its confirm and list prompts there as interactive messages; the button and the select menu come
back as interactions, are checked like any answer, and the command finishes with them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from projects import write_project

from helpers import Server, wait_until
from standin_server import Reply, Request, StandIn

pytestmark = pytest.mark.slow
SIGNING_SECRET = "slack-interface-secret"

MANIFEST = """
version: v1
project:
  name: slackops
  connections:
    - name: slack_conn
      integration: slack
  triggers:
    - name: from_slack
      connection: slack_conn
      event_type: slash_command
      call: ops:release
"""
OPS = """
version: "1"
commands:
  - name: release
    description: asks in Slack
    run: python3 /ops/main.py
    sdk: "2"
"""
MAIN = """
from cto_ai import prompt, sdk, ux

ux.print("starting a release from " + sdk.get_interface_type())
go = prompt.confirm(name="go", message="Ship it?")
channel = prompt.list(name="channel", message="Which channel?", choices=["3", "2", "1"])
ux.print(f"releasing={go} to channel {channel}")
"""


class Slack(StandIn):
    """chat.postMessage / chat.update / views.open, kept in order."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.updated: list[dict[str, Any]] = []
        super().__init__(
            {
                ("POST", "/api/chat.postMessage"): self.post,
                ("POST", "/api/chat.update"): self.update,
                ("POST", "/api/response"): lambda r: Reply(200, {"ok": True}),
            }
        )

    def post(self, request: Request) -> Reply:
        if request.headers.get("authorization") != "Bearer xoxb-ops":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        body = request.json
        self.posted.append(body)
        return Reply(200, {"ok": True, "channel": body["channel"], "ts": f"100.{len(self.posted)}"})

    def update(self, request: Request) -> Reply:
        self.updated.append(request.json)
        return Reply(200, {"ok": True})

    def prompt_messages(self) -> list[dict[str, Any]]:
        return [p for p in self.posted if p.get("blocks")]


@pytest.fixture
def slack() -> Iterator[Slack]:
    stand_in = Slack()
    yield stand_in
    stand_in.close()


def signed_post(url: str, form: dict[str, str]) -> httpx.Response:
    body = urlencode(form).encode()
    stamp = str(int(time.time()))
    mac = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={mac}",
    }
    return httpx.post(url, content=body, headers=headers, timeout=10)


def interact(url: str, payload: dict[str, Any]) -> httpx.Response:
    return signed_post(url, {"payload": json.dumps(payload)})


def test_a_ctoai_command_started_from_a_slash_command_asks_in_slack(
    server: Server, tmp_path: Path, slack: Slack
) -> None:
    files = {"purrflow.yaml": MANIFEST, "ops.yml": OPS, "main.py": MAIN}
    server.deploy(write_project(tmp_path / "slackops", files))
    fields = {"oauth_access_token": "xoxb-ops", "signing_secret": SIGNING_SECRET, "base_url": f"{slack.url}/api/"}
    with server.client() as client:
        client.patch("/api/v1/connections/slack_conn", params={"project": "slackops"}, json={"vars": fields})
        url = client.get("/api/v1/connections", params={"project": "slackops"}).json()["connections"][0]["inbound_url"]

    started = signed_post(url, {"command": "/release", "text": "", "user_id": "U1", "channel_id": "C42"})
    assert started.status_code == 200, started.text
    session_id = started.json()["session_ids"][0]

    wait_until(lambda: slack.prompt_messages(), timeout=30, what="the confirm in Slack")
    assert slack.posted[0]["text"] == "starting a release from slack" and slack.posted[0]["channel"] == "C42"
    confirm = slack.prompt_messages()[0]
    buttons = confirm["blocks"][1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Yes", "No"] and "Ship it?" in confirm["text"]

    someone_else = interact(url.replace(url.rsplit("/", 1)[1], "con_nope"), {"type": "block_actions"})
    assert someone_else.status_code == 404  # not our connection: nothing answered
    yes = {"action_id": buttons[0]["action_id"], "value": "true", "type": "button"}
    answered = interact(
        url,
        {
            "type": "block_actions",
            "user": {"id": "U1"},
            "actions": [yes],
            "container": {"channel_id": "C42", "message_ts": "100.2"},
        },
    )
    assert answered.status_code == 200, answered.text

    wait_until(lambda: len(slack.prompt_messages()) == 2, timeout=30, what="the list prompt in Slack")
    select = slack.prompt_messages()[1]["blocks"][1]["elements"][0]
    assert select["type"] == "static_select" and [o["value"] for o in select["options"]] == ["3", "2", "1"]
    pick = {"action_id": select["action_id"], "type": "static_select", "selected_option": {"value": "1"}}
    assert interact(url, {"type": "block_actions", "user": {"id": "U1"}, "actions": [pick]}).status_code == 200
    # The same answer again (a double click) changes nothing.
    assert interact(url, {"type": "block_actions", "user": {"id": "U1"}, "actions": [pick]}).status_code == 200

    assert server.wait_state(session_id, "completed", timeout=30)["state"] == "completed"
    wait_until(
        lambda: any("releasing=True to channel 1" in p["text"] for p in slack.posted), timeout=10, what="the result"
    )
    assert any("answered by <@U1>" in json.dumps(u["blocks"]) for u in slack.updated)
    assert "releasing=True to channel 1" in "\n".join(server.logs(session_id))
