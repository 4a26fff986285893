"""Bad input gets a clear error that names the thing, and nothing already stored is lost."""

from __future__ import annotations

import base64
import http.client
import json
from pathlib import Path
from typing import Any

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


def test_a_session_of_a_file_that_does_not_parse_is_refused_with_its_line(server: Server, tmp_path: Path) -> None:
    """No trigger names the file, so its deploy did not parse it: the session's start does, and says where."""
    broken = "def main(event):\n    return 1\n\n\ndef other(event):\n    print('unclosed)\n"
    server.deploy(write_project(tmp_path / "shop", {"purrflow.yaml": GOOD, "helper.py": broken, "program.py": PROGRAM}))
    with server.client() as client:
        answer = client.post("/api/v1/sessions", json={"project": "shop", "entrypoint": "helper.py:main"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "InvalidInputError"
    assert "helper.py:6 does not parse: unterminated string literal" in error["message"]


# -- limits on what comes in: sizes, nesting, text that cannot be shown ---------------------------


def webhook_url(server: Server) -> str:
    with server.client() as client:
        triggers = client.get("/api/v1/triggers", params={"project": "shop"}).json()["triggers"]
    return str(next(t["webhook_url"] for t in triggers if t["name"] == "hook"))


def raw_post(server: Server, path: str, headers: dict[str, str], chunks: list[bytes] | None = None) -> tuple[int, Any]:
    """A POST whose Content-Length may claim more than is sent, or a chunked body; the answer as JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        conn.putrequest("POST", path)
        for name, value in {"Authorization": f"Bearer {server.token}", **headers}.items():
            conn.putheader(name, value)
        conn.endheaders()
        for chunk in chunks or []:
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        if chunks is not None:
            conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def assert_clean_error(server: Server, body: Any, *words: str) -> str:
    """A purrflow error naming what was wrong, without a traceback or the server's own paths."""
    error = body["error"]
    text = f"{error['message']} {error['hint']}"
    assert error["hint"], body
    assert "Traceback" not in text and str(server.data_dir) not in text and "/tmp" not in text, text
    for word in words:
        assert word in text, text
    return text


def test_api_bodies_are_refused_by_size_before_they_are_read(server: Server, shop: Path) -> None:
    # a 266 MB deployment is refused from its Content-Length alone: nothing of it is sent
    status, body = raw_post(
        server, "/api/v1/projects/deploy", {"Content-Type": "application/json", "Content-Length": str(266 * 2**20)}
    )
    assert status == 413, body
    assert body["error"]["type"] == "TooLargeError"
    assert_clean_error(server, body, "20 MiB")
    # a chunked body is counted as it arrives (other API routes: 1 MiB)
    big = b'{"project": "shop", "entrypoint": "program.py:main", "data": {"x": "' + b"a" * (2**20) + b'"}}'
    chunks = [big[i : i + 65536] for i in range(0, len(big), 65536)]
    status, body = raw_post(
        server, "/api/v1/sessions", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, chunks
    )
    assert status == 413, body
    assert_clean_error(server, body, "1 MiB", "/api/v1/sessions")
    status, body = raw_post(server, "/api/v1/analytics/events", {"Content-Length": str(2 * 2**20)})
    assert status == 413, body
    # the deploy limit leaves room for a deployment just over the file limit to get its own, exact error
    files = {**encode_folder(shop), "data.bin": base64.b64encode(b"\x00" * (20 * 2**20 + 1)).decode()}
    response = deploy_raw(server, files)
    assert response.status_code == 400 and "the limit is 20971520" in response.json()["error"]["message"]


def test_session_and_event_data_are_limited_like_webhook_bodies(server: Server, shop: Path) -> None:
    data = {"x": "a" * (512 * 1024)}
    with server.client() as client:
        session = client.post(
            "/api/v1/sessions", json={"project": "shop", "entrypoint": "program.py:main", "data": data}
        )
        event = client.post(
            "/api/v1/events", json={"project": "shop", "source": "hook", "event_type": "post", "data": data}
        )
        memo = client.post("/api/v1/sessions", json={"project": "shop", "entrypoint": "program.py:main", "memo": data})
        fits = client.post(
            "/api/v1/sessions", json={"project": "shop", "entrypoint": "program.py:main", "data": {"x": "a" * 500_000}}
        )
    for response in (session, event, memo):
        assert response.status_code == 413, response.text
        assert_clean_error(server, response.json(), "512 KiB")
    assert "data" in session.json()["error"]["message"] and "memo" in memo.json()["error"]["message"]
    assert fits.status_code == 201, fits.text


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_json_is_refused_in_the_api(server: Server, shop: Path) -> None:
    for depth in (100_000, 70):
        text = '{"project": "shop", "entrypoint": "program.py:main", "data": {"a": ' + nested(depth) + "}}"
        with server.client() as client:
            response = client.post("/api/v1/sessions", content=text, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert_clean_error(server, response.json(), "nested", "64")
    with server.client() as client:
        fine = client.post(
            "/api/v1/sessions", json={"project": "shop", "entrypoint": "program.py:main", "data": {"a": [[[1]]]}}
        )
        not_json = client.post("/api/v1/sessions", content=b"{oops", headers={"Content-Type": "application/json"})
    assert fine.status_code == 201, fine.text
    assert not_json.status_code == 422 and "JSON" in not_json.json()["error"]["message"]


def event_body(server: Server, session_id: str) -> Any:
    with server.client() as client:
        response = client.get(f"/api/v1/sessions/{session_id}")
    assert response.status_code == 200, response.text
    return response.json()["session"]["event"]["data"]["body"]


def test_webhook_bodies_that_cannot_be_json_are_kept_as_text(server: Server, shop: Path) -> None:
    """Too deep (past 64 levels), NaN or an overflowing number: accepted, with `body.json` None."""
    url = webhook_url(server)
    for text in (nested(100_000), nested(65), '{"a": NaN}', '{"a": 1e400}'):
        response = httpx.post(url, content=text.encode(), headers={"Content-Type": "application/json"})
        assert response.status_code == 202, response.text
        body = event_body(server, response.json()["session_id"])
        assert body["json"] is None and body["text"] == text
    shallow = httpx.post(url, content=nested(64).encode(), headers={"Content-Type": "application/json"})
    assert event_body(server, shallow.json()["session_id"])["json"] is not None


def test_lone_surrogates_become_replacement_characters(server: Server, shop: Path) -> None:
    url = webhook_url(server)
    text = '{"a": "\\ud800", "\\udfff": ["x\\udc00y"], "pair": "\\ud83d\\ude00"}'
    response = httpx.post(url, content=text.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    body = event_body(server, response.json()["session_id"])
    assert body["json"] == {"a": "\ufffd", "\ufffd": ["x\ufffdy"], "pair": "\U0001f600"}
    assert server.wait_state(response.json()["session_id"], "completed")["state"] == "completed"
    api = '{"project": "shop", "entrypoint": "program.py:main", "data": {"s": "\\ud800"}, "memo": {"m": "\\udfff"}}'
    with server.client() as client:
        started = client.post("/api/v1/sessions", content=api, headers={"Content-Type": "application/json"})
        assert started.status_code == 201, started.text
        shown = client.get(f"/api/v1/sessions/{started.json()['session_id']}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["session"]["memo"] == {"m": "\ufffd"}


def test_deployed_paths_that_cannot_be_written_are_refused(server: Server, shop: Path) -> None:
    files = encode_folder(shop)
    x = base64.b64encode(b"x").decode()
    cases = {
        "a file and a folder": ({"lib": x, "lib/b.py": x}, ["'lib'", "'lib/b.py'"]),
        "a long name": ({"n" * 256 + ".py": x}, ["255 bytes"]),
        "a newline": ({"a\nb.py": x}, ["'a\\nb.py'", "control character"]),
        "a control character": ({"a\x01.py": x}, ["control character"]),
    }
    for case, (extra, words) in cases.items():
        response = deploy_raw(server, {**files, **extra})
        assert response.status_code == 400, (case, response.text)
        assert_clean_error(server, response.json(), *words)


def test_deeply_nested_manifests_are_refused_with_file_and_line(server: Server, shop: Path) -> None:
    deep = GOOD + "  vars: " + nested(5000) + "\n"
    response = deploy_raw(server, {**encode_folder(shop), "purrflow.yaml": base64.b64encode(deep.encode()).decode()})
    assert response.status_code == 400, response.text
    assert_clean_error(server, response.json(), "purrflow.yaml:8", "nested")
