"""What one process commits reaches the others at once (LISTEN/NOTIFY): two API servers that run no session
code (`--role api`) and one worker, over one PostgreSQL. Every request here goes to the API server that is
*not* where the thing it waits for happens: the session's answer, its log lines, a subscription, a deploy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from projects import TWICE, TWICE_OPS, manifest, write_project

from helpers import Server, wait_until
from postgres_cluster import Cluster
from scaled import ScaledPlatform
from temporal_server import TemporalServer

pytestmark = [pytest.mark.slow, pytest.mark.runs_once("it builds its own scaled platform")]

TRIGGERS = """
- name: answer
  type: webhook
  is_sync: true
  call: program.py:answer
- name: silent
  type: webhook
  is_sync: true
  call: program.py:silent
- name: hook
  type: webhook
  call: {hook_call}
"""

PROGRAM = """
import time

from purrflow import sdk


def answer(event):
    sdk.http_outcome(201, "made " + event.data.url.query["what"], headers={"X-Made": "yes"})
    return "answered"


def silent(event):
    return "nothing to say"


def talker(event):
    print("first line")
    time.sleep(3)  # sleep-ok: a durable sleep, long enough for the test to open its stream
    print("second line")
    return "talked"


def listener(event):
    sub = sdk.subscribe("hook", 'data.url.query.to == "' + event.data.key + '"')
    print("subscribed")
    got = sdk.next_event(sub, timeout=60)
    return None if got is None else got.url.query["n"]


def first(event):
    return "first"


def second(event):
    return "second"
"""


@dataclass
class TwoApis:
    platform: ScaledPlatform
    folder: Path
    token: str

    @property
    def a(self) -> Server:
        return self.platform.apis[0]

    @property
    def b(self) -> Server:
        return self.platform.apis[1]

    def client(self, api: Server) -> httpx.Client:
        return httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def deploy(self, hook_call: str = "program.py:first") -> dict[str, str]:
        """Deploy through A; the webhooks' URLs, as B serves them."""
        files = {"purrflow.yaml": manifest("two", TRIGGERS.format(hook_call=hook_call)), "program.py": PROGRAM}
        deployed = self.a.deploy(write_project(self.folder, files))
        return {t["name"]: t["webhook_url"].replace(self.a.url, self.b.url) for t in deployed["triggers"]}

    def start(self, api: Server, entrypoint: str, **data: object) -> str:
        with self.client(api) as client:
            answer = client.post(
                "/api/v1/sessions", json={"project": "two", "entrypoint": f"program.py:{entrypoint}", "data": data}
            )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["session_id"])

    def session(self, api: Server, session_id: str) -> dict[str, object]:
        with self.client(api) as client:
            answer = client.get(f"/api/v1/sessions/{session_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["session"])

    def finished(self, api: Server, session_id: str) -> dict[str, object]:
        session = wait_until(
            lambda: (s := self.session(api, session_id))["state"] in ("completed", "error") and s,
            timeout=60,
            what=f"session {session_id} to end",
        )
        assert session["state"] == "completed", session["error"]
        return session


@pytest.fixture
def two(tmp_path: Path, postgres_cluster: Cluster, temporal_server: TemporalServer) -> Iterator[TwoApis]:
    database = postgres_cluster.new_database()
    platform = ScaledPlatform(tmp_path, database=database, temporal=temporal_server.address)
    try:
        first = platform.add_api()
        platform.add_api()
        platform.add_worker()
        yield TwoApis(platform, tmp_path / "two", first.token)
    finally:
        platform.stop()
        postgres_cluster.drop_database(database)


def test_a_sync_webhook_is_answered_by_the_api_server_holding_the_request(two: TwoApis) -> None:
    hooks = two.deploy()
    made = httpx.post(hooks["answer"] + "?what=tea", timeout=30)
    assert (made.status_code, made.text, made.headers.get("x-made")) == (201, "made tea", "yes")
    ended = httpx.post(hooks["silent"], timeout=30)  # no http_outcome: its end answers
    assert ended.status_code == 200, ended.text


def test_a_log_stream_on_one_api_server_follows_a_session_on_a_worker(two: TwoApis) -> None:
    two.deploy()
    session_id = two.start(two.a, "talker")
    wait_until(lambda: two.session(two.a, session_id)["state"] == "waiting", timeout=30, what="the wait")
    seen: list[str] = []
    ended: list[str] = []
    headers = {"Authorization": f"Bearer {two.token}"}
    timeout = httpx.Timeout(10, read=20)  # a stream that does not move on fails the test on its read timeout
    with httpx.stream(
        "GET", f"{two.b.url}/api/v1/sessions/{session_id}/logs/stream", headers=headers, timeout=timeout
    ) as stream:
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("data:") and '"text"' in line:
                seen.append(line)
            if line.startswith("data:") and '"state"' in line:
                ended.append(line)
    # The first line was history when the stream opened (the session slept); the second came live.
    assert [("first line" in line, "second line" in line) for line in seen] == [(True, False), (False, True)], seen
    assert ended and '"completed"' in ended[0], ended


def test_an_event_through_one_api_server_reaches_a_subscription_made_on_a_worker(two: TwoApis) -> None:
    hooks = two.deploy(hook_call="program.py:first")
    session_id = two.start(two.a, "listener", key="k42")
    wait_until(lambda: two.session(two.a, session_id)["state"] == "waiting", timeout=30, what="next_event")
    assert httpx.post(hooks["hook"] + "?to=other&n=1", timeout=30).status_code == 202
    assert httpx.post(hooks["hook"] + "?to=k42&n=2", timeout=30).status_code == 202
    assert two.finished(two.b, session_id)["result_repr"] == repr("2")


def test_a_deploy_through_one_api_server_changes_what_the_others_webhooks_start(two: TwoApis) -> None:
    hooks = two.deploy(hook_call="program.py:first")
    started = httpx.post(hooks["hook"], timeout=30).json()["session_id"]
    assert two.finished(two.b, started)["result_repr"] == repr("first")  # B has the trigger in its cache now
    two.deploy(hook_call="program.py:second")

    def second_started() -> bool:
        session_id = httpx.post(hooks["hook"], timeout=30).json()["session_id"]
        return two.finished(two.b, session_id)["result_repr"] == repr("second")

    wait_until(second_started, timeout=10, interval=0.2, what="B to start the redeployed trigger's call")


def _new_prompt(client: httpx.Client, session_id: str, answered: set[str]) -> dict[str, object] | None:
    prompts = client.get("/api/v1/prompts", params={"session_id": session_id}).json()["prompts"]
    return next((dict(p) for p in prompts if p["id"] not in answered), None)


def test_a_prompt_answered_through_another_api_server_reaches_the_command_that_holds_it(two: TwoApis) -> None:
    """An ops.yml command keeps its process through its prompts (a shell command cannot be replayed): the
    answer, given through B, must reach that process on the worker; a command started again would repeat
    its effect."""
    ops = TWICE_OPS.format(out=two.platform.outside)
    two.a.deploy(write_project(two.folder.parent / "twice", {"ops.yml": ops, "twice.py": TWICE}), name="twice")
    with two.client(two.a) as a, two.client(two.b) as b:
        started = a.post("/api/v1/sessions", json={"project": "twice", "entrypoint": "ops:twice", "data": {}})
        assert started.status_code == 201, started.text
        session_id = started.json()["session_id"]
        answered: set[str] = set()
        for name, value in (("first", "held"), ("second", "two")):
            asked = wait_until(lambda: _new_prompt(b, session_id, answered), timeout=30, what=f"prompt {name!r}")
            assert asked["name"] == name
            assert b.post(f"/api/v1/prompts/{asked['id']}/answer", json={"value": value}).status_code == 200
            answered.add(str(asked["id"]))
        assert two.finished(two.b, session_id)["state"] == "completed"
        lines = [line["text"] for line in b.get(f"/api/v1/sessions/{session_id}/logs").json()["logs"]]
    assert "ANSWERS held two" in lines
    assert (two.platform.outside / "held.effects").read_text() == "x", "the command ran once, answered in place"
