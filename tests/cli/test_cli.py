"""The `purr` command against a real server, and `purr run` with none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from helpers import Server, database_url, free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.slow


def purr(
    *args: str, server: Server | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    if server is not None:
        full_env |= {"PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=full_env, timeout=60
    )


def test_a_session_from_deploy_to_logs(server: Server) -> None:
    deployed = purr("deploy", str(EXAMPLES / "hello_webhook"), server=server)
    assert deployed.returncode == 0, deployed.stderr
    assert "deployed hello_webhook" in deployed.stdout and "/webhooks/" in deployed.stdout

    triggers = json.loads(purr("triggers", "list", "--json", server=server).stdout)
    url = next(t["webhook_url"] for t in triggers if t["name"] == "hello")
    session_id = httpx.get(url + "?name=Ada").json()["session_id"]
    server.wait_state(session_id, "completed")

    listed = json.loads(purr("sessions", "list", "--json", server=server).stdout)
    assert [s["id"] for s in listed] == [session_id]
    table = purr("sessions", "list", server=server)
    assert session_id in table.stdout and "completed" in table.stdout
    shown = purr("sessions", "show", session_id, server=server)
    assert "'hello, Ada!'" in shown.stdout
    logs = purr("sessions", "logs", session_id, server=server)
    assert "hello, Ada!" in logs.stdout
    assert [line["text"] for line in json.loads(purr("sessions", "logs", session_id, "--json", server=server).stdout)][
        -1
    ] == "hello, Ada!"
    assert "hello_webhook" in purr("projects", "list", server=server).stdout


def test_start_follow_and_stop(server: Server, tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "purrflow.yaml").write_text("version: v1\nproject:\n  name: p\n")
    (project / "jobs.py").write_text(
        "import time\n\ndef count(event):\n    for i in range(event.data.n):\n        print('tick', i)\n"
        "    return event.data.n\n\ndef forever(event):\n    time.sleep(3600)  # sleep-ok: durable\n"
    )
    assert purr("deploy", str(project), server=server).returncode == 0
    followed = purr("sessions", "start", "p", "jobs.py:count", "--data", '{"n": 3}', "--follow", server=server)
    assert followed.returncode == 0, followed.stderr
    assert [line.split(" ", 1)[1] for line in followed.stdout.splitlines()[1:]] == ["tick 0", "tick 1", "tick 2"]
    assert "session completed" in followed.stderr

    session_id = purr("sessions", "start", "p", "jobs.py:forever", server=server).stdout.strip()
    server.wait_state(session_id, "waiting", "running")
    stopped = purr("sessions", "stop", session_id, "--reason", "enough", server=server)
    assert stopped.returncode == 0, stopped.stderr
    session = server.session(session_id)
    assert session["state"] == "stopped" and "enough" in session["error"]["message"]
    again = purr("sessions", "stop", session_id, server=server)
    assert again.returncode == 1 and "already ended (stopped)" in again.stderr


def test_run_locally_without_a_server(tmp_path: Path) -> None:
    ran = purr(
        "run",
        str(EXAMPLES / "hello_webhook"),
        "--data",
        '{"method": "GET", "url": {"path": "/x", "query": {}}, "headers": {}, "body": {"json": null}}',
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["GET /x from someone", "hello, world!"]
    assert "completed: 'hello, world!'" in ran.stderr
    as_readme = purr("run", str(EXAMPLES / "hello_webhook"), "--data", '{"name": "Ada"}')  # the README's line
    assert as_readme.returncode == 0, as_readme.stderr
    assert as_readme.stdout.splitlines()[1:] == ["hello, Ada!"] and "POST /webhooks/" in as_readme.stdout
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "purrflow.yaml").write_text("version: v1\nproject:\n  name: broken\n")
    (broken / "b.py").write_text("def main(event):\n    print('about to fail')\n    raise KeyError('missing')\n")
    failed = purr("run", str(broken), "b.py:main")
    assert failed.returncode == 1
    assert "about to fail" in failed.stdout
    assert "KeyError" in failed.stderr and 'b.py", line 3' in failed.stderr
    assert "Traceback" in failed.stderr and "purrflow/runner" not in failed.stderr  # only the user's frames


def test_clear_errors_and_exit_codes(tmp_path: Path) -> None:
    nowhere = purr("sessions", "list", env={"PURRFLOW_URL": f"http://127.0.0.1:{free_port()}"})
    assert nowhere.returncode == 1
    assert "cannot reach the purrflow server" in nowhere.stderr and "purr up" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    bad_json = purr("run", str(EXAMPLES / "hello_webhook"), "--data", "{nope")
    assert bad_json.returncode == 1 and "--data is not valid JSON" in bad_json.stderr and "column 2" in bad_json.stderr
    no_manifest = purr("run", str(tmp_path))
    assert no_manifest.returncode == 1 and "has no manifest" in no_manifest.stderr


def test_a_wrong_token_is_explained(server: Server) -> None:
    refused = purr("sessions", "list", server=server, env={"PURRFLOW_TOKEN": "wrong"})
    assert refused.returncode == 1
    assert "unknown or revoked" in refused.stderr and "PURRFLOW_TOKEN" in refused.stderr


def test_run_asks_prompts_in_the_terminal_until_the_answer_fits(tmp_path: Path) -> None:
    project = tmp_path / "asker"
    project.mkdir()
    (project / "purrflow.yaml").write_text("version: v1\nproject:\n  name: asker\n")
    (project / "ask.py").write_text(
        "from purrflow.sdk import prompt\n\n"
        "def main(event):\n"
        "    return (prompt.input('name', 'Name?'), prompt.number('age', 'Age?', maximum=120),\n"
        "            prompt.confirm('ok', 'Sure?'), prompt.list('env', 'Where?', ['dev', 'prod']))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-m", "purrflow.cli.main", "run", str(project), "ask.py:main"],
        input="Ada\nold\n500\n36\ny\n1\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert "completed: ('Ada', 36, True, 'prod')" in ran.stderr
    assert "'old' is not a whole number" in ran.stderr and "500 is above the maximum of 120" in ran.stderr


def test_version_url_without_scheme_and_unknown_states(tmp_path: Path) -> None:
    """`purr --version`; `--url 127.0.0.1:PORT` as people type it; an unknown `--state` is an error."""
    env = {**os.environ, "PURRFLOW_HOME": str(tmp_path)}
    version = subprocess.run([sys.executable, "-m", "purrflow.cli.main", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("purrflow ")
    server = Server(tmp_path / "data").start()
    try:
        bare = server.url.removeprefix("http://")
        listed = subprocess.run(
            [sys.executable, "-m", "purrflow.cli.main", "sessions", "list", "--url", bare, "--state", "done"],
            capture_output=True, text=True, env=env | {"PURRFLOW_TOKEN": server.token},
        )  # fmt: skip
        assert listed.returncode == 1 and "Traceback" not in listed.stderr
        assert "'done' is not a session state" in listed.stderr and "completed" in listed.stderr
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--hot-memory", "lots", "--hot-memory 'lots' is not a size"),
        ("--session-memory", "-1G", "--session-memory '-1G' must be zero or more"),
    ],
)
def test_a_bad_size_for_up_names_its_option_and_starts_nothing(
    tmp_path: Path, option: str, value: str, says: str
) -> None:
    refused = purr("up", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"), option, value)
    assert refused.returncode != 0
    assert says in refused.stderr and "512M" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("argv", "says", "hint"),
    [
        (["up", "--orchestrator", "temporal"], "needs a PostgreSQL database", "--database-url"),
        (["up", "--role", "api"], "--role api needs the temporal orchestrator", "--orchestrator temporal"),
        (["worker"], "needs a PostgreSQL database", "--database-url"),
        (
            ["worker", "--database-url", "postgresql://127.0.0.1:1/nowhere"],
            "cannot connect to the PostgreSQL database",
            "PURRFLOW_DATABASE_URL",
        ),
    ],
)
def test_a_scaled_process_without_what_it_needs_is_refused_with_what_to_give_it(
    tmp_path: Path, argv: list[str], says: str, hint: str
) -> None:
    refused = purr(*argv, "--data-dir", str(tmp_path / "data"))
    assert refused.returncode != 0
    assert says in refused.stderr and hint in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout


@pytest.mark.parametrize("command", ["up", "worker"])
def test_a_temporal_that_does_not_answer_is_refused_with_where_to_find_one(
    tmp_path: Path, postgres_url: str, command: str
) -> None:
    argv = [command, "--database-url", postgres_url, "--temporal", f"127.0.0.1:{free_port()}"]
    if command == "up":
        argv += ["--orchestrator", "temporal", "--port", str(free_port())]
    refused = purr(*argv, "--data-dir", str(tmp_path / "data"))
    assert refused.returncode != 0
    assert "cannot reach Temporal at 127.0.0.1:" in refused.stderr and "--temporal HOST:PORT" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout


def test_a_server_whose_data_key_does_not_open_its_database_refuses_to_start(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    server.stop()
    (tmp_path / "data" / "secret.key").unlink()  # the next start makes a new key, which opens nothing stored
    url = database_url(server.data_dir)  # the same database, on PostgreSQL
    refused = purr(
        "up", "--port", str(free_port()), "--data-dir", str(server.data_dir), *server.extra_args,
        env={"PURRFLOW_DATABASE_URL": url} if url else None,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "data key does not open the database's data" in refused.stderr
    assert "PURRFLOW_SECRET_KEY" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout


@pytest.mark.parametrize(
    ("url", "says", "hint"),
    [
        ("mysql://db/x", "must name a PostgreSQL database", "postgresql://user:password@host:port/database"),
        ("postgresql://127.0.0.1:1/nowhere", "cannot connect to the PostgreSQL database", "PURRFLOW_DATABASE_URL"),
    ],
)
def test_a_database_url_up_cannot_use_is_refused_with_what_to_check(
    tmp_path: Path, url: str, says: str, hint: str
) -> None:
    refused = purr("up", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"), "--database-url", url)
    assert refused.returncode != 0
    assert says in refused.stderr and hint in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
