"""CTO.ai programs run unmodified: the real `cto-ai` package from PyPI talks to purrflow's SDK daemon.

`examples/cto_release` is an ops.yml project whose command uses config, secrets (present, missing,
overwrite declined), all ten prompt types, track/events, user/team and ux; its pipeline runs two shell
jobs. It runs on a server (answers through the API) and under `purr run` in a pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from projects import TWICE, TWICE_OPS, write_project

from helpers import EXAMPLES, Server, wait_until
from store_rows import stored_bytes

pytestmark = pytest.mark.slow

REGISTRY_TOKEN = "registry-token-31337"
SIGNING_KEY = "typed-signing-key-4242"
APPROVER = "approver-token-777"
PASSWORD = "deploy-password-888"


def open_prompts(client: httpx.Client, session_id: str) -> list[dict[str, Any]]:
    return list(client.get("/api/v1/prompts", params={"session_id": session_id}).json()["prompts"])


def next_prompt(client: httpx.Client, session_id: str, after: set[str] | None = None) -> dict[str, Any]:
    seen = after or set()
    return wait_until(
        lambda: next((p for p in open_prompts(client, session_id) if p["id"] not in seen), None),
        what=f"a prompt of {session_id}",
    )


def result_line(lines: list[str]) -> dict[str, Any]:
    found = [line for line in lines if line.startswith("RESULT ")]
    assert len(found) == 1, lines
    return dict(json.loads(found[0].removeprefix("RESULT ")))


def start(client: httpx.Client, project: str, entrypoint: str, data: dict[str, Any] | None = None) -> str:
    body = {"project": project, "entrypoint": entrypoint, "data": data or {}}
    response = client.post("/api/v1/sessions", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


def test_release_command_runs_unmodified_on_a_server(server: Server) -> None:
    deployed = server.deploy(EXAMPLES / "cto_release", name="cto-release")
    assert {t["name"] for t in deployed["triggers"]} == {"release", "build"}
    answers: dict[str, list[tuple[Any, str | None]]] = {
        "service": [("", None)],  # the default, "api"
        "replicas": [(11, "above the maximum of 10"), ("4", None)],
        "channel": [("nightly", "not one of the choices"), ("beta", None)],
        "region": [("", None)],  # the default: the config value
        "checks": [("lint,e2e", None)],
        "notes": [("first line\nsecond line", None)],
        "when": [("2019-05-05", "before the minimum"), ("2026-12-24", None)],
        "approver_token": [(APPROVER, None)],
        "deploy_password": [(PASSWORD, None)],
        "go": [("yes", None)],
        "SIGNING_KEY": [(SIGNING_KEY, None)],  # a missing secret: the person types it
        "overwrite_REGISTRY_TOKEN": [("no", None)],  # an existing secret: overwriting is declined
    }
    with server.client() as client:
        assert client.put("/api/v1/config/DEFAULT_REGION", json={"value": "us-east-1"}).status_code == 200
        assert client.put("/api/v1/secrets/REGISTRY_TOKEN", json={"value": REGISTRY_TOKEN}).status_code == 200
        session_id = start(client, "cto-release", "ops:release")
        answered: set[str] = set()
        for name, attempts in answers.items():
            asked = next_prompt(client, session_id, answered)
            assert asked["name"] == name, asked
            for value, error in attempts:
                response = client.post(f"/api/v1/prompts/{asked['id']}/answer", json={"value": value})
                if error is None:
                    assert response.status_code == 200, response.text
                else:
                    assert response.status_code == 400 and error in response.json()["error"]["message"], response.text
            answered.add(asked["id"])
        assert client.post("/api/v1/prompts/prm_unknown/answer", json={"value": 1}).status_code == 404
        me = client.get("/api/v1/me").json()
    session = server.wait_state(session_id, "completed", "error")
    assert session["state"] == "completed", session["error"]
    logs = server.logs(session_id)
    result = result_line(logs)
    assert result["user"]["username"] == me["user"]["username"] and result["team"]["name"] == me["team"]["name"]
    assert result | {"user": None, "team": None} == {
        "user": None, "team": None, "service": "api", "replicas": 4, "channel": "beta", "region": "us-east-1",
        "checks": ["lint", "e2e"], "notes": "first line\nsecond line", "when": result["when"], "go": True,
        "secret_lengths": [len(REGISTRY_TOKEN), len(SIGNING_KEY), len(APPROVER), len(PASSWORD)],
        "overwrite": None, "events": 1, "release_channel": "stable", "env_region": "us-east-1",
        "bold": "\x1b[1mdone\x1b[0m",  # cto-ai's own formatting: ANSI for any interface but slack
    }  # fmt: skip
    assert result["when"].startswith("2026-12-24")
    assert "Hello" in logs[0] and "on unknown" in logs[0]  # a server session's host OS is "unknown"
    assert "secret REGISTRY_TOKEN was read by this session" in logs  # SIGNING_KEY was read hidden
    assert not any("SIGNING_KEY was read" in line for line in logs)
    with server.client() as client:
        config = client.get("/api/v1/config").json()["config"]
        assert config["LAST_RELEASER"] == me["user"]["username"]
        events = client.get("/api/v1/analytics/events", params={"start": "2020-01-01"}).json()["events"]
        assert [(e["event"], e["event_action"], e["repo"]) for e in events] == [("deployment", "succeeded", "api")]

    server.stop()  # checkpoint the WAL, then read every byte the server stored
    stored = stored_bytes(server.database)
    for clear in (REGISTRY_TOKEN, SIGNING_KEY, APPROVER, PASSWORD):
        assert clear.encode() not in stored, f"{clear} is stored in clear"


PROBE = r"""
import json, os, stat, sys
import requests
from cto_ai import sdk, ux

port = os.environ["SDK_SPEAK_PORT"]
base = f"http://127.0.0.1:{port}"
reply = requests.post(f"{base}/prompt", json={"type": "input", "name": "who", "message": "Who?"}).json()
mode = stat.S_IMODE(os.stat(reply["replyFilename"]).st_mode)
folder = stat.S_IMODE(os.stat(os.path.dirname(reply["replyFilename"])).st_mode)
unknown = requests.post(f"{base}/no-such-endpoint", json={})
bad = requests.post(f"{base}/prompt", json={"type": "telepathy", "name": "x", "message": "x"})
sdk.state.set("step", 1)
sdk.start("build")
ux.print("PROBE " + json.dumps({
    "port": int(port), "mode": oct(mode), "folder": oct(folder),
    "answer": json.load(open(reply["replyFilename"])),
    "unknown": [unknown.status_code, unknown.json()["error"]["message"]],
    "bad": [bad.status_code, bad.json()["error"]["message"]],
    "state": sdk.state.get_all(),
    "env": {k: os.environ.get(k) for k in ("SDK_INTERFACE_TYPE", "OPS_HOST_PLATFORM")},
    "dirs": [bool(os.environ.get(k)) and os.path.isdir(os.environ[k])
             for k in ("SDK_STATE_DIR", "SDK_CONFIG_DIR", "SDK_HOME_DIR")],
}))
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""

PROBE_OPS = """
version: "1"
commands:
  - name: probe
    description: speaks the daemon protocol by hand
    run: python3 probe.py
  - name: broken
    description: fails
    run: python3 probe.py
    env:
      static:
        - EXIT_WITH=3
pipelines:
  - name: build
    description: one job
    jobs:
      - name: only
        description: fine
        steps:
          - echo "job ran in $(basename "$PWD")"
"""


def test_the_daemon_lives_only_as_long_as_its_session_and_speaks_clearly(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "probe", {"ops.yml": PROBE_OPS, "probe.py": PROBE}), name="probe")
    with server.client() as client:
        session_id = start(client, "probe", "ops:probe")
        asked = next_prompt(client, session_id)
        assert client.post(f"/api/v1/prompts/{asked['id']}/answer", json={"value": "Ada"}).status_code == 200
        assert server.wait_state(session_id, "completed", "error")["state"] == "completed"
        lines = server.logs(session_id)
        probe = json.loads(next(line for line in lines if line.startswith("PROBE ")).removeprefix("PROBE "))
        assert probe["answer"] == {"who": "Ada"}
        assert probe["mode"] == "0o600" and probe["folder"] == "0o700"
        assert probe["unknown"][0] == 404 and "no POST /no-such-endpoint" in probe["unknown"][1]
        assert probe["bad"][0] == 400 and "prompt type 'telepathy' is unknown" in probe["bad"][1]
        assert any("SDK daemon /prompt: prompt type 'telepathy' is unknown" in line for line in lines)
        assert probe["state"] == {"step": 1}
        assert probe["env"] == {"SDK_INTERFACE_TYPE": "web", "OPS_HOST_PLATFORM": "unknown"}
        assert probe["dirs"] == [True, True, True]
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", probe["port"]), timeout=2):
            pass  # the session ended: nothing listens on its port any more
        # sdk.start("build") started the pipeline by name, as a run of its own
        build = wait_until(
            lambda: next(
                (s for s in client.get("/api/v1/sessions").json()["sessions"] if s["entrypoint"] == "ops:build"), None
            ),
            what="the pipeline started by name",
        )
        assert build["parent_id"] is None
        assert server.wait_state(build["id"], "completed", "error")["state"] == "completed"

        broken = start(client, "probe", "ops:broken")
        asked = next_prompt(client, broken)
        client.post(f"/api/v1/prompts/{asked['id']}/answer", json={"value": "Bo"})
        failed = server.wait_state(broken, "error")
        assert "command broken exited with status 3" in failed["error"]["message"]


def test_a_command_waiting_on_a_prompt_survives_a_server_kill(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    marker = f"crash-{os.getpid()}-{time.monotonic_ns()}"
    effects = server.outside / f"{marker}.effects"
    try:
        ops = TWICE_OPS.format(out=server.outside)
        server.deploy(write_project(tmp_path / "twice", {"ops.yml": ops, "twice.py": TWICE}), name="twice")
        with server.client() as client:
            session_id = start(client, "twice", "ops:twice")
            first = next_prompt(client, session_id)
            assert client.post(f"/api/v1/prompts/{first['id']}/answer", json={"value": marker}).status_code == 200
            second = next_prompt(client, session_id, {first["id"]})
            assert second["name"] == "second"
        server.kill9()
        server.start()
        with server.client() as client:
            again = next_prompt(client, session_id, {first["id"]})  # the first is answered from the journal
            assert again["name"] == "second"
            assert client.post(f"/api/v1/prompts/{again['id']}/answer", json={"value": "two"}).status_code == 200
        assert server.wait_state(session_id, "completed", "error")["state"] == "completed"
        assert f"ANSWERS {marker} two" in server.logs(session_id)
        assert effects.read_text() == "xx"  # the command ran again: effects outside the SDK repeat (documented)
    finally:
        server.stop()
        effects.unlink(missing_ok=True)


class Terminal:
    """The reading end of a pseudo-terminal, consumed up to each expected text (what follows is kept)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.shown = ""
        self._unread = ""

    def expect(self, pattern: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self._unread)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"the terminal never showed {pattern!r}; it showed:\n{self.shown}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    chunk = ""
                if not chunk:
                    raise AssertionError(f"the terminal closed before {pattern!r}:\n{self.shown}")
                self.shown += chunk
                self._unread += chunk
        self._unread = self._unread[found.end() :]


@pytest.mark.runs_once("`purr run` starts no server")
def test_release_command_under_purr_run_in_a_terminal(tmp_path: Path) -> None:
    purr = shutil.which("purr", path=str(Path(sys.executable).parent))
    assert purr is not None
    env = {**os.environ, "REGISTRY_TOKEN": REGISTRY_TOKEN, "PURRFLOW_HOME": str(tmp_path / "home"), "TERM": "dumb"}
    env.pop("EDITOR", None)
    env.pop("VISUAL", None)
    argv = [purr, "run", str(EXAMPLES / "cto_release"), "release", "--config", "DEFAULT_REGION=eu-west-1"]
    argv += ["--secret", "REGISTRY_TOKEN"]
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    terminal = Terminal(master)
    dialogue: list[tuple[str, str | None]] = [
        (r"Service to release \[api\]", "web"),
        (r"Replicas \[2\]", "42"),  # out of bounds: asked again
        (r"above the maximum of 10", None),
        (r"Replicas \[2\]", "3"),
        (r"Channel \[stable\]", "1"),
        (r"Region \[eu-west-1\]", ""),
        (r"several: a,b\)", "unit"),
        (r"holding only '\.'", "shipped it\n."),
        (r"Release at", "2026-12-24"),
        (r"Approver token", APPROVER),
        (r"Deploy password", PASSWORD),
        (r"\(Y/n\)", "y"),
        (r"SIGNING_KEY is missing", SIGNING_KEY),
        (r"Overwrite it\? \(y/N\)", "n"),
    ]
    try:
        for pattern, reply in dialogue:
            terminal.expect(pattern)
            if reply is not None:
                os.write(master, reply.encode() + b"\n")
        terminal.expect(r"completed:")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    shown = terminal.shown.replace("\r", "")
    assert "secret REGISTRY_TOKEN was read by this session" in shown
    for clear in (APPROVER, PASSWORD, SIGNING_KEY):  # typed without echo
        assert clear not in shown
    result = result_line([line for line in shown.splitlines() if line.startswith("RESULT ")])
    assert result["service"] == "web" and result["replicas"] == 3 and result["channel"] == "beta"
    assert result["region"] == "eu-west-1" and result["checks"] == ["unit"] and result["notes"] == "shipped it"
    assert result["overwrite"] is None and result["go"] is True and result["bold"] == "\x1b[1mdone\x1b[0m"
    assert result["secret_lengths"] == [len(REGISTRY_TOKEN), len(SIGNING_KEY), len(APPROVER), len(PASSWORD)]
    assert "on linux" in shown  # purr run reports the real host OS


def test_an_ops_folder_deploys_under_its_name_and_its_pipeline_runs_by_name(server: Server) -> None:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}

    def purr(*args: str) -> subprocess.CompletedProcess[str]:
        cli = [sys.executable, "-m", "purrflow.cli.main", *args]
        return subprocess.run(cli, capture_output=True, text=True, env=env, timeout=60)

    deployed = purr("deploy", str(EXAMPLES / "cto_release"))
    assert deployed.returncode == 0 and "cto_release" in deployed.stdout, deployed.stderr
    run = purr("sessions", "start", "cto_release", "build", "--follow")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "✔ job compile" in run.stdout and "✔ job package" in run.stdout
    with server.client() as client:
        sessions = client.get("/api/v1/sessions", params={"project": "cto_release"}).json()["sessions"]
    jobs = {s["entrypoint"]: s for s in sessions if s["parent_id"]}
    assert set(jobs) == {"ops:build/compile", "ops:build/package"}
    assert "packaged built" in server.logs(jobs["ops:build/package"]["id"])  # the state folder is shared
    wrong = purr("sessions", "start", "cto_release", "ops:nope")
    assert wrong.returncode != 0 and "has no command or pipeline named 'nope'" in wrong.stderr


HANDLER = """
from cto_ai import prompt, sdk, ux

def on_demand(event):
    ux.print("hello " + sdk.user()["username"])
    sdk.config.set("SEEN", "yes")
    size = prompt.number(name="size", message="How big?", minimum=1, maximum=5)
    return {"size": size, "seen": sdk.config.get("SEEN"), "team": sdk.team()["name"]}
"""


def test_a_python_handler_may_import_cto_ai_too(server: Server, tmp_path: Path) -> None:
    manifest = (
        "version: v1\nproject:\n  name: handler\n  triggers:\n    - name: go\n      type: manual\n"
        "      call: program.py:on_demand\n"
    )
    server.deploy(write_project(tmp_path / "handler", {"purrflow.yaml": manifest, "program.py": HANDLER}))
    with server.client() as client:
        session_id = start(client, "handler", "go")
        asked = next_prompt(client, session_id)
        assert asked["name"] == "size"
        server.wait_state(session_id, "waiting")  # a handler's prompt gives its process up, unlike a command's
        assert client.post(f"/api/v1/prompts/{asked['id']}/answer", json={"value": 3}).status_code == 200
    done = server.wait_state(session_id, "completed", "error")
    assert done["state"] == "completed", done["error"]
    assert eval(done["result_repr"]) == {"size": 3, "seen": "yes", "team": "default"}
    assert server.logs(session_id)[0].startswith("hello ")


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(int(entry.name))
    return found


def test_a_kill_9_of_the_server_leaves_no_process_of_a_job_behind(tmp_path: Path) -> None:
    marker = f"3000.{os.getpid()}{time.monotonic_ns() % 10_000}"  # a sleep nobody else runs
    ops = (
        'version: "1"\npipelines:\n  - name: slow\n    description: d\n    jobs:\n      - name: wait\n'
        f"        description: d\n        steps:\n          - echo started\n          - sleep {marker}\n"
        "          - echo done\n"
    )
    server = Server(tmp_path / "data").start()
    try:
        server.deploy(write_project(tmp_path / "slow", {"ops.yml": ops}), name="slow")
        with server.client() as client:
            start(client, "slow", "slow")
            wait_until(lambda: _processes_with(f"sleep {marker}"), what="the job's sleep to run")
        server.kill9()
        wait_until(lambda: not _processes_with(f"sleep {marker}"), what="the job's processes to end")
    finally:
        server.stop()
        for pid in _processes_with(f"sleep {marker}"):
            os.kill(pid, signal.SIGKILL)


ARGS_OPS = """
version: "1"
commands:
  - name: scale
    description: prompts that arguments may answer
    run: python3 scale.py
"""

SCALE = """
import sys
from cto_ai import prompt, ux
count = prompt.number(name="replicaCount", message="How many?", maximum=10, flag="c")
go = prompt.confirm(name="go", message="Go?")
ux.print(f"SCALE {count} {go} {sys.argv[1:]}")
"""


def test_command_arguments_answer_prompts_by_name_or_flag(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "scale", {"ops.yml": ARGS_OPS, "scale.py": SCALE}), name="scale")
    with server.client() as client:
        by_flag = start(client, "scale", "scale", {"args": ["-c", "4", "--go"]})
        by_name = start(client, "scale", "scale", {"args": ["--replica-count=7", "--go", "no"]})
        too_many = start(client, "scale", "scale", {"args": ["--replica-count", "99"]})
    assert server.wait_state(by_flag, "completed", "error")["state"] == "completed"
    assert "SCALE 4 True ['-c', '4', '--go']" in server.logs(by_flag)
    assert server.wait_state(by_name, "completed", "error")["state"] == "completed"
    assert "SCALE 7 False ['--replica-count=7', '--go', 'no']" in server.logs(by_name)
    failed = server.wait_state(too_many, "error")
    assert "exited with status 1" in failed["error"]["message"]
    assert any(
        "the command's argument for prompt 'replicaCount' (number): 99 is above the maximum of 10" in line
        for line in server.logs(too_many)
    ), server.logs(too_many)
