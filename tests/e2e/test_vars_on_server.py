"""Project vars on a real server: `purr vars` overrides a manifest var for sessions started afterwards
(a session started before keeps its value, even when its runner replays after the change); secret vars
reach sessions but are never shown, nor stored in clear."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server
from store_rows import stored_bytes

pytestmark = pytest.mark.slow

PROGRAM = """
import os
import time

def early(event):
    before = os.environ.get("GREETING")
    time.sleep(3)  # sleep-ok: the runner gives its process up (hot wait 0.5 s) and replays afterwards
    return (before, os.environ.get("GREETING"), os.environ.get("EXTRA"))

def late(event):
    return (os.environ.get("GREETING"), os.environ.get("EXTRA"), os.environ.get("TOKEN"))
"""
SECRET = "s3cr3t-never-shown-9f1c"


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def test_vars_override_the_manifest_for_later_sessions_only(server: Server, tmp_path: Path) -> None:
    files = {"purrflow.yaml": manifest("greet", vars="- name: GREETING\n  value: hello"), "program.py": PROGRAM}
    server.deploy(write_project(tmp_path / "greet", files))
    with server.client() as client:

        def start(entrypoint: str) -> str:
            answer = client.post("/api/v1/sessions", json={"project": "greet", "entrypoint": entrypoint})
            assert answer.status_code == 201, answer.text
            return str(answer.json()["session_id"])

        early = start("program.py:early")
        server.wait_state(early, "waiting")  # its runner is gone; a new one replays it after the change
        for name, value, secret in (("GREETING", "bonjour", False), ("EXTRA", "more", False), ("TOKEN", SECRET, True)):
            answer = client.put(f"/api/v1/projects/greet/vars/{name}", json={"value": value, "secret": secret})
            assert answer.status_code == 200, answer.text
        late = start("program.py:late")
        assert server.wait_state(late, "completed", "error")["result_repr"] == f"('bonjour', 'more', '{SECRET}')"
        assert server.wait_state(early, "completed", "error")["result_repr"] == "('hello', 'hello', None)"

        listed = client.get("/api/v1/projects/greet/vars").json()["vars"]
        assert {v["name"]: (v["value"], v["secret"], v["source"]) for v in listed} == {
            "EXTRA": ("more", False, "set"),
            "GREETING": ("bonjour", False, "set"),
            "TOKEN": (None, True, "set"),
        }
        assert client.get("/api/v1/projects/nope/vars").status_code == 404
        beta = client.post("/api/v1/teams", json={"name": "beta", "admin": "bea"}).json()["token"]
        other = {"Authorization": f"Bearer {beta}"}
        for method, path, body in (
            ("GET", "/api/v1/projects/greet/vars", None),
            ("GET", "/api/v1/projects/greet/vars/TOKEN", None),
            ("PUT", "/api/v1/projects/greet/vars/GREETING", {"value": "beta was here"}),
            ("DELETE", "/api/v1/projects/greet/vars/GREETING", None),
        ):  # another team's project does not exist for it
            assert client.request(method, path, json=body, headers=other).status_code == 404, (method, path)
        refused = client.put("/api/v1/projects/greet/vars/not-an-identifier", json={"value": "x"})
        assert refused.status_code == 400 and "not-an-identifier" in refused.json()["error"]["message"]
    assert SECRET.encode() not in stored_bytes(server.database)


def test_purr_vars_commands(server: Server, tmp_path: Path) -> None:
    files = {"purrflow.yaml": manifest("cli", vars="- name: GREETING\n  value: hello"), "program.py": PROGRAM}
    server.deploy(write_project(tmp_path / "cli", files))
    assert "vars" in purr(server, "--help").stdout
    assert purr(server, "vars", "set", "cli", "GREETING", "bonjour").returncode == 0
    secret = purr(server, "vars", "set", "cli", "TOKEN", SECRET, "--secret")
    assert secret.returncode == 0 and "set secret var TOKEN" in secret.stdout
    listed = purr(server, "vars", "list", "cli").stdout
    assert "GREETING = bonjour  [set]" in listed and "TOKEN = (secret)  [set]" in listed
    assert SECRET not in listed
    assert purr(server, "vars", "get", "cli", "GREETING").stdout.strip() == "bonjour"
    shown = purr(server, "vars", "get", "cli", "TOKEN")
    assert shown.returncode == 0 and "TOKEN is secret" in shown.stdout and SECRET not in shown.stdout
    assert SECRET not in purr(server, "vars", "list", "cli", "--json").stdout
    deleted = purr(server, "vars", "del", "cli", "GREETING")
    assert deleted.returncode == 0 and "the manifest's value applies again: hello" in deleted.stdout
    assert purr(server, "vars", "get", "cli", "GREETING").stdout.strip() == "hello"
    missing = purr(server, "vars", "del", "cli", "GREETING")
    assert missing.returncode == 1 and "no var 'GREETING' set with" in missing.stderr
    bad = purr(server, "vars", "set", "cli", "1BAD", "x")
    assert bad.returncode == 1 and "var name '1BAD' is not allowed" in bad.stderr and "hint:" in bad.stderr
    unknown = purr(server, "vars", "list", "nope")
    assert unknown.returncode == 1 and "no project named 'nope'" in unknown.stderr
