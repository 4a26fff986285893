"""Output lines are always valid text: lone surrogates a program prints become U+FFFD."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server

pytestmark = pytest.mark.slow

SURROGATES = """
import sys

from purrflow import sdk


def main(event):
    print("lone \\ud800 surrogate")
    print("pair \\ud83d\\ude00 joined")
    sys.stdout.write("split \\ud83d")  # a pair written in two parts is one character
    sys.stdout.write("\\ude00 pair\\n")
    print("on stderr \\udfff", file=sys.stderr)
    sdk.ux.print("ux \\udc80 too")
    return "done"
"""


def test_a_program_that_prints_lone_surrogates_completes_with_replacement_characters(
    server: Server, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "text", {"purrflow.yaml": manifest("text"), "program.py": SURROGATES})
    server.deploy(project)
    with server.client() as client:
        response = client.post("/api/v1/sessions", json={"project": "text", "entrypoint": "program.py:main"})
    assert response.status_code == 201, response.text
    session = server.wait_state(response.json()["session_id"], "completed", "error")
    assert session["state"] == "completed", session["error"]
    assert server.logs(session["id"]) == [
        "lone \ufffd surrogate",
        "pair \U0001f600 joined",
        "split \U0001f600 pair",
        "on stderr \ufffd",
        "ux \ufffd too",
    ]
