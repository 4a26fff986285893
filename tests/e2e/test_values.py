"""The value store through real sessions: atomic under concurrency, and `purr values`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server

pytestmark = pytest.mark.slow

PROGRAM = """
from purrflow import sdk

def bump(event):
    for _ in range(5):
        sdk.add_values("counter", 1)
    while True:  # a lock-free append with check_and_set_value
        current = sdk.get_value("names", ())
        if sdk.check_and_set_value("names", current or None, current + (event.data.name,)):
            return sdk.get_value("counter")

def read(event):
    return (sdk.store["greeting"], "counter" in sdk.store, sorted(sdk.store))

def not_a_number(event):
    sdk.set_value("text", "hello")
    sdk.add_values("text", 1)
"""


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def start(server: Server, entrypoint: str, data: dict[str, object] | None = None) -> str:
    with server.client() as client:
        body = {"project": "counts", "entrypoint": entrypoint, "data": data or {}}
        return str(client.post("/api/v1/sessions", json=body).json()["session_id"])


def test_concurrent_sessions_update_values_atomically(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "counts", {"purrflow.yaml": manifest("counts"), "program.py": PROGRAM}))
    ids = [start(server, "program.py:bump", {"name": f"n{i}"}) for i in range(12)]
    for session_id in ids:
        session = server.wait_state(session_id, "completed", "error")
        assert session["state"] == "completed", session["error"]
    values = {v["key"]: v["value"] for v in json.loads(purr(server, "values", "list", "counts", "--json").stdout)}
    assert values["counter"] == 60
    assert sorted(values["names"]) == sorted(f"n{i}" for i in range(12))

    assert purr(server, "values", "set", "counts", "greeting", '"hi"').returncode == 0
    read = server.wait_state(start(server, "program.py:read"), "completed", "error")
    assert read["result_repr"] == "('hi', True, ['counter', 'greeting', 'names'])"
    assert json.loads(purr(server, "values", "get", "counts", "greeting").stdout) == "hi"
    assert purr(server, "values", "del", "counts", "greeting").returncode == 0
    missing = purr(server, "values", "get", "counts", "greeting")
    assert missing.returncode == 1 and "has no value named 'greeting'" in missing.stderr

    failed = server.wait_state(start(server, "program.py:not_a_number"), "completed", "error")
    assert failed["state"] == "error" and "the value under 'text' is not a number" in failed["error"]["message"]
