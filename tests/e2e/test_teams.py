"""Teams see only their own things: every API route, tried with another team's token, is a 404 or
shows nothing of the first team. Routes come from the OpenAPI document, so new ones are covered."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, wait_until
from store_rows import stored_bytes

pytestmark = pytest.mark.slow

PROGRAM = """
from purrflow import sdk

def main(event):
    sdk.set_value("secret_plan", "world domination")
    sdk.prompt.input("plan_approval", "Approve the plan?")
"""

PUBLIC = {("GET", "/api/v1/health"), ("GET", "/api/v1/openapi.json")}
# These create something in the caller's own team; they name nothing of another team to find.
OWN_TEAM_WRITES = {
    ("POST", "/api/v1/projects/deploy"),
    ("POST", "/api/v1/teams"),
    ("POST", "/api/v1/users"),
    ("POST", "/api/v1/tokens"),
    ("PUT", "/api/v1/config/{key}"),
    ("PUT", "/api/v1/secrets/{key}"),
    ("POST", "/api/v1/analytics/events"),
    ("PUT", "/api/v1/users/me/password"),  # the caller's own password
}


def test_another_teams_token_finds_nothing_on_any_route(server: Server, tmp_path: Path) -> None:
    triggers = "- name: hook\n  type: webhook\n  call: program.py:main"
    project = write_project(
        tmp_path / "alpha",
        {"purrflow.yaml": manifest("alpha", triggers) + "  connections:\n    - name: chat\n      integration: slack\n",
         "program.py": PROGRAM},
    )  # fmt: skip
    server.deploy(project)
    with server.client() as admin:
        session_id = admin.post("/api/v1/sessions", json={"project": "alpha", "entrypoint": "program.py:main"}).json()[
            "session_id"
        ]
        server.wait_state(session_id, "waiting", "running")
        prompt_id = wait_until(
            lambda: next(iter(admin.get("/api/v1/prompts").json()["prompts"]), {}).get("id"), what="alpha's prompt"
        )
        assert admin.put("/api/v1/config/secret_plan", json={"value": "on mars"}).status_code == 200
        deployed = {"event_name": "deployment", "event_action": "success", "repo": "world domination"}
        tracked = admin.post("/api/v1/analytics/events", json={"tags": ["secret_plan"], "metadata": deployed})
        assert tracked.status_code == 201, tracked.text
        team = admin.post("/api/v1/teams", json={"name": "beta", "admin": "bea"})
        assert team.status_code == 201, team.text
        token_id = admin.get("/api/v1/tokens").json()["tokens"][0]["id"]
        quiet = {"project": "alpha", "source": "chat", "event_type": "message"}  # an event that starts nothing
        event_id = admin.post("/api/v1/events", json=quiet).json()["event_id"]
        spec = admin.get("/api/v1/openapi.json").json()
    other = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {team.json()['token']}"}, timeout=30)
    assert other.get("/api/v1/me").json()["team"]["name"] == "beta"

    fill = {
        "session_id": session_id,
        "event_id": event_id,
        "key": "secret_plan",
        "token_id": token_id,
        "name": "chat",
        "prompt_id": prompt_id,
        "project": "alpha",
    }
    secrets_of_alpha = [
        session_id,
        "alpha",
        "secret_plan",
        "world domination",
        "on mars",
        token_id,
        event_id,
        "admin-",
        prompt_id,
    ]
    bodies = {
        "/api/v1/sessions": {"project": "alpha", "entrypoint": "program.py:main"},
        "/api/v1/events": {"project": "alpha", "source": "hook", "event_type": "post"},
        "/api/v1/values/{key}": {"value": 1},
        "/api/v1/connections/{name}": {"vars": {"token": "x"}},
        "/api/v1/connections/{name}/init": {"fields": {"oauth_access_token": "x", "signing_secret": "y"}},
        "/api/v1/sessions/{session_id}/stop": {"reason": "not yours"},
        "/api/v1/sessions/delete": {"session_ids": [session_id]},
        "/api/v1/sessions/{session_id}/rerun": {"from_step": 1},
        "/api/v1/prompts/{prompt_id}/answer": {"value": "yes"},
        "/api/v1/projects/{project}/vars/{name}": {"value": "beta was here"},
    }
    tried = 0
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if (method.upper(), path) in PUBLIC or (method.upper(), path) in OWN_TEAM_WRITES:
                continue
            url = re.sub(r"\{(\w+)\}", lambda m: fill[m.group(1)], path)
            params = {p["name"]: "alpha" for p in operation.get("parameters", []) if p["name"] == "project"}
            response = other.request(method.upper(), url, params=params, json=bodies.get(path))
            tried += 1
            assert response.status_code in (200, 404), (method, path, response.status_code, response.text)
            if response.status_code == 200:
                assert not any(secret in response.text for secret in secrets_of_alpha), (method, path, response.text)
    assert tried >= 20
    assert other.post("/api/v1/analytics/events", json={"event": "beta's own"}).status_code == 201  # lands in beta
    assert [e["event"] for e in other.get("/api/v1/analytics/events").json()["events"]] == ["beta's own"]
    with server.client() as admin:  # nothing of alpha's was changed by beta's attempts
        session = admin.get(f"/api/v1/sessions/{session_id}").json()["session"]
        assert session["state"] in ("waiting", "running")
        assert (
            admin.get("/api/v1/values/secret_plan", params={"project": "alpha"}).json()["value"] == "world domination"
        )
        assert admin.get("/api/v1/config/secret_plan").json()["value"] == "on mars"
        assert [e["repo"] for e in admin.get("/api/v1/analytics/events").json()["events"]] == ["world domination"]
        assert [p["id"] for p in admin.get("/api/v1/prompts").json()["prompts"]] == [prompt_id]  # still unanswered


def purr(server: Server, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}
    if token:
        env["PURRFLOW_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def test_users_tokens_roles_and_revocation(server: Server) -> None:
    added = purr(server, "users", "create", "mo", "--role", "member")
    assert added.returncode == 0, added.stderr
    member_token = added.stdout.strip().splitlines()[-1]
    assert purr(server, "users", "list", "--json", token=member_token).returncode == 0
    refused = purr(server, "users", "create", "eve", token=member_token)
    assert refused.returncode == 1 and "needs a team admin" in refused.stderr
    second = purr(server, "tokens", "create", "--name", "laptop", token=member_token).stdout.strip()
    listed = purr(server, "tokens", "list", "--json", token=member_token).stdout
    assert "laptop" in listed and second not in listed and member_token not in listed  # values never listed
    laptop = next(t for t in json.loads(listed) if t["name"] == "laptop")
    assert purr(server, "tokens", "revoke", laptop["id"], token=member_token).returncode == 0
    revoked = purr(server, "sessions", "list", token=second)
    assert revoked.returncode == 1 and "unknown or revoked" in revoked.stderr
    again = purr(server, "tokens", "revoke", laptop["id"], token=member_token)
    assert again.returncode == 1 and "no live token" in again.stderr
    assert member_token.encode() not in stored_bytes(server.database)  # stored hashed


def test_login_remembers_the_server_and_token(server: Server, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PURRFLOW_URL", "PURRFLOW_TOKEN")}
    env["PURRFLOW_HOME"] = str(tmp_path / "elsewhere")  # no admin token to fall back on

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env
        )

    wrong = cli("login", "--url", server.url, "--token", "nope")
    assert wrong.returncode == 1 and "unknown or revoked" in wrong.stderr
    assert cli("projects", "list").returncode == 1  # nothing saved
    right = cli("login", "--url", server.url, "--token", server.token)
    assert right.returncode == 0 and "logged in to" in right.stdout
    assert cli("projects", "list").returncode == 0
    saved = tmp_path / "elsewhere" / "cli-login.json"
    assert saved.stat().st_mode & 0o777 == 0o600
    out = cli("logout")
    assert out.returncode == 0 and "logged out" in out.stdout and not saved.exists()
    assert cli("projects", "list").returncode == 1  # forgotten
    assert "nothing to forget" in cli("logout").stdout
