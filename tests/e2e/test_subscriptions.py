"""Subscriptions and next_event through real HTTP and `purr events send`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from projects import write_project

from helpers import Server, wait_until
from store_rows import raw_rows

pytestmark = pytest.mark.slow

MANIFEST = """
version: v1
project:
  name: subs
  connections:
    - name: chat
      integration: slack
  triggers:
    - name: hook
      type: webhook
      event_type: post
      filter: data.body.json.kind == "order"
      call: program.py:on_order
    - name: on_command
      connection: chat
      event_type: message
      filter: data.text.startsWith("!")
      call: program.py:on_command
"""

PROGRAM = """
from purrflow import sdk

def on_order(event):
    return "order"

def on_command(event):
    return "command " + event.data.text

def watcher(event):
    sub = sdk.subscribe("hook", 'data.body.json.kind != "order"')
    seen = []
    while len(seen) < 3:
        got = sdk.next_event(sub, timeout=30)
        seen.append(got.body.json.kind)
    return seen

def bot(event):
    sub = sdk.subscribe("chat", 'data.channel == "C1"')
    heard = []
    while True:
        message = sdk.next_event([sub], full=True)
        heard.append((message.event_type, message.data.text))
        if message.data.text == "bye":
            return heard

def patient(event):
    sub = sdk.subscribe("chat")
    return sdk.next_event(sub, timeout=0.5)

def broken_filter(event):
    sdk.subscribe("chat", "data.text ==")

def unknown_source(event):
    sdk.subscribe("nope")

def connection_env(event):
    import os
    return os.environ.get("chat__token"), os.environ.get("chat__team")
"""


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def start(server: Server, entrypoint: str) -> str:
    with server.client() as client:
        body = {"project": "subs", "entrypoint": f"program.py:{entrypoint}"}
        return str(client.post("/api/v1/sessions", json=body).json()["session_id"])


@pytest.fixture
def hook_url(server: Server, tmp_path: Path) -> str:
    deployed = server.deploy(write_project(tmp_path / "subs", {"purrflow.yaml": MANIFEST, "program.py": PROGRAM}))
    return next(t["webhook_url"] for t in deployed["triggers"] if t["name"] == "hook")


def test_a_subscription_sees_what_its_trigger_rejects_in_arrival_order(server: Server, hook_url: str) -> None:
    watcher = start(server, "watcher")
    server.wait_state(watcher, "waiting")
    kinds = ["refund", "order", "note", "order", "question"]
    answers = [httpx.post(hook_url, json={"kind": kind}).json() for kind in kinds]
    assert [bool(a["session_id"]) for a in answers] == [False, True, False, True, False]  # the trigger's filter
    watched = server.wait_state(watcher, "completed", "error")
    assert watched["result_repr"] == "['refund', 'note', 'question']"


def test_a_chat_bot_loop_over_injected_connection_events(server: Server, hook_url: str) -> None:
    bot = start(server, "bot")
    server.wait_state(bot, "waiting")
    for channel, text in [("C1", "hello"), ("C2", "elsewhere"), ("C1", "!help"), ("C1", "bye")]:
        sent = purr(server, "events", "send", "chat", "--project", "subs", "--type", "message", "--json",
                    "--data", json.dumps({"channel": channel, "text": text}))  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        if text == "!help":  # the connection trigger's filter starts a session for commands only
            command = json.loads(sent.stdout)["session_ids"][0]
            assert server.wait_state(command, "completed")["result_repr"] == "'command !help'"
    heard = server.wait_state(bot, "completed", "error")
    assert heard["result_repr"] == "[('message', 'hello'), ('message', '!help'), ('message', 'bye')]"


def test_timeouts_and_bad_subscriptions(server: Server, hook_url: str) -> None:
    assert server.wait_state(start(server, "patient"), "completed")["result_repr"] == "None"
    broken = server.wait_state(start(server, "broken_filter"), "completed", "error")
    assert "subscribe('chat'): invalid CEL filter 'data.text =='" in broken["error"]["message"]
    assert "1:" in broken["error"]["message"]  # the position
    unknown = server.wait_state(start(server, "unknown_source"), "completed", "error")
    assert "no trigger or connection named 'nope'" in unknown["error"]["message"]
    assert "chat, hook, on_command" in unknown["error"]["message"]
    refused = purr(server, "events", "send", "nowhere", "--project", "subs", "--type", "x")
    assert refused.returncode == 1 and "no trigger or connection named 'nowhere'" in refused.stderr


MANY = """
from purrflow import sdk

def one(event):
    sub = sdk.subscribe("chat", f"data.n == {event.data.n}")
    return sdk.next_event(sub).n
"""


@pytest.mark.local_orchestrator("a thousand sessions: the Temporal dev server starts 10–20 workflows a second here")
def test_one_event_among_a_thousand_subscriptions_resumes_exactly_its_session(tmp_path: Path) -> None:
    manifest = "version: v1\nproject:\n  name: many\n  connections:\n    - name: chat\n      integration: slack\n"
    project = write_project(tmp_path / "many", {"purrflow.yaml": manifest, "program.py": MANY})
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"]).start()
    try:
        server.deploy(project)
        with server.client() as client:
            ids = [
                client.post(
                    "/api/v1/sessions", json={"project": "many", "entrypoint": "program.py:one", "data": {"n": n}}
                ).json()["session_id"]
                for n in range(1000)
            ]

            def server_stats() -> dict[str, object]:
                return dict(client.get("/api/v1/server/stats").json())

            wait_until(  # and all suspended: a session waiting in its runner is `waiting` too, until it gives it up
                lambda: (stats := server_stats())["sessions"] == {"waiting": 1000} and stats["runners"] == 0,
                timeout=240,
                what="1000 waiting, suspended",
            )
            sent = client.post(
                "/api/v1/events",
                json={"project": "many", "source": "chat", "event_type": "message", "data": {"n": 537}},
            )
            assert sent.status_code == 201
            assert server.wait_state(ids[537], "completed")["result_repr"] == "537"
            assert server_stats()["sessions"] == {"waiting": 999, "completed": 1}
    finally:
        server.stop()


def test_event_waits_survive_kill9_and_each_event_is_delivered_once(tmp_path: Path) -> None:
    project = write_project(tmp_path / "subs", {"purrflow.yaml": MANIFEST, "program.py": PROGRAM})
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"]).start()
    try:
        server.deploy(project)
        bots = [start(server, "bot") for _ in range(3)]
        for bot in bots:
            server.wait_state(bot, "waiting")
        server.kill9()
        server.start()
        with server.client() as client:
            for text in ("one", "two", "bye"):
                body = {"project": "subs", "source": "chat", "event_type": "message",
                        "data": {"channel": "C1", "text": text}}  # fmt: skip
                assert client.post("/api/v1/events", json=body).status_code == 201
        for bot in bots:
            heard = server.wait_state(bot, "completed", "error")
            assert heard["result_repr"] == "[('message', 'one'), ('message', 'two'), ('message', 'bye')]", heard
    finally:
        server.stop()


def test_a_finished_session_keeps_no_subscription_even_after_a_restart(server: Server, hook_url: str) -> None:
    assert server.wait_state(start(server, "patient"), "completed")["result_repr"] == "None"
    server.stop()
    server.start()
    sent = purr(server, "events", "send", "chat", "--project", "subs", "--type", "message", "--data", "{}")
    assert sent.returncode == 0, sent.stderr
    assert raw_rows(server.database, "SELECT COUNT(*) FROM subscriptions WHERE active = 1") == [(0,)]
    assert raw_rows(server.database, "SELECT COUNT(*) FROM signals") == [(0,)]  # nothing queued for the ended one


def test_connection_fields_reach_sessions_as_environment_variables(server: Server, hook_url: str) -> None:
    assert purr(server, "connections", "set", "subs", "chat", "token=xoxb-1", "team=T9").returncode == 0
    listed = json.loads(purr(server, "connections", "list", "subs", "--json").stdout)
    assert [c["fields"] for c in listed if c["name"] == "chat"] == [{"team": "(hidden)", "token": "(hidden)"}]
    session = server.wait_state(start(server, "connection_env"), "completed")
    assert session["result_repr"] == "('xoxb-1', 'T9')"
    assert purr(server, "connections", "set", "subs", "chat", "team=").returncode == 0
    assert server.wait_state(start(server, "connection_env"), "completed")["result_repr"] == "('xoxb-1', None)"
    missing = purr(server, "connections", "set", "subs", "nope", "a=b")
    assert missing.returncode == 1 and "no connection named 'nope'" in missing.stderr
