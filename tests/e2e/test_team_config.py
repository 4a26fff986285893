"""The team configuration store from sessions (sdk.config) and from the CLI (purr config)."""

from __future__ import annotations

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

def main(event):
    after_set = sdk.config.set("branch", "main")
    return (sdk.config.get("region"), sdk.config.get("missing"), after_set, sdk.config.delete("branch"),
            sdk.config.delete("branch"), sdk.config.get_all())

def bad(event):
    sdk.config.set("no spaces please", "x")
"""


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def test_config_is_shared_by_the_team_and_returns_what_the_seed_sdk_returns(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "cfg", {"purrflow.yaml": manifest("cfg"), "program.py": PROGRAM}))
    assert purr(server, "config", "set", "region", "eu-west-1").returncode == 0
    with server.client() as client:
        session_id = client.post("/api/v1/sessions", json={"project": "cfg", "entrypoint": "program.py:main"}).json()[
            "session_id"
        ]
        bad_id = client.post("/api/v1/sessions", json={"project": "cfg", "entrypoint": "program.py:bad"}).json()[
            "session_id"
        ]
    session = server.wait_state(session_id, "completed", "error")
    assert session["result_repr"] == (
        "('eu-west-1', None, {'branch': 'main', 'region': 'eu-west-1'}, True, False, {'region': 'eu-west-1'})"
    )
    assert purr(server, "config", "get", "region").stdout.strip() == "eu-west-1"
    assert "region = eu-west-1" in purr(server, "config", "list").stdout
    assert purr(server, "config", "del", "region").returncode == 0
    missing = purr(server, "config", "get", "region")
    assert missing.returncode == 1 and "no config 'region'" in missing.stderr
    bad = server.wait_state(bad_id, "completed", "error")
    assert bad["state"] == "error" and "config key 'no spaces please'" in bad["error"]["message"]
