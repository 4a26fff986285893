"""Bad input gets a clear error that names the thing, and nothing already stored is lost."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, encode_folder

pytestmark = pytest.mark.slow

GOOD = manifest(
    "shop",
    """
    - name: hook
      type: webhook
      call: program.py:main
    """,
)

PROGRAM = """
from purrflow import sdk

def main(event):
    return "ok"

def too_big(event):
    sdk.set_value("big", "x" * 100_000)

def not_picklable(event):
    sdk.set_value("fn", lambda: 1)

def too_many(event):
    for i in range(70):
        sdk.set_value(f"k{i}", i)
"""


def deploy_raw(server: Server, files: dict[str, str]) -> httpx.Response:
    with server.client() as client:
        return client.post("/api/v1/projects/deploy", json={"files": files})


@pytest.fixture
def shop(server: Server, tmp_path: Path) -> Path:
    folder = write_project(tmp_path / "shop", {"purrflow.yaml": GOOD, "program.py": PROGRAM})
    server.deploy(folder)
    return folder


def project_state(server: Server) -> tuple[object, object]:
    with server.client() as client:
        projects = client.get("/api/v1/projects").json()["projects"]
        triggers = client.get("/api/v1/triggers", params={"project": "shop"}).json()["triggers"]
    return projects, triggers


def test_broken_manifests_are_refused_with_file_line_and_field(server: Server, shop: Path) -> None:
    before = project_state(server)
    files = encode_folder(shop)
    bad_yaml = GOOD + "  oops: [unclosed\n"
    response = deploy_raw(server, {**files, "purrflow.yaml": base64.b64encode(bad_yaml.encode()).decode()})
    assert response.status_code == 400
    assert "purrflow.yaml:" in response.json()["error"]["message"]

    unknown_call = GOOD.replace("program.py:main", "program.py:nope")
    response = deploy_raw(server, {**files, "purrflow.yaml": base64.b64encode(unknown_call.encode()).decode()})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "purrflow.yaml:7: project.triggers[0].call" in message and "nope" in message, message
    assert project_state(server) == before  # the live deployment and its webhook URLs are untouched


def test_paths_outside_the_project_are_refused(server: Server, shop: Path) -> None:
    response = deploy_raw(server, {**encode_folder(shop), "../evil.py": base64.b64encode(b"x").decode()})
    assert response.status_code == 400 and "'../evil.py'" in response.json()["error"]["message"]
    with server.client() as client:
        started = client.post("/api/v1/sessions", json={"project": "shop", "entrypoint": "../x.py:f"})
    assert started.status_code == 400
    assert "../x.py:f" in started.json()["error"]["message"]


def test_value_limits_fail_the_session_with_a_clear_message(server: Server, shop: Path) -> None:
    expectations = {
        "too_big": "the limit is 65536",
        "not_picklable": "function is not picklable",
        "too_many": "the limit is 64",
    }
    with server.client() as client:
        ids = {
            name: client.post("/api/v1/sessions", json={"project": "shop", "entrypoint": f"program.py:{name}"}).json()[
                "session_id"
            ]
            for name in expectations
        }
    for name, expected in expectations.items():
        session = server.wait_state(ids[name], "completed", "error")
        assert session["state"] == "error"
        assert session["error"]["type"] == "ValueLimitError"
        assert expected in session["error"]["message"], session["error"]["message"]
    with server.client() as client:
        # the 64 values stored before the limit are still there
        ok = client.post("/api/v1/sessions", json={"project": "shop", "entrypoint": "program.py:main"})
    assert server.wait_state(ok.json()["session_id"], "completed")["state"] == "completed"


def test_wrong_token_is_refused(server: Server, shop: Path) -> None:
    response = httpx.get(server.url + "/api/v1/sessions", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert "unknown or revoked" in response.json()["error"]["message"]
    missing = httpx.get(server.url + "/api/v1/sessions")
    assert missing.status_code == 401 and "PURRFLOW_TOKEN" in missing.json()["error"]["hint"]


def test_unknown_project_session_and_entrypoint(server: Server, shop: Path) -> None:
    with server.client() as client:
        assert client.get("/api/v1/sessions/ses_nope").status_code == 404
        no_project = client.post("/api/v1/sessions", json={"project": "nope", "entrypoint": "program.py:main"})
        assert no_project.status_code == 404 and "purr deploy" in no_project.json()["error"]["hint"]
        no_function = client.post("/api/v1/sessions", json={"project": "shop", "entrypoint": "program.py:nope"})
        assert no_function.status_code == 400 and "nope" in no_function.json()["error"]["message"]
        bad_form = client.post("/api/v1/sessions", json={"project": "shop", "entrypoint": "main"})
        assert bad_form.status_code == 400 and "file.py:function" in str(bad_form.json()["error"])
