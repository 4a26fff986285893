"""Each project in examples/ deployed to a real server and driven through real HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from helpers import Server

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
    ledger = tmp_path / "ledger.txt"
    manifest = project / "purrflow.yaml"
    manifest.write_text(manifest.read_text().replace("value: ledger.txt", f"value: {ledger}"))
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"]).start()
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
