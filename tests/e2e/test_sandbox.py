"""A handler of team B tries to read what it must not — the server's files, team A's files, the server's
environment — and fails each time; nothing it can read lets it recover team A's secret.

The tests run as root, so the server sandboxes every session (each team as a uid of its own, in a mount
namespace that hides the data folder). Where it cannot sandbox, it runs only the default team's code.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, encode_folder, kept_files, on_temporal, wait_until

pytestmark = pytest.mark.slow

TEAM_A_SECRET = "a-secret-of-team-a-7f3e"
OPERATOR_VALUE = "the-operators-own-variable-91c2"
FERNET_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()

VICTIM = """
from purrflow import sdk

def main(event):
    with open(sdk.get_state_path() + "/notes.txt", "w") as notes:
        notes.write(sdk.get_secret("TOKEN", hidden=True))
    return "written"
"""

ATTACKER = """
import glob
import os

def attempt(path):
    try:
        if os.path.isdir(path):
            return "LISTED " + ",".join(sorted(os.listdir(path)))[:200]
        with open(path, "rb") as handle:
            return "READ " + handle.read(200).decode(errors="replace")
    except OSError as err:
        return type(err).__name__


def main(event):
    targets = event.data.body.json["targets"]
    found = {name: attempt(path) for name, path in targets.items()}
    found["environment"] = "\\n".join(f"{k}={v}" for k, v in os.environ.items())
    found["proc entries"] = ",".join(sorted(p for p in os.listdir("/proc") if p.isdigit()))
    return found
"""


def test_a_team_b_handler_reaches_nothing_of_team_a_nor_of_the_server(tmp_path: Path) -> None:
    env = {"PURRFLOW_SECRET_KEY": FERNET_KEY, "OPERATOR_SECRET": OPERATOR_VALUE}
    server = Server(tmp_path / "data", env=env).start()
    try:
        victim = write_project(
            tmp_path / "victim",
            {
                "purrflow.yaml": manifest("victim", "- name: go\n  type: manual\n  call: program.py:main"),
                "program.py": VICTIM,
            },
        )
        with server.client() as admin:  # team A is the operator's `default` team
            assert admin.put("/api/v1/secrets/TOKEN", json={"value": TEAM_A_SECRET}).status_code == 200
            a_deployment = server.deploy(victim)["deployment"]["id"]
            a_session = admin.post("/api/v1/sessions", json={"project": "victim", "entrypoint": "go"}).json()
            assert server.wait_state(a_session["session_id"], "completed")["result_repr"] == "'written'"
            beta = admin.post("/api/v1/teams", json={"name": "beta", "admin": "bea"}).json()
        data = server.data_dir
        # Team A's session's state folder, in its team's; on Temporal it is kept in the store (sealed) once its
        # runner is done, and no worker has a copy left for B to look for.
        states = list((data / "state").glob("*/*"))
        if not on_temporal():
            (state,) = states
            assert (state / "notes.txt").read_text() == TEAM_A_SECRET  # what B is after
        else:
            assert states == [] and kept_files(server, "state", a_session["session_id"]) == {"notes.txt"}
            state = data / "state" / "team" / a_session["session_id"]
        assert server.proc is not None
        targets = {
            "database": data / "purrflow.db",
            "WAL": data / "purrflow.db-wal",
            "secret key": data / "secret.key",
            "admin token": data / "admin-token",
            "team A's deployment": data / "deployments" / a_deployment / "program.py",
            "team A's state": state / "notes.txt",
            "the server's environment": Path(f"/proc/{server.proc.pid}/environ"),
            "the server's files": Path(f"/proc/{server.proc.pid}/root") / str(data).lstrip("/") / "secret.key",
            "the server's descriptors": Path(f"/proc/{server.proc.pid}/fd"),
        }
        attacker = write_project(
            tmp_path / "attacker",
            {
                "purrflow.yaml": manifest("attacker", "- name: hook\n  type: webhook\n  call: program.py:main"),
                "program.py": ATTACKER,
            },
        )
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {beta['token']}"}) as b:
            deployed = b.post("/api/v1/projects/deploy", json={"files": encode_folder(attacker)})
            assert deployed.status_code == 201, deployed.text
            hook = deployed.json()["triggers"][0]["webhook_url"]
            folders = {"data folder": data, "deployments": data / "deployments", "states": data / "state"}
            body = {"targets": {name: str(path) for name, path in (targets | folders).items()}}
            session_id = httpx.post(hook, json=body).json()["session_id"]
            session = wait_until(
                lambda: (
                    (s := b.get(f"/api/v1/sessions/{session_id}").json()["session"])["state"] in ("completed", "error")
                    and s
                ),
                what="team B's session to end",
            )
            assert session["state"] == "completed", session["error"]
            logs_and_result = json.dumps(session) + json.dumps(b.get(f"/api/v1/sessions/{session_id}/logs").json())
        found = eval(session["result_repr"])  # a dict of plain strings, repr'd by the runner
        for name in targets:
            assert not found[name].startswith(("READ", "LISTED")), f"team B reached {name}: {found[name]}"
        # The data folder shows only the empty frame of B's own files (where its deployment is bound).
        for folder in ("data folder", "deployments", "states"):
            listed = found[folder].removeprefix("LISTED ").split(",")
            forbidden = {"purrflow.db", "secret.key", "admin-token", a_deployment, state.name}
            assert not forbidden & set(listed), found[folder]
        assert FERNET_KEY not in found["environment"] and OPERATOR_VALUE not in found["environment"]
        assert "PURRFLOW_SECRET_KEY" not in found["environment"] and "OPERATOR_SECRET" not in found["environment"]
        assert str(server.proc.pid) not in found["proc entries"].split(",")  # not even the server's pid
        assert TEAM_A_SECRET not in logs_and_result
    finally:
        server.stop()


def test_without_a_sandbox_only_the_default_team_runs_code_unless_trusted(server: Server, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p", {"purrflow.yaml": manifest("p", "- name: go\n  type: manual\n  call: program.py:f"),
                         "program.py": "def f():\n    return 1\n"},
    )  # fmt: skip
    for trusted in (False, True):
        extra = ["--sandbox", "off", *(["--trust-all-code"] if trusted else [])]
        unsandboxed = Server(tmp_path / f"data-{trusted}", extra_args=extra).start()
        try:
            with unsandboxed.client() as admin:
                beta = admin.post("/api/v1/teams", json={"name": "beta", "admin": "bea"}).json()
            unsandboxed.deploy(project)  # the operator's own team may run its code
            token = {"Authorization": f"Bearer {beta['token']}"}
            with httpx.Client(base_url=unsandboxed.url, headers=token) as b:
                answer = b.post("/api/v1/projects/deploy", json={"files": encode_folder(project)})
            if trusted:
                assert answer.status_code == 201, answer.text
            else:
                assert answer.status_code == 403
                assert "cannot sandbox sessions" in answer.json()["error"]["message"]
                assert "--trust-all-code" in answer.json()["error"]["hint"]
            assert "sandbox: OFF" in unsandboxed.log_path.read_text()
        finally:
            unsandboxed.stop()


FORGER = """
import gc
import os
import pickle
import socket
import struct


class RunsInTheHost:
    def __reduce__(self):
        return (os.system, ("touch " + os.environ["MARKER"],))


def main(event):
    body = pickle.dumps(RunsInTheHost())
    sent = 0
    for found in gc.get_objects():  # every socket the process holds: one of them is the host's
        if isinstance(found, socket.socket) and found.family == socket.AF_UNIX and found.fileno() >= 0:
            try:
                found.sendall(struct.pack(">I", len(body)) + body)
                sent += 1
            except OSError:
                pass
    return sent
"""


def test_a_forged_message_on_the_runners_socket_runs_nothing_in_the_host(server: Server, tmp_path: Path) -> None:
    """The runner's socket is the team's to write: the host unpickles only the wire's classes from it."""
    marker = tmp_path / "ran-in-the-host"
    triggers = "- name: go\n  type: manual\n  call: program.py:main"
    text = manifest("forger", triggers, vars=f"- name: MARKER\n  value: {marker}")
    project = write_project(tmp_path / "forger", {"purrflow.yaml": text, "program.py": FORGER})
    server.deploy(project)
    with server.client() as admin:
        session_id = admin.post("/api/v1/sessions", json={"project": "forger", "entrypoint": "go"}).json()["session_id"]
    session = server.wait_state(session_id, "completed", "error")
    assert not marker.exists(), "the host ran the forged message's code"
    assert session["state"] == "error"
    assert "may not send a posix.system" in session["error"]["message"]
