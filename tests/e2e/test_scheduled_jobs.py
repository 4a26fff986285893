"""Schedule triggers on a real server: ticks start sessions, state carries over, redeploys stop them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import Server, wait_until

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_scheduled_job_keeps_a_counter_and_stops_when_its_trigger_goes(server: Server, tmp_path: Path) -> None:
    project = tmp_path / "scheduled_counter"
    shutil.copytree(EXAMPLES / "scheduled_counter", project)
    manifest = project / "purrflow.yaml"
    manifest.write_text(manifest.read_text().replace("@every 1m", "@every 1s"))
    server.deploy(project)

    def ticks() -> list[dict[str, object]]:
        with server.client() as client:
            return list(client.get("/api/v1/sessions", params={"project": "scheduled_counter"}).json()["sessions"])

    wait_until(lambda: sum(s["state"] == "completed" for s in ticks()) >= 3, timeout=20, what="three ticks")
    done = sorted(int(str(s["result_repr"])) for s in ticks() if s["state"] == "completed")
    assert done[:3] == [1, 2, 3]
    assert all(s["trigger"] == "every_minute" for s in ticks())
    assert server.logs(ticks()[-1]["id"]) == ["tick 1 (tick)"]  # the oldest: event_type "tick"

    manifest.write_text(manifest.read_text().split("  triggers:")[0])  # no triggers any more
    server.deploy(project)
    settled = len(ticks())
    wait_until(lambda: all(s["state"] == "completed" for s in ticks()), timeout=10, what="running ticks to end")
    with server.client() as client:
        assert client.get("/api/v1/triggers", params={"project": "scheduled_counter"}).json()["triggers"] == []
    assert len(ticks()) <= settled + 1  # at most one tick was already on its way


def test_deploying_another_project_and_restarting_keeps_every_schedule_ticking(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        project = tmp_path / "scheduled_counter"
        shutil.copytree(EXAMPLES / "scheduled_counter", project)
        manifest = project / "purrflow.yaml"
        manifest.write_text(manifest.read_text().replace("@every 1m", "@every 1s"))
        server.deploy(project)
        other = tmp_path / "other"
        shutil.copytree(EXAMPLES / "hello_webhook", other)
        server.deploy(other)  # another project: its deployment must not touch the schedule above

        def ticks() -> int:
            with server.client() as client:
                found = client.get("/api/v1/sessions", params={"project": "scheduled_counter", "limit": 1000})
            return len(found.json()["sessions"])

        before = wait_until(lambda: ticks() >= 2 and ticks(), timeout=20, what="ticks after the other deployment")
        server.stop()
        server.start()
        wait_until(lambda: ticks() >= before + 2, timeout=20, what="ticks after the restart")
    finally:
        server.stop()


def test_a_second_server_on_the_same_data_folder_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    first = Server(tmp_path / "data").start()
    try:
        second = Server(tmp_path / "data")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "purrflow.cli.main",
                "up",
                "--port",
                str(second.port),
                "--data-dir",
                str(second.data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert first.proc is not None
        assert f"another purrflow server (pid {first.proc.pid}) is running on the data folder" in done.stderr
        with first.client() as client:  # the first one is untouched
            assert client.get("/api/v1/health").status_code == 200
    finally:
        first.stop()
    restarted = Server(tmp_path / "data").start()  # the lock went with its holder
    restarted.stop()
