"""Nothing rests in clear: a secret that went through an automatic step, an activity's result, a value
and a prompt's answer is nowhere in the database, its WAL or the logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server, wait_until
from store_rows import stored_bytes

pytestmark = pytest.mark.slow

SECRET = "s3cr3t-that-must-not-rest-in-clear-5d1b"

PROGRAM = """
import yaml

from purrflow import sdk


@sdk.activity
def bearer(token):
    return "Bearer " + token


def main(event):
    secret = sdk.get_secret("TOKEN", hidden=True)
    dumped = yaml.safe_dump({"token": secret})  # a call into a library: an automatic step
    header = bearer(secret)  # an activity's result
    sdk.set_value("token", secret)  # a value
    again = sdk.prompt.input("again", "Type the token once more")  # a prompt, answered with it
    return len(dumped) + len(header) + len(again)
"""


def test_a_secret_through_steps_values_and_prompts_rests_nowhere_in_clear(server: Server, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "rest",
        {
            "purrflow.yaml": manifest("rest", "- name: go\n  type: manual\n  call: program.py:main"),
            "program.py": PROGRAM,
        },
    )
    server.deploy(project)
    with server.client() as client:
        assert client.put("/api/v1/secrets/TOKEN", json={"value": SECRET}).status_code == 200
        session_id = client.post("/api/v1/sessions", json={"project": "rest", "entrypoint": "go"}).json()["session_id"]
        prompt = wait_until(
            lambda: next(
                iter(client.get("/api/v1/prompts", params={"session_id": session_id}).json()["prompts"]), None
            ),
            what="the prompt",
        )
        assert client.post(f"/api/v1/prompts/{prompt['id']}/answer", json={"value": SECRET}).status_code == 200
        session = server.wait_state(session_id, "completed", "error")
        assert session["state"] == "completed", session["error"]
        assert session["steps"] >= 5
        assert client.get("/api/v1/values/token", params={"project": "rest"}).json()["value"] == SECRET  # read back
    needle = SECRET.encode()
    files = [path for path in server.data_dir.rglob("*") if path.is_file()]
    assert "server.log" in {path.name for path in files}
    found = [str(path.relative_to(server.data_dir)) for path in files if needle in path.read_bytes()]
    assert found == []
    assert needle not in stored_bytes(server.database)  # the database, wherever it is
