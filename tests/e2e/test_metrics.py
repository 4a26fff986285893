"""`/metrics`: Prometheus text that moves by exactly what sessions did, scraped only by the operator
(or by anyone, with `--metrics-public`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project
from prometheus_client.parser import text_string_to_metric_families

from helpers import Server, wait_until

pytestmark = pytest.mark.slow

TRIGGERS = """
- name: work
  type: webhook
  call: program.py:work
- name: boom
  type: webhook
  call: program.py:boom
- name: nap
  type: webhook
  call: program.py:nap
"""

PROGRAM = """
import time
from purrflow import sdk

@sdk.activity
def double(x):
    return x * 2

def work(event):
    sdk.set_value("last", double(double(1)))  # two activities and one host call

def boom(event):
    double(1)
    raise RuntimeError("boom")

def nap(event):
    time.sleep(60)  # sleep-ok: a long sleep suspends the session, which the gauges show as waiting
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: Server, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token or server.token}"}
    response = httpx.get(f"{server.url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def scrape_until(server: Server, condition: Callable[[Samples], bool]) -> Samples:
    """The first scrape that satisfies `condition` (the gauges follow a runner's exit, which comes after the
    state change the API reports)."""
    return wait_until(lambda: next((s for s in [scrape(server)] if condition(s)), None), what="the gauges")


@pytest.fixture
def hooks(server: Server, tmp_path: Path) -> dict[str, str]:
    folder = write_project(
        tmp_path / "metered", {"purrflow.yaml": manifest("metered", TRIGGERS), "program.py": PROGRAM}
    )
    return {t["name"]: t["webhook_url"] for t in server.deploy(folder)["triggers"]}


def fire(url: str) -> str:
    response = httpx.post(url, json={})
    assert response.status_code == 202, response.text
    return str(response.json()["session_id"])


def test_counters_and_histograms_move_by_what_sessions_did(server: Server, hooks: dict[str, str]) -> None:
    before = scrape(server)
    assert value(before, "process_cpu_seconds_total") > 0  # the usual process metrics are there too

    done, failed = fire(hooks["work"]), fire(hooks["boom"])
    assert server.wait_state(done, "completed", "error")["state"] == "completed"
    assert server.wait_state(failed, "completed", "error")["state"] == "error"
    after = scrape(server)  # each step's entry committed before its session's end

    work, boom = {"project": "metered", "trigger": "work"}, {"project": "metered", "trigger": "boom"}
    assert moved(before, after, "purrflow_sessions_started_total", **work) == 1
    assert moved(before, after, "purrflow_sessions_started_total", **boom) == 1
    assert moved(before, after, "purrflow_sessions_ended_total", **work, state="completed") == 1
    assert moved(before, after, "purrflow_sessions_ended_total", **work, state="error") == 0
    assert moved(before, after, "purrflow_sessions_ended_total", **boom, state="error") == 1
    assert moved(before, after, "purrflow_sessions_ended_total", **boom, state="completed") == 0
    assert moved(before, after, "purrflow_session_start_latency_seconds_count", **work) == 1
    assert moved(before, after, "purrflow_session_start_latency_seconds_count", **boom) == 1
    step = {"project": "metered"}
    assert moved(before, after, "purrflow_step_latency_seconds_count", **step, kind="activity") == 3
    assert moved(before, after, "purrflow_step_latency_seconds_count", **step, kind="host") == 1
    assert value(after, "purrflow_step_latency_seconds_bucket", **step, kind="activity", le="+Inf") == 3
    assert value(after, "purrflow_sessions", **work, state="running") == 0
    assert value(after, "purrflow_queue_depth") == 0
    # The project's sessions made its code warm (once, whatever the trigger: they share one module).
    assert value(scrape_until(server, lambda s: value(s, "purrflow_warm_shapes") > 0), "purrflow_warm_shapes") == 1

    napping = fire(hooks["nap"])
    server.wait_state(napping, "waiting")
    nap = {"project": "metered", "trigger": "nap"}
    waiting = scrape_until(server, lambda s: value(s, "purrflow_sessions", **nap, state="waiting") > 0)
    assert value(waiting, "purrflow_sessions", **nap, state="waiting") == 1
    assert value(waiting, "purrflow_runners") == 0  # it gave its process up
    assert value(waiting, "purrflow_hot_waiting_sessions") == 0 and value(waiting, "purrflow_hot_memory_bytes") == 0

    with server.client() as client:
        assert client.post(f"/api/v1/sessions/{napping}/stop").status_code == 200
    stopped = scrape(server)
    assert moved(before, stopped, "purrflow_sessions_ended_total", **nap, state="stopped") == 1
    assert value(stopped, "purrflow_sessions", **nap, state="waiting") == 0
    assert moved(before, stopped, "purrflow_sessions_started_total", **nap) == 1


def test_only_the_operator_may_scrape(server: Server) -> None:
    with server.client() as admin:
        member = admin.post("/api/v1/users", json={"username": "mo"}).json()["token"]
        other_admin = admin.post("/api/v1/teams", json={"name": "beta", "admin": "bea"}).json()["token"]
    url = f"{server.url}/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    for token in (member, other_admin):
        refused = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403, refused.text
        assert "--metrics-public" in refused.json()["error"]["hint"]
        assert "metered" not in refused.text
    assert httpx.get(url, headers={"Authorization": f"Bearer {server.token}"}).status_code == 200


def test_metrics_public_needs_no_token(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--metrics-public"]).start()
    try:
        response = httpx.get(f"{server.url}/metrics")
        assert response.status_code == 200
        assert "purrflow_queue_depth 0.0" in response.text
    finally:
        server.stop()
