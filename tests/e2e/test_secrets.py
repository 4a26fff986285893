"""Secrets: encrypted at rest, announced when read, asked for when missing, overwrite confirmed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server, wait_until
from store_rows import stored_bytes

pytestmark = pytest.mark.slow

PROGRAM = """
import hashlib
from purrflow import sdk

def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()[:12]

def read(event):
    return (digest(sdk.get_secret("GITHUB_TOKEN")), digest(sdk.get_secret("GITHUB_TOKEN", hidden=True)))

def missing(event):
    return digest(sdk.get_secret(event.data.key))

def overwrite(event):
    return (sdk.set_secret("GITHUB_TOKEN", "replaced"), sdk.set_secret("NEW_ONE", "fresh-value-" + str(6 * 7)))

def bad(event):
    sdk.get_secret("../etc/passwd")
"""

STORED = "ghp_supersecret123"
TYPED = "xoxb-typed-in-value"


def digest(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()[:12]


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def test_secrets_end_to_end_and_never_in_clear_at_rest(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "sec", {"purrflow.yaml": manifest("sec"), "program.py": PROGRAM}))
    assert purr(server, "secrets", "set", "GITHUB_TOKEN", "--value", STORED).returncode == 0
    listed = purr(server, "secrets", "list")
    assert "GITHUB_TOKEN" in listed.stdout and STORED not in listed.stdout

    def start(entrypoint: str, **data: object) -> str:
        with server.client() as client:
            body = {"project": "sec", "entrypoint": f"program.py:{entrypoint}", "data": data}
            return str(client.post("/api/v1/sessions", json=body).json()["session_id"])

    def answer_next(session_id: str, value: object) -> dict[str, object]:
        with server.client() as client:
            asked = wait_until(
                lambda: next(
                    iter(client.get("/api/v1/prompts", params={"session_id": session_id}).json()["prompts"]), None
                ),
                what="a prompt",
            )
            response = client.post(f"/api/v1/prompts/{asked['id']}/answer", json={"value": value})
            assert response.status_code == 200, response.text
            return dict(asked)

    read = start("read")
    assert server.wait_state(read, "completed")["result_repr"] == repr((digest(STORED), digest(STORED)))
    assert server.logs(read) == ["secret GITHUB_TOKEN was read by this session"]  # once: hidden=True is silent

    typed = start("missing", key="SLACK_TOKEN")
    asked = answer_next(typed, TYPED)
    assert asked["type"] == "secret" and "GITHUB_TOKEN" in str(asked["message"])
    assert server.wait_state(typed, "completed")["result_repr"] == repr(digest(TYPED))
    picked = start("missing", key="OTHER")
    answer_next(picked, "GITHUB_TOKEN")  # the name of a stored secret: use that one
    assert server.wait_state(picked, "completed")["result_repr"] == repr(digest(STORED))

    declined = start("overwrite")
    asked = answer_next(declined, "no")
    assert asked["type"] == "confirm"
    assert server.wait_state(declined, "completed")["result_repr"] == "(None, 'NEW_ONE')"
    assert server.wait_state(start("read"), "completed")["result_repr"].startswith(repr((digest(STORED),))[:-2])

    bad = server.wait_state(start("bad"), "completed", "error")
    assert "path separator" in bad["error"]["message"]

    server.stop()  # checkpoint the WAL, then read every byte the server stored
    stored = stored_bytes(server.database)
    for clear in (STORED, TYPED, "fresh-value-42"):
        assert clear.encode() not in stored, f"{clear} is stored in clear"
    assert b"GITHUB_TOKEN" in stored  # names are not secret; the test would notice a wrong file
    logs = (server.data_dir / "server.log").read_text()
    assert STORED not in logs and TYPED not in logs


PICKER = """
from purrflow.sdk import prompt

def pick(event):
    return prompt.secret("DEPLOY_KEY", "Deploy key?"), prompt.password("pw", "Password?")
"""


def test_secret_prompts_may_take_a_stored_secret_by_name(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "pick", {"purrflow.yaml": manifest("pick"), "program.py": PICKER}))
    with server.client() as client:
        for key, value in (("DEPLOY_KEY", "stored-deploy-key"), ("OTHER", "stored-other")):
            assert client.put(f"/api/v1/secrets/{key}", json={"value": value}).status_code == 200
        body = {"project": "pick", "entrypoint": "program.py:pick"}
        session_id = client.post("/api/v1/sessions", json=body).json()["session_id"]
        for answer in ("", "OTHER"):  # empty: the secret named like the prompt; a name: that secret
            asked = wait_until(
                lambda: next(
                    iter(client.get("/api/v1/prompts", params={"session_id": session_id}).json()["prompts"]), None
                ),
                what="a prompt",
            )
            assert asked["options"]["stored"] == ["DEPLOY_KEY", "OTHER"]  # names to pick from, never values
            response = client.post(f"/api/v1/prompts/{asked['id']}/answer", json={"value": answer})
            assert response.status_code == 200 and response.json()["value"] == "(hidden)", response.text
    done = server.wait_state(session_id, "completed", "error")
    assert eval(done["result_repr"]) == ("stored-deploy-key", "stored-other")
