"""Operating sessions: a session's journal step by step (API and CLI, team-scoped, secrets hidden), and
restarting an ended session on the project's current deployment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, wait_until

pytestmark = pytest.mark.slow

STEPS = """
from purrflow import sdk

@sdk.activity
def fetch(n):
    return {"n": n, "items": list(range(n))}

@sdk.activity
def double(x):
    return x * 2

def main(event):
    got = fetch(3)
    twice = double(got["n"])
    token = sdk.get_secret("api_token", hidden=True)
    return twice + len(token)

def ask(event):
    word = sdk.prompt.password("pw", "Password?")
    name = sdk.prompt.input("who", "Who are you?")
    sdk.prompt.input("go", f"Go on, {name}?")
    return len(word)
"""

BROKEN = """
def flaky(event):
    raise RuntimeError(f"broken for {event.data['who']}")
"""

FIXED = """
def flaky(event):
    return f"fixed for {event.data['who']}"
"""


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir), "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def start(client: httpx.Client, project: str, entrypoint: str, data: dict[str, object] | None = None) -> str:
    started = client.post("/api/v1/sessions", json={"project": project, "entrypoint": entrypoint, "data": data or {}})
    assert started.status_code == 201, started.text
    return str(started.json()["session_id"])


def test_journal_shows_the_steps_in_order_with_their_results(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "steps", {"purrflow.yaml": manifest("steps"), "program.py": STEPS}))
    with server.client() as client:
        assert client.put("/api/v1/secrets/api_token", json={"value": "s3cr3t-value"}).status_code == 200
        session_id = start(client, "steps", "program.py:main")
        assert server.wait_state(session_id, "completed", "error")["state"] == "completed"
        journal = client.get(f"/api/v1/sessions/{session_id}/journal")
        assert journal.status_code == 200, journal.text
        body = journal.json()
        beta = client.post("/api/v1/teams", json={"name": "beta", "admin": "bea"}).json()["token"]
    assert body["session_id"] == session_id and body["state"] == "completed" and body["waiting"] is None
    steps = body["steps"]
    assert [(s["seq"], s["name"], s["kind"], s["outcome"]) for s in steps] == [
        (1, "program.fetch", "activity", "ok"),
        (2, "program.double", "activity", "ok"),
        (3, "purrflow.secret_get", "host", "ok"),
    ]
    assert steps[0]["summary"] == "{'n': 3, 'items': [0, 1, 2]}"
    assert steps[1]["summary"] == "6"
    assert steps[2]["summary"] == "(hidden)"
    assert all(s["recorded_at"] and s["recorded_at"].endswith("Z") for s in steps)
    assert "s3cr3t" not in journal.text

    shown = purr(server, "sessions", "journal", session_id)
    assert shown.returncode == 0, shown.stderr
    assert session_id in shown.stdout  # whole, even at 80 columns
    lines = shown.stdout.splitlines()
    order = [next(i for i, line in enumerate(lines) if name in line) for name in ("fetch", "double", "secret_get")]
    assert order == sorted(order)
    assert "(hidden)" in shown.stdout and "s3cr3t" not in shown.stdout and "'items': [0, 1, 2]" in shown.stdout
    as_json = purr(server, "sessions", "journal", session_id, "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["steps"] == steps

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {beta}"}, timeout=30) as other:
        assert other.get(f"/api/v1/sessions/{session_id}/journal").status_code == 404
        assert other.post(f"/api/v1/sessions/{session_id}/restart").status_code == 404


def test_restart_runs_a_failed_session_again_on_the_fixed_deployment(server: Server, tmp_path: Path) -> None:
    triggers = "- name: hook\n  type: webhook\n  call: program.py:flaky"
    folder = write_project(tmp_path / "flaky", {"purrflow.yaml": manifest("flaky", triggers), "program.py": BROKEN})
    first_deploy = server.deploy(folder)["deployment"]["id"]
    with server.client() as client:
        failed_id = start(client, "flaky", "hook", {"who": "ada"})
        failed = server.wait_state(failed_id, "completed", "error")
        assert failed["state"] == "error" and "broken for ada" in failed["error"]["message"]
        journal = client.get(f"/api/v1/sessions/{failed_id}/journal").json()
        assert journal["state"] == "error"

        (folder / "program.py").write_text(FIXED)
        fixed_deploy = server.deploy(folder)["deployment"]["id"]
        assert fixed_deploy != first_deploy
        restarted = client.post(f"/api/v1/sessions/{failed_id}/restart")
        assert restarted.status_code == 201, restarted.text
        new_id = restarted.json()["session_id"]
        assert new_id != failed_id
    done = server.wait_state(new_id, "completed", "error")
    assert done["state"] == "completed", done
    assert done["result_repr"] == "'fixed for ada'"
    assert (
        done["deployment_id"] == fixed_deploy and done["trigger"] == "hook" and done["entrypoint"] == "program.py:flaky"
    )
    assert server.session(failed_id)["state"] == "error"  # the old one is left as it was

    again = purr(server, "sessions", "restart", failed_id)
    assert again.returncode == 0, again.stderr
    cli_id = again.stdout.strip()
    assert cli_id.startswith("ses_") and cli_id not in (failed_id, new_id)
    assert server.wait_state(cli_id, "completed", "error")["result_repr"] == "'fixed for ada'"


def test_restart_of_a_session_still_under_way_is_refused(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "steps", {"purrflow.yaml": manifest("steps"), "program.py": STEPS}))
    with server.client() as client:
        session_id = start(client, "steps", "program.py:ask")
        for value in ("hunter2-pass", "ada"):
            prompt_id = wait_until(
                lambda: next(iter(client.get("/api/v1/prompts").json()["prompts"]), {}).get("id"), what="a prompt"
            )
            assert client.post(f"/api/v1/prompts/{prompt_id}/answer", json={"value": value}).status_code == 200
        wait_until(
            lambda: (w := client.get(f"/api/v1/sessions/{session_id}/journal").json()["waiting"]) and w["seq"] == 3,
            what="the third prompt's wait",
        )
        journal = client.get(f"/api/v1/sessions/{session_id}/journal").json()
        assert journal["waiting"]["kind"] == "prompt" and "prm_" in journal["waiting"]["waits_for"]
        assert [(s["name"], s["kind"], s["summary"]) for s in journal["steps"]] == [
            ("purrflow.prompt", "wait", "(hidden)"),  # a password is never shown
            ("purrflow.prompt", "wait", "'ada'"),
        ]
        refused = client.post(f"/api/v1/sessions/{session_id}/restart")
        assert refused.status_code == 409, refused.text
        assert "stop it first" in refused.json()["error"]["hint"]
        cli = purr(server, "sessions", "restart", session_id)
        assert cli.returncode == 1 and "stop it first" in cli.stderr and "Traceback" not in cli.stderr
        shown = purr(server, "sessions", "journal", session_id)
        assert shown.returncode == 0 and "waiting at step 3" in shown.stdout, shown.stdout
        assert "hunter2" not in shown.stdout
        assert client.post(f"/api/v1/sessions/{session_id}/stop", json={}).status_code == 200
        assert client.post(f"/api/v1/sessions/{session_id}/restart").status_code == 201


MANY_STEPS = """
from purrflow import sdk

@sdk.activity
def step(i):
    return i

def main(event):
    return sum(step(i) for i in range(25))
"""


def test_a_long_journal_is_read_a_page_at_a_time(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "many", {"purrflow.yaml": manifest("many"), "program.py": MANY_STEPS}))
    with server.client() as client:
        session_id = start(client, "many", "program.py:main")
        assert server.wait_state(session_id, "completed", "error")["state"] == "completed"
        pages, after = [], 0
        while after is not None:
            answer = client.get(f"/api/v1/sessions/{session_id}/journal", params={"after": after, "limit": 10})
            assert answer.status_code == 200, answer.text
            pages.append([s["seq"] for s in answer.json()["steps"]])
            after = answer.json()["next_after"]
        refused = client.get(f"/api/v1/sessions/{session_id}/journal", params={"limit": 0})
    assert pages == [list(range(1, 11)), list(range(11, 21)), list(range(21, 26))]
    assert refused.status_code == 422 and "limit" in refused.text
    listed = purr(server, "sessions", "journal", session_id, "--json")  # the CLI reads every page
    assert listed.returncode == 0, listed.stderr
    assert [s["seq"] for s in json.loads(listed.stdout)["steps"]] == list(range(1, 26))
