"""State folder of a workflow run, host OS, ux output and the private log, on a server and in purr run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server, kept_files, on_temporal

pytestmark = pytest.mark.slow

PROGRAM = """
import os
import time
from pathlib import Path
from purrflow import sdk
from purrflow.sdk import ux

def parent(event):
    state = Path(sdk.get_state_path())
    (state / "notes.txt").write_text("from the parent")
    ux.print("working on " + ux.bold("it"))
    sdk.log("a line only for the log")
    child = sdk.start("program.py:child")
    done = sdk.next_signal(child, timeout=30)
    time.sleep(1)  # sleep-ok: a durable sleep; suspended, the folder must survive it and a restart
    ux.progress_bar_start(2, message="copying")
    ux.progress_bar_advance()
    ux.progress_bar_stop("copied")
    return (done.payload["value"], (state / "notes.txt").read_text(), sdk.get_host_os(), os.path.isdir(sdk.home_dir()))

def child(event):
    return (Path(sdk.get_state_path()) / "notes.txt").read_text()
"""


def test_state_folder_survives_a_restart_and_ux_lines_are_marked(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.2"]).start()
    try:
        server.deploy(write_project(tmp_path / "st", {"purrflow.yaml": manifest("st"), "program.py": PROGRAM}))
        with server.client() as client:
            session_id = client.post(
                "/api/v1/sessions", json={"project": "st", "entrypoint": "program.py:parent"}
            ).json()["session_id"]
        server.wait_state(session_id, "waiting")
        server.kill9()
        if not on_temporal():  # (there the waiting session's folder is in the store: no process has a copy)
            (folder,) = (server.data_dir / "state").glob(f"*/{session_id}")
            folder.rename(server.data_dir / "state" / session_id)  # where servers before kept it: moved at start
        server.start()
        session = server.wait_state(session_id, "completed", "error")
        assert session["result_repr"] == "('from the parent', 'from the parent', 'unknown', True)", session["error"]
        assert kept_files(server, "state", session_id) == {"notes.txt"}
        if not on_temporal():
            assert [p.parts[-1] for p in (server.data_dir / "state").glob("*/*")] == [session_id]
        with server.client() as client:
            logs = client.get(f"/api/v1/sessions/{session_id}/logs").json()["logs"]
    finally:
        server.stop()
    assert [(line["stream"], line["text"]) for line in logs] == [
        ("ux", "working on **it**"),
        ("log", "a line only for the log"),
        ("ux", "[0/2] copying"),
        ("ux", "[1/2] copying"),
        ("ux", "[2/2] copied"),
    ]


@pytest.mark.runs_once("`purr run` starts no server")
def test_purr_run_shows_ux_hides_the_log_and_knows_the_host(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "local",
        {
            "purrflow.yaml": manifest("local"),
            "program.py": "from purrflow import sdk\nfrom purrflow.sdk import ux\n\n"
            "def main(event):\n    ux.print('hello person')\n    sdk.log('hidden detail')\n"
            "    return sdk.get_host_os()\n",
        },
    )
    ran = subprocess.run(
        [sys.executable, "-m", "purrflow.cli.main", "run", str(project), "program.py:main"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["hello person"]
    assert "hidden detail" not in ran.stdout + ran.stderr
    assert "completed: 'linux'" in ran.stderr
