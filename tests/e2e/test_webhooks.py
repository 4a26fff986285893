"""Webhooks over real HTTP: the event shape, async and sync answers, limits."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, wait_until

pytestmark = pytest.mark.slow

TRIGGERS = """
- name: echo
  type: webhook
  call: program.py:echo
- name: only_post
  type: webhook
  event_type: post
  filter: data.url.path_suffix.startsWith("orders") && data.headers["X-Kind"] == "new"
  call: program.py:echo
- name: answer
  type: webhook
  is_sync: true
  call: program.py:answer
- name: silent
  type: webhook
  is_sync: true
  call: program.py:silent
- name: broken
  type: webhook
  is_sync: true
  call: program.py:broken
- name: slow
  type: webhook
  is_sync: true
  call: program.py:slow
- name: feed_only
  type: webhook
"""

PROGRAM = """
import time
from purrflow import sdk

def echo(event):
    d = event.data
    return {
        "method": d.method, "raw_url": d.raw_url, "path": d.url.path, "suffix": d.url.path_suffix,
        "query": dict(d.url.query), "content_type": d.headers["Content-Type"], "multi": d.headers.get("X-Multi"),
        "bytes": d.body.bytes, "text": d.body.text, "json": d.body.json, "form": dict(d.body.form),
        "event_type": event.event_type, "has_id": bool(event.event_id),
    }

def answer(event):
    sdk.http_outcome(201, "made " + event.data.url.query["what"], headers={"X-Made": "yes"})
    sdk.http_outcome(500, "too late: the first answer wins")
    print("answered, still working")
    return "after"

def silent(event):
    return None

def broken(event):
    raise ValueError("the handler broke")

def slow(event):
    time.sleep(3)  # sleep-ok: a handler slower than the sync timeout
"""


@pytest.fixture
def hooks(server: Server, tmp_path: Path) -> dict[str, str]:
    folder = write_project(tmp_path / "hooks", {"purrflow.yaml": manifest("hooks", TRIGGERS), "program.py": PROGRAM})
    deployed = server.deploy(folder)
    return {t["name"]: t["webhook_url"] for t in deployed["triggers"] if t["webhook_url"]}


def result_of(server: Server, session_id: str) -> dict[str, object]:
    session = server.wait_state(session_id, "completed", "error")
    assert session["state"] == "completed", session["error"]
    return dict(eval(session["result_repr"]))  # the repr of a dict of plain values


def test_event_data_has_the_shape_programs_rely_on(server: Server, hooks: dict[str, str]) -> None:
    response = httpx.post(
        hooks["echo"] + "/some/where?a=1&a=2&b=x",
        content=b'{"k": [1, 2]}',
        headers=[("content-type", "application/json"), ("x-multi", "one"), ("x-multi", "two")],
    )
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["event_id"] and accepted["session_id"]
    data = result_of(server, accepted["session_id"])
    slug = hooks["echo"].rsplit("/", 1)[1]
    assert data == {
        "method": "POST",
        "raw_url": f"/webhooks/{slug}/some/where?a=1&a=2&b=x",
        "path": f"/webhooks/{slug}/some/where",
        "suffix": "some/where",
        "query": {"a": "1", "b": "x"},
        "content_type": "application/json",
        "multi": "one, two",
        "bytes": b'{"k": [1, 2]}',
        "text": '{"k": [1, 2]}',
        "json": {"k": [1, 2]},
        "form": {},
        "event_type": "post",
        "has_id": True,
    }
    form = httpx.post(hooks["echo"], data={"name": "Ada", "lang": "py"})
    assert result_of(server, form.json()["session_id"])["form"] == {"name": "Ada", "lang": "py"}


def test_method_and_filter_decide_which_requests_start_sessions(server: Server, hooks: dict[str, str]) -> None:
    url = hooks["only_post"]
    wrong_method = httpx.get(url + "/orders", headers={"X-Kind": "new"})
    filtered_out = httpx.post(url + "/orders", headers={"X-Kind": "old"})
    matched = httpx.post(url + "/orders/7", headers={"X-Kind": "new"})
    assert [r.status_code for r in (wrong_method, filtered_out, matched)] == [202, 202, 202]
    assert wrong_method.json()["session_id"] is None and wrong_method.json()["event_id"]
    assert filtered_out.json()["session_id"] is None
    assert "started no session (its method or filter did not match)" in filtered_out.json()["message"]
    assert matched.json()["session_id"] and "message" not in matched.json()
    feed = httpx.post(hooks["feed_only"], json={"x": 1})
    assert feed.status_code == 202 and feed.json()["session_id"] is None
    assert "the event is for subscriptions" in feed.json()["message"]


def test_sync_webhooks_answer_with_the_first_outcome(server: Server, hooks: dict[str, str]) -> None:
    made = httpx.get(hooks["answer"] + "?what=tea")
    assert (made.status_code, made.text, made.headers["x-made"]) == (201, "made tea", "yes")
    silent = httpx.get(hooks["silent"])
    assert (silent.status_code, silent.content) == (200, b"")
    broken = httpx.get(hooks["broken"])
    assert broken.status_code == 500
    assert "the handler broke" in broken.json()["error"]["message"]
    with server.client() as client:
        sessions = client.get("/api/v1/sessions", params={"project": "hooks"}).json()["sessions"]
    answered = next(s for s in sessions if s["trigger"] == "answer")
    wait_until(lambda: "answered, still working" in server.logs(answered["id"]), what="the session to go on")


def test_sync_webhook_times_out_with_504(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "hooks", {"purrflow.yaml": manifest("hooks", TRIGGERS), "program.py": PROGRAM})
    server = Server(tmp_path / "data", extra_args=["--sync-timeout", "0.5"]).start()
    try:
        urls = {t["name"]: t["webhook_url"] for t in server.deploy(folder)["triggers"]}
        response = httpx.get(urls["slow"])
        assert response.status_code == 504
        assert "did not answer within 0.5 s" in response.json()["error"]["message"]
    finally:
        server.stop()


def test_oversized_body_and_unknown_slug_are_refused_and_store_nothing(server: Server, hooks: dict[str, str]) -> None:
    response = httpx.post(hooks["echo"], content=b"x" * (600 * 1024))
    assert response.status_code == 413
    assert "512 KiB" in response.json()["error"]["message"]
    unknown = httpx.get(server.url + "/webhooks/nope")
    assert unknown.status_code == 404 and "purr triggers list" in unknown.json()["error"]["hint"]
    traced = httpx.request("TRACE", hooks["echo"])  # a method no webhook takes
    assert traced.status_code == 405 and "POST" in traced.headers["allow"]
    assert traced.json()["error"]["type"] == "HTTPError"
    chunked = httpx.post(hooks["echo"], content=iter([b"x" * (300 * 1024)] * 2))  # no Content-Length: counted
    assert chunked.status_code == 413
    with server.client() as client:
        assert client.get("/api/v1/sessions", params={"project": "hooks"}).json()["sessions"] == []
