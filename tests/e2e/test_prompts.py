"""Prompts on a server: every type answered through the API, checked, and durable across a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, wait_until

pytestmark = pytest.mark.slow

PROGRAM = """
from purrflow import sdk
from purrflow.sdk import prompt

def survey(event):
    return {
        "name": prompt.input("name", "Your name?"),
        "nick": prompt.input("nick", "Nickname?", default="cat"),
        "age": prompt.number("age", "Age?", minimum=0, maximum=150),
        "token": prompt.secret("token", "API token?"),
        "pw": prompt.password("pw", "Password?", confirm=True),
        "ok": prompt.confirm("ok", "Proceed?"),
        "env": prompt.list("env", "Where?", ["dev", "prod"]),
        "region": prompt.autocomplete("region", "Region?", ["eu-west-1", "us-east-1"], default=1),
        "features": prompt.checkbox("features", "Features?", ["a", "b", "c"]),
        "notes": prompt.editor("notes", "Notes?"),
        "when": prompt.datetime("when", "When?", minimum="2026-01-01T00:00:00Z"),
    }

def one(event):
    return prompt.number("count", "How many?", minimum=1, maximum=10)
"""


def open_prompts(client: httpx.Client, session_id: str) -> list[dict[str, object]]:
    return list(client.get("/api/v1/prompts", params={"session_id": session_id}).json()["prompts"])


def next_prompt(client: httpx.Client, session_id: str) -> dict[str, object]:
    return wait_until(lambda: next(iter(open_prompts(client, session_id)), None), what=f"a prompt of {session_id}")


def answer(client: httpx.Client, prompt_id: object, value: object) -> httpx.Response:
    return client.post(f"/api/v1/prompts/{prompt_id}/answer", json={"value": value})


def test_every_prompt_type_is_asked_checked_and_answered(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "ask", {"purrflow.yaml": manifest("ask"), "program.py": PROGRAM}))
    answers = {
        "name": [("", "an answer is required"), ("Ada", None)],
        "nick": [("", None)],
        "age": [("old", "not a whole number"), (200, "above the maximum of 150"), (36, None)],
        "token": [("s3cret", None)],
        "pw": [("hunter2", None)],
        "ok": [("perhaps", "not yes or no"), ("yes", None)],
        "env": [("staging", "not one of the choices"), ("prod", None)],
        "region": [("", None)],
        "features": [(["a", "z"], "'z' is not one of the choices"), ("a,c", None)],
        "notes": [("line one\nline two", None)],
        "when": [("tomorrow", "not an RFC 3339 datetime"), ("2025-06-01T00:00:00Z", "before the minimum"),
                 ("2026-12-24T18:00:00Z", None)],
    }  # fmt: skip
    with server.client() as client:
        session_id = client.post("/api/v1/sessions", json={"project": "ask", "entrypoint": "program.py:survey"}).json()[
            "session_id"
        ]
        for name, attempts in answers.items():
            asked = next_prompt(client, session_id)
            assert asked["name"] == name
            for value, error in attempts:
                response = answer(client, asked["id"], value)
                if error is None:
                    assert response.status_code == 200, response.text
                else:
                    assert response.status_code == 400 and error in response.json()["error"]["message"], response.text
            if name in ("token", "pw"):
                assert response.json()["value"] == "(hidden)"
        assert answer(client, asked["id"], "again").status_code == 409  # already answered
        assert answer(client, "prm_nope", 1).status_code == 404
    result = server.wait_state(session_id, "completed", "error")
    assert result["state"] == "completed", result["error"]
    assert eval(result["result_repr"]) == {
        "name": "Ada", "nick": "cat", "age": 36, "token": "s3cret", "pw": "hunter2", "ok": True, "env": "prod",
        "region": "us-east-1", "features": ["a", "c"], "notes": "line one\nline two", "when": "2026-12-24T18:00:00Z",
    }  # fmt: skip


def test_a_prompt_answered_after_a_restart_resumes_the_session(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"]).start()
    try:
        server.deploy(write_project(tmp_path / "ask", {"purrflow.yaml": manifest("ask"), "program.py": PROGRAM}))
        with server.client() as client:
            session_id = client.post(
                "/api/v1/sessions", json={"project": "ask", "entrypoint": "program.py:one"}
            ).json()["session_id"]
            asked = next_prompt(client, session_id)
        server.wait_state(session_id, "waiting")
        server.kill9()
        server.start()
        with server.client() as client:
            assert next_prompt(client, session_id)["id"] == asked["id"]
            assert answer(client, asked["id"], 0).status_code == 400  # below the minimum of 1
            assert answer(client, asked["id"], "7").status_code == 200
        assert server.wait_state(session_id, "completed")["result_repr"] == "7"
    finally:
        server.stop()
