"""Analytics events from sessions (sdk.track / sdk.events) and CI (the API), read back by the API and the
CLI (purr analytics), and the DORA metrics computed from them (purr insights)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from projects import manifest, write_project

from helpers import Server

pytestmark = pytest.mark.slow

PROGRAM = """
from purrflow import sdk

def deploy(event):
    for action, commit in [("succeeded", "c1"), ("failed", "c2"), ("success", "c3")]:
        sdk.track(["deploy", "ci"], "deployment", {
            "event_name": "deployment", "event_action": action, "repo": "shop", "environment": "prod",
            "commit": commit, "commit_time": "2000-01-01T00:00:00Z" if commit == "c1" else None,
        })
    sdk.track(["build"], "build", {"ok": True})
    return [e["event"] for e in sdk.events("2000-01-01")]

def bad_metadata(event):
    sdk.track([], "deployment", "not an object")

def bad_window(event):
    sdk.events("yesterday")
"""


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def run(server: Server, entrypoint: str) -> dict[str, Any]:
    with server.client() as client:
        started = client.post("/api/v1/sessions", json={"project": "metrics", "entrypoint": entrypoint})
    assert started.status_code == 201, started.text
    return server.wait_state(started.json()["session_id"], "completed", "error")


def test_sessions_and_ci_track_events_and_insights_measure_them(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "metrics", {"purrflow.yaml": manifest("metrics"), "program.py": PROGRAM}))
    with server.client() as client:  # a CI system posts CTO.ai's flat body: the merge that c3 ships
        merged = {"event_name": "change", "event_action": "merge", "commit": "c3", "team_id": "ignored"}
        posted = client.post("/api/v1/analytics/events", json=merged)
        assert posted.status_code == 201, posted.text
        assert posted.json()["event"]["commit"] == "c3" and "team_id" not in posted.json()["event"]

    session = run(server, "program.py:deploy")
    assert session["state"] == "completed", session
    assert session["result_repr"] == "['', 'deployment', 'deployment', 'deployment', 'build']"

    with server.client() as client:
        listed = client.get("/api/v1/analytics/events").json()
        by_tag = client.get("/api/v1/analytics/events", params={"tag": "deploy"}).json()["events"]
        builds = client.get("/api/v1/analytics/events", params={"event": "build", "start": "2000-01-01"}).json()
        report = client.get("/api/v1/insights").json()
    assert [e["event"] for e in listed["events"]] == ["", "deployment", "deployment", "deployment", "build"]
    assert listed["truncated"] is False
    assert [e["event_action"] for e in by_tag] == ["succeeded", "failed", "success"]
    first = by_tag[0]
    assert first["tags"] == ["deploy", "ci"] and first["repo"] == "shop" and first["timestamp"].endswith("Z")
    assert builds["events"][0]["ok"] is True and builds["start"] == "2000-01-01T00:00:00Z"

    assert report["deployments"] == {"total": 3, "succeeded": 2, "failed": 1}
    assert report["deployment_frequency"]["value"] == pytest.approx(2 / 30)
    assert report["change_failure_rate"]["value"] == pytest.approx(1 / 3)
    assert report["lead_time"]["samples"] == 2  # c1 by its commit_time, c3 by the merge CI posted
    assert report["lead_time"]["value"] > 0
    assert report["time_to_restore"]["restores"] == 1 and report["time_to_restore"]["unrestored"] == 0

    cli_events = purr(server, "analytics", "list", "--json")
    assert cli_events.returncode == 0, cli_events.stderr
    assert json.loads(cli_events.stdout) == listed["events"]
    table = purr(server, "analytics", "list", "--tag", "build")
    assert table.returncode == 0 and "build" in table.stdout and "ok=true" in table.stdout

    cli_report = purr(server, "insights", "--json")
    assert cli_report.returncode == 0, cli_report.stderr
    assert json.loads(cli_report.stdout)["change_failure_rate"] == report["change_failure_rate"]
    shown = purr(server, "insights", "--days", "7", "--by-repo")
    assert shown.returncode == 0, shown.stderr
    for text in ("deployment frequency", "0.29 per day", "33%", "1 of 3", "time to restore", "shop"):
        assert text in shown.stdout, (text, shown.stdout)
    nothing = purr(server, "insights", "--repo", "nope")
    assert nothing.returncode == 0 and "no failed deployments: nothing to restore" in nothing.stdout

    tracked = purr(server, "analytics", "track", "release", "--tag", "manual", "--data", '{"version": "1.2"}')
    assert tracked.returncode == 0, tracked.stderr
    releases = json.loads(purr(server, "analytics", "list", "--event", "release", "--json").stdout)
    assert [(e["tags"], e["version"]) for e in releases] == [(["manual"], "1.2")]


def test_bad_input_is_refused_with_a_clear_message(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "metrics", {"purrflow.yaml": manifest("metrics"), "program.py": PROGRAM}))
    with server.client() as client:
        bad_date = client.get("/api/v1/insights", params={"start": "yesterday"})
        not_object = client.post("/api/v1/analytics/events", json={"event": "x", "metadata": [1, 2]})
        reserved = client.post("/api/v1/analytics/events", json={"event": "x", "metadata": {"tags": "no"}})
        empty = client.get("/api/v1/analytics/events", params={"start": "2026-11-02", "end": "2026-11-01"})
    assert bad_date.status_code == 400
    assert bad_date.json()["error"]["message"] == "start 'yesterday' is not an ISO-8601 date or time"
    assert not_object.status_code == 400
    assert "metadata must be a JSON object with string keys, not list [1, 2]" in not_object.json()["error"]["message"]
    assert reserved.status_code == 400 and "may not use the key(s) 'tags'" in reserved.json()["error"]["message"]
    assert empty.status_code == 400 and "the window is empty" in empty.json()["error"]["message"]

    cli_date = purr(server, "insights", "--since", "garbage")
    assert cli_date.returncode == 1 and "--since 'garbage' is not an ISO-8601 date or time" in cli_date.stderr
    assert "Traceback" not in cli_date.stderr
    cli_data = purr(server, "analytics", "track", "x", "--data", "[1]")
    assert cli_data.returncode == 1 and "--data must be a JSON object" in cli_data.stderr
    both = purr(server, "analytics", "list", "--days", "3", "--since", "2026-11-01")
    assert both.returncode == 1 and "give --days or --since, not both" in both.stderr

    failed = run(server, "program.py:bad_metadata")
    assert failed["state"] == "error"
    assert "track(): metadata must be a JSON object with string keys, not str" in failed["error"]["message"]
    window = run(server, "program.py:bad_window")
    assert window["state"] == "error" and "start 'yesterday' is not an ISO-8601" in window["error"]["message"]
    with server.client() as client:
        assert client.get("/api/v1/analytics/events").json()["events"] == []  # nothing half-stored
