"""Each project in examples/ deployed to a real server and driven through real HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from helpers import Server, wait_until

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def webhooks(deployed: dict[str, object]) -> dict[str, str]:
    return {t["name"]: t["webhook_url"] for t in deployed["triggers"]}  # type: ignore[attr-defined]


def test_hello_webhook(server: Server) -> None:
    url = webhooks(server.deploy(EXAMPLES / "hello_webhook"))["hello"]
    response = httpx.get(url + "?name=Ada", headers={"User-Agent": "tests"})
    assert response.status_code == 202
    session = server.wait_state(response.json()["session_id"], "completed")
    assert session["result_repr"] == "'hello, Ada!'"
    assert server.logs(session["id"]) == [f"GET /webhooks/{url.rsplit('/', 1)[1]} from tests", "hello, Ada!"]


def test_sync_api(server: Server) -> None:
    url = webhooks(server.deploy(EXAMPLES / "sync_api"))["quote"]
    good = httpx.post(url, json={"items": 3})
    assert (good.status_code, good.json(), good.headers["x-quote"]) == (200, {"items": 3, "total_cents": 750}, "1")
    bad = httpx.post(url, json={"items": "many"})
    assert bad.status_code == 400 and "items" in bad.json()["error"]
    assert httpx.get(url).status_code == 202  # GET is not this trigger's method: stored, no session


def test_order_workflow_survives_a_kill_during_its_durable_sleep(tmp_path: Path) -> None:
    project = tmp_path / "order_workflow"
    shutil.copytree(EXAMPLES / "order_workflow", project)
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"])
    ledger = server.outside / "ledger.txt"
    manifest = project / "purrflow.yaml"
    manifest.write_text(manifest.read_text().replace("value: /tmp/ledger.txt", f"value: {ledger}"))
    server.start()
    try:
        url = webhooks(server.deploy(project))["new_order"]
        accepted = httpx.post(url, json={"id": 7, "items": 2, "cents": 999, "cooling_off_seconds": 2}).json()
        server.wait_state(accepted["session_id"], "waiting")
        server.kill9()
        server.start()
        session = server.wait_state(accepted["session_id"], "completed", "error")
        assert session["state"] == "completed", session["error"]
    finally:
        server.stop()
    lines = ledger.read_text().splitlines()
    assert [line.split()[1] for line in lines] == ["reserve", "charge", "ship"]
    assert lines[0] == "7 reserve 2" and lines[1] == "7 charge 999"


def test_approval_flow_waits_for_a_decision_or_expires(tmp_path: Path) -> None:
    project = tmp_path / "approval_flow"
    shutil.copytree(EXAMPLES / "approval_flow", project)
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"]).start()
    try:
        urls = webhooks(server.deploy(project))
        waiting = httpx.post(urls["request"], json={"id": "r1", "what": "a laptop"}).json()["session_id"]
        server.wait_state(waiting, "waiting")
        httpx.post(urls["decide"], json={"id": "r1", "approved": True})
        assert server.wait_state(waiting, "completed")["result_repr"] == "'approved'"
        assert server.logs(waiting) == ["request r1: a laptop", "request r1: approved"]

        decided_early = httpx.post(urls["decide"], json={"id": "r2", "approved": False}).json()["session_id"]
        server.wait_state(decided_early, "completed")  # the decision is held for the request to come
        early = httpx.post(urls["request"], json={"id": "r2", "what": "a boat"}).json()["session_id"]
        assert server.wait_state(early, "completed")["result_repr"] == "'rejected'"

        manifest = project / "purrflow.yaml"
        manifest.write_text(manifest.read_text().replace("value: 86400", "value: 0.5"))
        urls = webhooks(server.deploy(project))
        expiring = httpx.post(urls["request"], json={"id": "r3", "what": "a pony"}).json()["session_id"]
        assert server.wait_state(expiring, "completed")["result_repr"] == "'expired'"
    finally:
        server.stop()


def test_chat_bot_reads_its_channel_until_bye(server: Server) -> None:
    server.deploy(EXAMPLES / "chat_bot")

    def say(channel: str, text: str) -> list[str]:
        body = {
            "project": "chat_bot",
            "source": "chat",
            "event_type": "message",
            "data": {"channel": channel, "text": text},
        }
        with server.client() as client:
            return list(client.post("/api/v1/events", json=body).json()["session_ids"])

    (bot,) = say("C1", "hello")
    server.wait_state(bot, "waiting", "running")
    wait_until(lambda: server.logs(bot) == [] and server.session(bot)["steps"] >= 1, what="the bot to subscribe")
    assert say("C2", "not for this bot") == []
    assert say("C1", "how are you?") == []
    assert say("C1", "bye") == []
    assert server.wait_state(bot, "completed")["result_repr"] == "['how are you?']"
    assert server.logs(bot) == ["heard in C1: how are you?"]


def test_cancellable_orders_subscribe_to_their_own_trigger(tmp_path: Path) -> None:
    project = tmp_path / "cancellable_orders"
    shutil.copytree(EXAMPLES / "cancellable_orders", project)
    manifest = project / "purrflow.yaml"
    manifest.write_text(manifest.read_text().replace("value: 600", "value: 1"))
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"]).start()
    try:
        url = webhooks(server.deploy(project))["orders"]
        kept = httpx.post(url, json={"kind": "order", "id": "o1"}).json()["session_id"]
        cancelled = httpx.post(url, json={"kind": "order", "id": "o2"}).json()["session_id"]
        wait_until(lambda: server.session(cancelled)["steps"] >= 1, what="the order to subscribe")
        cancel = httpx.post(url, json={"kind": "cancel", "id": "o2"}).json()
        assert cancel["session_id"] is None  # the trigger's filter: no session for a cancellation
        assert server.wait_state(cancelled, "completed")["result_repr"] == "'cancelled'"
        assert server.wait_state(kept, "completed")["result_repr"] == "'fulfilled'"
        assert server.logs(cancelled) == ["order o2 placed", "order o2 cancelled"]
    finally:
        server.stop()
