"""Ids as people type them (a unique prefix, resolved by the server within the caller's team), and
`--json` on every command that prints data: the API's object, printed once, errors as JSON on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner, Result

from helpers import Server, wait_until
from purrflow.cli import main

pytestmark = pytest.mark.slow

PROGRAM = """
from purrflow import sdk

def ask(event):
    return sdk.prompt.input("go", "Go ahead?")

def hello(event):
    print("hello from", event.data.get("name", "nobody"))
    sdk.set_value("greeted", 1)
    return "done"
"""
MANIFEST = """
version: v1
project:
  name: {name}
  triggers:
    - name: hook
      type: webhook
      call: program.py:hello
"""


def _project(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "purrflow.yaml").write_text(textwrap.dedent(MANIFEST.format(name=name)).lstrip())
    (folder / "program.py").write_text(textwrap.dedent(PROGRAM).lstrip())
    return folder


class Purr:
    """`purr` in this process against the real server, as one user (its token)."""

    def __init__(self, server: Server, token: str, home: Path) -> None:
        self.env = {"PURRFLOW_URL": server.url, "PURRFLOW_TOKEN": token, "PURRFLOW_HOME": str(home), "COLUMNS": "200"}

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = CliRunner().invoke(main.app, list(args), env=self.env)
        if ok:
            assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
        return result

    def json(self, *args: str) -> Any:
        """The command's --json output: one JSON document and nothing else on stdout."""
        result = self(*args, "--json")
        return json.loads(result.stdout)


@pytest.fixture
def teams(server: Server, tmp_path: Path) -> Iterator[tuple[Purr, Purr, httpx.Client]]:
    """`alpha` (the admin's team) and `beta`, each with the same project deployed."""
    with server.client() as admin:
        beta = admin.post("/api/v1/teams", json={"name": "beta", "admin": "bea"})
        assert beta.status_code == 201, beta.text
        alpha_cli = Purr(server, server.token, tmp_path / "home-alpha")
        beta_cli = Purr(server, beta.json()["token"], tmp_path / "home-beta")
        alpha_cli("deploy", str(_project(tmp_path / "alpha", "shared")))
        beta_cli("deploy", str(_project(tmp_path / "beta", "shared")))
        yield alpha_cli, beta_cli, admin


def _started(purr: Purr, entrypoint: str) -> str:
    return str(purr.json("sessions", "start", "shared", entrypoint)["session_id"])


def _unique_prefix(wanted: str, others: list[str]) -> str:
    """The shortest start of `wanted` (at least its `xxx_` and 4 more) that begins none of `others`."""
    for size in range(8, len(wanted) + 1):
        if not any(other.startswith(wanted[:size]) for other in others if other != wanted):
            return wanted[:size]
    raise AssertionError(f"{wanted} is a prefix of another id")


def _shared_start(ids: list[str]) -> str:
    size = 0
    while all(len(i) > size for i in ids) and len({i[size] for i in ids}) == 1:
        size += 1
    return ids[0][:size]


def _error(result: Result) -> dict[str, Any]:
    """A failed --json command: nothing on stdout, one JSON error object on stderr, exit 1."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    error: dict[str, Any] = json.loads(result.stderr)["error"]
    return error


def test_unique_prefixes_work_wherever_an_id_is_taken(server: Server, teams: tuple[Purr, Purr, httpx.Client]) -> None:
    alpha, beta, admin = teams
    waiting = _started(alpha, "program.py:ask")
    finished = _started(alpha, "program.py:hello")
    theirs = [_started(beta, "program.py:hello"), _started(beta, "program.py:ask")]
    server.wait_state(finished, "completed")
    server.wait_state(waiting, "waiting", "running")
    ours = [waiting, finished]
    everyone = ours + theirs

    short = _unique_prefix(finished, everyone)
    assert alpha.json("sessions", "show", short)["id"] == finished
    assert [line["text"] for line in alpha.json("sessions", "logs", short)] == ["hello from nobody"]
    assert alpha.json("sessions", "journal", short)["session_id"] == finished
    restarted = alpha.json("sessions", "restart", short)
    assert restarted["restarted"] == finished
    server.wait_state(restarted["session_id"], "completed")
    everyone.append(restarted["session_id"])
    rerun = alpha.json("sessions", "rerun", _unique_prefix(finished, everyone), "--from-step", "1")
    assert rerun["rerun_of"] == finished
    server.wait_state(rerun["session_id"], "completed")
    everyone.append(rerun["session_id"])

    prompt = wait_until(lambda: alpha.json("prompts", "list"), what="the session's prompt")[0]
    answered = alpha.json("prompts", "answer", prompt["id"][: 8 + 4], "yes")
    assert answered["answered"] == prompt["id"]
    assert server.wait_state(waiting, "completed")["result_repr"] == "'yes'"

    # Another team's ids do not exist for alpha: whole, or by a prefix only they start with.
    for other in theirs:
        missing = admin.get(f"/api/v1/sessions/{_unique_prefix(other, everyone)}")
        assert missing.status_code == 404, missing.text
        assert admin.get(f"/api/v1/sessions/{other}").status_code == 404

    # A prefix every session starts with: ambiguous, listing only alpha's sessions.
    common = _shared_start(everyone)
    assert len(common) >= 8
    ambiguous = admin.get(f"/api/v1/sessions/{common}")
    assert ambiguous.status_code == 400, ambiguous.text
    message = ambiguous.json()["error"]["message"]
    assert finished in message and waiting in message and not any(other in message for other in theirs)
    assert ambiguous.json()["error"]["hint"]

    too_short = _error(alpha("sessions", "show", "ses_01", "--json", ok=False))
    assert too_short["type"] == "InvalidInputError" and "4 characters" in too_short["hint"]
    assert _error(alpha("sessions", "show", "ses_ffffffff", "--json", ok=False))["type"] == "NotFoundError"
    assert _error(alpha("sessions", "show", "nope", "--json", ok=False))["type"] == "NotFoundError"
    assert admin.post(f"/api/v1/sessions/{common}/stop", json={}).status_code == 400

    # Events: shown by a prefix; another team's event is not found, whole or not.
    event_id = alpha.json("events", "send", "hook", "--project", "shared", "--type", "post")["event_id"]
    alphas_events = [e["id"] for e in alpha.json("events", "list")["events"]]
    event_prefix = _unique_prefix(event_id, alphas_events)
    assert alpha.json("events", "show", event_prefix)["id"] == event_id
    assert alpha.json("events", "redispatch", event_prefix)["event_id"] == event_id
    assert _error(beta("events", "show", event_id, "--json", ok=False))["type"] == "NotFoundError"

    # Tokens: revoked by a prefix of the caller's own (a member's prefix finds only their tokens).
    made = alpha.json("tokens", "create", "--name", "laptop")
    mine = [t["id"] for t in alpha.json("tokens", "list") if t["revoked_at"] is None]
    revoked = alpha.json("tokens", "revoke", _unique_prefix(made["id"], mine))
    assert revoked == {"revoked": made["id"]}
    assert httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {made['token']}"}).status_code == 401
    beta_token = beta.json("tokens", "list")[0]["id"]
    assert _error(alpha("tokens", "revoke", beta_token, "--json", ok=False))["type"] == "NotFoundError"


def test_every_data_command_prints_json_that_parses(server: Server, teams: tuple[Purr, Purr, httpx.Client]) -> None:
    alpha, _, _ = teams
    session = _started(alpha, "program.py:hello")
    server.wait_state(session, "completed")
    asking = _started(alpha, "program.py:ask")
    prompt = wait_until(lambda: alpha.json("prompts", "list"), what="the session's prompt")[0]
    parsed = {
        "deploy": alpha.json("deploy", str(server.data_dir.parent / "alpha")),
        "sessions list": alpha.json("sessions", "list"),
        "sessions show": alpha.json("sessions", "show", session),
        "sessions logs": alpha.json("sessions", "logs", session),
        "sessions logs -f": alpha.json("sessions", "logs", session, "--follow"),
        "sessions journal": alpha.json("sessions", "journal", session),
        "sessions start -f": alpha.json("sessions", "start", "shared", "program.py:hello", "--follow"),
        "triggers list": alpha.json("triggers", "list"),
        "projects list": alpha.json("projects", "list"),
        "events send": alpha.json("events", "send", "hook", "--project", "shared", "--type", "post"),
        "events list": alpha.json("events", "list"),
        "config set": alpha.json("config", "set", "region", "eu"),
        "config get": alpha.json("config", "get", "region"),
        "config list": alpha.json("config", "list"),
        "config del": alpha.json("config", "del", "region"),
        "secrets set": alpha.json("secrets", "set", "API_KEY", "--value", "s3cret"),
        "secrets list": alpha.json("secrets", "list"),
        "secrets del": alpha.json("secrets", "del", "API_KEY"),
        "values set": alpha.json("values", "set", "shared", "count", "3"),
        "values get": alpha.json("values", "get", "shared", "count"),
        "values list": alpha.json("values", "list", "shared"),
        "values del": alpha.json("values", "del", "shared", "count"),
        "vars set": alpha.json("vars", "set", "shared", "MODE", "fast"),
        "vars get": alpha.json("vars", "get", "shared", "MODE"),
        "vars list": alpha.json("vars", "list", "shared"),
        "vars del": alpha.json("vars", "del", "shared", "MODE"),
        "prompts list": alpha.json("prompts", "list"),
        "prompts answer": alpha.json("prompts", "answer", prompt["id"], "ok"),
        "teams list": alpha.json("teams", "list"),
        "teams create": alpha.json("teams", "create", "gamma", "--admin", "gus"),
        "users create": alpha.json("users", "create", "mo"),
        "users list": alpha.json("users", "list"),
        "tokens create": alpha.json("tokens", "create", "--name", "ci"),
        "tokens list": alpha.json("tokens", "list"),
        "analytics track": alpha.json("analytics", "track", "deployment", "--tag", "cd"),
        "analytics list": alpha.json("analytics", "list"),
        "insights": alpha.json("insights"),
        "connections list": alpha.json("connections", "list", "shared"),
        "login": alpha.json("login", "--token", alpha.env["PURRFLOW_TOKEN"]),
        "logout": alpha.json("logout"),
    }
    sent = parsed["events send"]["event_id"]
    assert alpha.json("events", "show", sent)["id"] == sent
    assert parsed["sessions show"]["id"] == session and parsed["sessions start -f"]["state"] == "completed"
    assert parsed["sessions logs -f"] == parsed["sessions logs"]
    assert parsed["config get"] == {"key": "region", "value": "eu"}
    assert parsed["values get"]["value"] == 3
    assert parsed["prompts answer"]["answered"] == prompt["id"]
    assert parsed["users create"]["user"]["username"] == "mo" and parsed["users create"]["token"]
    assert parsed["logout"]["removed"]
    server.wait_state(asking, "completed")
    stopped = _started(alpha, "program.py:ask")
    server.wait_state(stopped, "waiting", "running")
    assert alpha.json("sessions", "stop", stopped)["state"] == "stopped"
    assert alpha.json("sessions", "restart", stopped)["session_id"].startswith("ses_")


def test_purr_run_json_is_the_outcome_alone(tmp_path: Path) -> None:
    """`purr run --json`: the session's own output goes to stderr, stdout is one JSON object."""
    project = _project(tmp_path / "local", "local")
    env = {**os.environ, "PURRFLOW_HOME": str(tmp_path / "home")}
    ran = subprocess.run(
        [sys.executable, "-m", "purrflow.cli.main", "run", str(project), "program.py:hello", "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    outcome = json.loads(ran.stdout)
    assert outcome["state"] == "completed" and outcome["result_repr"] == "'done'" and outcome["error"] is None
    assert "hello from nobody" in ran.stderr


#: Commands that print no data of the API: they serve, or talk to a person.
NO_DATA = {"up", "worker"}


def test_every_command_that_prints_data_takes_json() -> None:
    """An audit of the command tree, so a command added later without --json fails here."""
    group = typer.main.get_command(main.app)
    missing = [name for name, command in _commands(group) if name not in NO_DATA and not _takes_json(command)]
    assert not missing, f"commands without --json: {missing}"


def _commands(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every command of the tree by its full name (typer's groups and commands: duck-typed, as typer
    vendors its own click)."""
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from _commands(command, f"{full} ")
        else:
            yield full, command


def _takes_json(command: Any) -> bool:
    return any("--json" in getattr(param, "opts", ()) for param in command.params)
