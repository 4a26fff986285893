"""`purr up --log-format json` (or PURRFLOW_LOG_FORMAT=json): every line on the server's stderr is one JSON
object, and a line logged while the host handled a session names it; the banner on stdout stays human."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, wait_until

pytestmark = pytest.mark.slow

TRIGGERS = """
- name: crash
  type: webhook
  call: program.py:crash
"""

PROGRAM = """
import os

def crash(event):
    os._exit(3)  # its runner dies: the host logs the death and replays the session once
"""


class SplitServer(Server):
    """The server with its stdout (the banner) and stderr (the log lines) in separate files."""

    def start(self) -> SplitServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.outside.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = self.data_dir / "stdout.log", self.data_dir / "stderr.log"
        args = [sys.executable, "-m", "purrflow.cli.main", "up", "--port", str(self.port)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [*args, "--data-dir", str(self.data_dir), *self.extra_args],
                stdout=out,
                stderr=err,
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        wait_until(self._healthy, timeout=30, what=f"server on {self.url} (log: {self.stderr_path})")
        return self


def parsed(path: Path) -> list[dict[str, object]]:
    lines = path.read_text().splitlines()
    assert lines, "the server logged nothing"
    records = []
    for line in lines:
        record = json.loads(line)  # every line: a JSON object, or the test fails here naming it
        assert isinstance(record, dict), line
        assert {"ts", "level", "logger", "message"} <= record.keys(), line
        records.append(record)
    return records


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_every_log_line_is_json_and_names_its_session(tmp_path: Path, how: str) -> None:
    flag = ["--log-format", "json"] if how == "flag" else []
    env = {"PURRFLOW_LOG_FORMAT": "json"} if how == "environment" else {}
    server = SplitServer(tmp_path / "data", extra_args=[*flag, "--runner-attempts", "1"], env=env).start()
    try:
        files = {"purrflow.yaml": manifest("logged", TRIGGERS), "program.py": PROGRAM}
        (trigger,) = server.deploy(write_project(tmp_path / "logged", files))["triggers"]
        response = httpx.post(trigger["webhook_url"], json={})
        assert response.status_code == 202, response.text
        session_id = response.json()["session_id"]
        ended = server.wait_state(session_id, "completed", "error")
        assert ended["error"]["type"] == "RunnerDied"
        wait_until(lambda: session_id in server.stderr_path.read_text(), what="the replay's log line")
    finally:
        server.stop()

    records = parsed(server.stderr_path)
    about = [r for r in records if session_id in str(r["message"])]
    assert about, records
    for record in about:
        assert record["session_id"] == session_id
        assert record["project"] == "logged"
    replay = next(r for r in about if "replaying" in str(r["message"]))
    assert replay["level"] == "WARNING"
    assert replay["logger"] == "purrflow.orchestrators.driver"
    assert "serving on" in server.stdout_path.read_text()  # the banner is for a person


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    port = str(SplitServer(tmp_path / "data").port)
    refused = subprocess.run(
        [sys.executable, "-m", "purrflow.cli.main", "up", "--port", port, "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env={**os.environ, "PURRFLOW_LOG_FORMAT": "yaml"},
        timeout=60,
    )
    assert refused.returncode != 0
    assert "log format 'yaml' is unknown" in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr
