"""Operating ended sessions: rerunning one from a step (the steps before replay from a copy of its journal),
deleting sessions (one, several, by filter, by the retention sweep), deleting a project, and what a
waiting session waits for in `purr sessions show`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server, encode_folder, kept_files, wait_until
from store_rows import count

pytestmark = pytest.mark.slow

FIVE_STEPS = """
from purrflow import sdk

@sdk.activity
def step(path, n):
    with open(path, "a") as f:
        f.write(f"{n}\\n")
    return n * 10

def main(event):
    path = event.data["path"]
    total = 0
    for n in range(1, 6):
        total += step(path, n)
    return total
"""

WAITS = """
import os
import time
from pathlib import Path
from purrflow import sdk

def ask(event):
    (Path(sdk.get_state_path()) / "asked.txt").write_text("asked")
    return sdk.prompt.input("who", "Who are you?")

def nap(event):
    (Path(sdk.get_state_path()) / "napped.txt").write_text("napping")
    (Path(os.environ["SDK_CONFIG_DIR"]) / "config.json").write_text("{}")
    time.sleep(600)  # sleep-ok: a durable sleep the test looks at, never waited out

def fail(event):
    raise RuntimeError("failed on purpose")
"""

HOOK = "- name: hook\n  type: webhook\n  call: program.py:fail"


def purr(server: Server, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir), "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env, input=stdin
    )


def start(client: httpx.Client, project: str, entrypoint: str, data: dict[str, object] | None = None) -> str:
    started = client.post("/api/v1/sessions", json={"project": project, "entrypoint": entrypoint, "data": data or {}})
    assert started.status_code == 201, started.text
    return str(started.json()["session_id"])


def rows_of(server: Server, session_id: str) -> dict[str, int]:
    """How many rows of each table name the session (read beside the running server)."""
    counts = {"sessions": count(server.database, "sessions", "id", session_id)}
    for table in ("journal", "session_logs", "prompts", "timers", "waits"):
        counts[table] = count(server.database, table, "session_id", session_id)
    return counts


def test_rerun_from_step_3_runs_steps_3_to_5_again_on_the_old_deployment(server: Server, tmp_path: Path) -> None:
    folder = write_project(tmp_path / "five", {"purrflow.yaml": manifest("five"), "program.py": FIVE_STEPS})
    first_deploy = server.deploy(folder)["deployment"]["id"]
    marks = server.outside / "steps.txt"
    with server.client() as client:
        old_id = start(client, "five", "program.py:main", {"path": str(marks)})
        assert server.wait_state(old_id, "completed", "error")["result_repr"] == "150"
        assert marks.read_text().split() == ["1", "2", "3", "4", "5"]
        old_steps = client.get(f"/api/v1/sessions/{old_id}/journal").json()["steps"]
        assert [s["seq"] for s in old_steps] == [1, 2, 3, 4, 5]

        # a later deployment changes nothing for the rerun: the copied steps replay on the code that made them
        (folder / "program.py").write_text(FIVE_STEPS.replace("n * 10", "n * 1000"))
        assert server.deploy(folder)["deployment"]["id"] != first_deploy

        rerun = client.post(f"/api/v1/sessions/{old_id}/rerun", json={"from_step": 3})
        assert rerun.status_code == 201, rerun.text
        body = rerun.json()
        new_id = body["session_id"]
        assert body == {"session_id": new_id, "rerun_of": old_id, "from_step": 3} and new_id != old_id
        done = server.wait_state(new_id, "completed", "error")
        assert done["state"] == "completed" and done["result_repr"] == "150", done
        assert done["deployment_id"] == first_deploy
        assert done["rerun_of"] == old_id and done["rerun_from"] == 3
        assert marks.read_text().split() == ["1", "2", "3", "4", "5", "3", "4", "5"]  # steps 1-2 did not run again

        new_steps = client.get(f"/api/v1/sessions/{new_id}/journal").json()["steps"]
        assert [(s["seq"], s["name"], s["summary"]) for s in new_steps] == [
            (s["seq"], s["name"], s["summary"]) for s in old_steps
        ]
        assert [s["recorded_at"] for s in new_steps[:2]] == [s["recorded_at"] for s in old_steps[:2]]  # copied
        assert all(new["recorded_at"] > old_steps[4]["recorded_at"] for new in new_steps[2:])  # recorded anew

        for bad in (0, 7):
            refused = client.post(f"/api/v1/sessions/{old_id}/rerun", json={"from_step": bad})
            assert refused.status_code == 400, refused.text
            assert f"from step {bad}" in refused.json()["error"]["message"]
            assert "between 1 and 6" in refused.json()["error"]["hint"]

    shown = purr(server, "sessions", "show", new_id)
    assert shown.returncode == 0, shown.stderr
    assert f"{old_id} from step 3" in shown.stdout
    cli = purr(server, "sessions", "rerun", old_id, "--from-step", "6")
    assert cli.returncode == 0, cli.stderr
    last_id = cli.stdout.strip()
    assert last_id.startswith("ses_") and last_id not in (old_id, new_id)
    assert server.wait_state(last_id, "completed", "error")["result_repr"] == "150"
    assert marks.read_text().split() == ["1", "2", "3", "4", "5", "3", "4", "5"]  # every step replayed
    beyond = purr(server, "sessions", "rerun", old_id, "--from-step", "9")
    assert beyond.returncode == 1 and "between 1 and 6" in beyond.stderr and "Traceback" not in beyond.stderr


def test_a_waiting_session_says_what_it_waits_for_and_refuses_rerun_and_delete(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "waits", {"purrflow.yaml": manifest("waits"), "program.py": WAITS}))
    with server.client() as client:
        asking = start(client, "waits", "program.py:ask")
        napping = start(client, "waits", "program.py:nap")
        waiting = server.wait_state(asking, "waiting")["waiting"]
        assert waiting["kind"] == "prompt" and "prm_" in waiting["waits_for"] and waiting["deadline"] is None
        nap = wait_until(lambda: server.session(napping)["waiting"], what="the sleep's wait")
        assert nap["kind"] == "sleep" and nap["deadline"].endswith("Z") and nap["seq"] == 1

        for session_id in (asking, napping):
            rerun = client.post(f"/api/v1/sessions/{session_id}/rerun", json={"from_step": 1})
            assert rerun.status_code == 409 and "stop it first" in rerun.json()["error"]["hint"]
            deleted = client.delete(f"/api/v1/sessions/{session_id}")
            assert deleted.status_code == 409, deleted.text
            assert deleted.json()["error"]["hint"] == f"stop it first: `purr sessions stop {session_id}`"

    shown = purr(server, "sessions", "show", napping)
    assert shown.returncode == 0, shown.stderr
    assert f"at step 1 for its sleep to end until {nap['deadline']}" in shown.stdout
    as_json = json.loads(purr(server, "sessions", "show", asking, "--json").stdout)
    assert as_json["waiting"] == waiting
    refused = purr(server, "sessions", "delete", napping, "--yes")
    assert refused.returncode == 1 and "stop it first" in refused.stderr and "Traceback" not in refused.stderr
    assert server.session(napping)["state"] == "waiting"


def test_deleting_ended_sessions_removes_all_of_them(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "waits", {"purrflow.yaml": manifest("waits"), "program.py": WAITS}))
    with server.client() as client:
        asked = start(client, "waits", "program.py:ask")
        prompt_id = wait_until(lambda: next(iter(client.get("/api/v1/prompts").json()["prompts"]), {}).get("id"))
        assert client.post(f"/api/v1/prompts/{prompt_id}/answer", json={"value": "ada"}).status_code == 200
        assert server.wait_state(asked, "completed")["result_repr"] == "'ada'"
        assert rows_of(server, asked)["prompts"] == 1 and rows_of(server, asked)["journal"] == 1
        assert kept_files(server, "state", asked) == {"asked.txt"}  # its runs' SDK_STATE_DIR

        deleted = client.delete(f"/api/v1/sessions/{asked}")
        assert deleted.status_code == 200 and deleted.json() == {"deleted": 1}, deleted.text
        assert set(rows_of(server, asked).values()) == {0}
        assert kept_files(server, "state", asked) == set()
        for path in (
            f"/api/v1/sessions/{asked}",
            f"/api/v1/sessions/{asked}/journal",
            f"/api/v1/sessions/{asked}/logs",
        ):
            assert client.get(path).status_code == 404
        assert client.delete(f"/api/v1/sessions/{asked}").status_code == 404

        failed = [start(client, "waits", "program.py:fail") for _ in range(3)]
        for session_id in failed:
            assert server.wait_state(session_id, "completed", "error")["state"] == "error"
        napping = start(client, "waits", "program.py:nap")
        server.wait_state(napping, "waiting")

        two = purr(server, "sessions", "delete", failed[0], failed[1], "--yes", "--json")
        assert two.returncode == 0, two.stderr
        assert json.loads(two.stdout) == {"deleted": 2}

        declined = purr(server, "sessions", "delete", "--project", "waits", "--state", "error", stdin="n\n")
        assert declined.returncode == 1 and "nothing deleted" in declined.stderr
        assert server.session(failed[2])["state"] == "error"
        not_final = purr(server, "sessions", "delete", "--project", "waits", "--state", "waiting", "--yes")
        assert not_final.returncode == 1 and "completed, error, stopped" in not_final.stderr

        bulk = purr(server, "sessions", "delete", "--project", "waits", "--older-than", "0s", stdin="y\n")
        assert bulk.returncode == 1 and "longer than zero" in bulk.stderr  # a duration is checked, not guessed at
        bulk = purr(server, "sessions", "delete", "--project", "waits", "--older-than", "1ms", stdin="y\n")
        assert bulk.returncode == 0, bulk.stderr
        assert "deleted 1 session(s)" in bulk.stdout
        assert client.get(f"/api/v1/sessions/{failed[2]}").status_code == 404
        assert server.session(napping)["state"] == "waiting"  # a live session is never matched
        nothing = client.post("/api/v1/sessions/delete", json={})
        assert nothing.status_code == 400 and "older_than" in nothing.json()["error"]["hint"]


def test_the_retention_sweep_deletes_ended_sessions_after_their_retention(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.5", "--retention", "2s"]).start()
    try:
        # the server's 2 s for `waits`; `keeper` keeps its sessions an hour, `quick` a second
        for name, retention in (("waits", ""), ("keeper", "  retention: 1h\n"), ("quick", "  retention: 1s\n")):
            files = {"purrflow.yaml": manifest(name) + retention, "program.py": WAITS}
            server.deploy(write_project(tmp_path / name, files))
        with server.client() as client:
            napping = start(client, "waits", "program.py:nap")
            ended = {name: start(client, name, "program.py:fail") for name in ("waits", "keeper", "quick")}
            for session_id in ended.values():  # a quick one may be swept already: only ended ones are

                def ended_or_swept(session_id: str = session_id) -> str | None:
                    found = client.get(f"/api/v1/sessions/{session_id}")
                    if found.status_code == 404:
                        return "swept"
                    state = str(found.json()["session"]["state"])
                    return state if state in ("completed", "error") else None

                assert wait_until(ended_or_swept, what=f"{session_id} to end") in ("error", "swept")
            swept = [ended["waits"], ended["quick"]]
            wait_until(
                lambda: all(client.get(f"/api/v1/sessions/{s}").status_code == 404 for s in swept), what="the sweep"
            )
            for gone in swept:
                assert rows_of(server, gone)["journal"] == 0 and rows_of(server, gone)["session_logs"] == 0
            assert server.session(ended["keeper"])["state"] == "error"
            assert server.session(napping)["state"] == "waiting"

            files = {"purrflow.yaml": manifest("vague") + "  retention: a while\n", "program.py": WAITS}
            refused = client.post(
                "/api/v1/projects/deploy", json={"files": encode_folder(write_project(tmp_path / "vague", files))}
            )
            assert refused.status_code == 400, refused.text
            assert "retention 'a while' is not a duration" in refused.json()["error"]["message"]
    finally:
        server.stop()


def test_deleting_a_project_removes_it_and_its_webhooks(server: Server, tmp_path: Path) -> None:
    folder = write_project(tmp_path / "doomed", {"purrflow.yaml": manifest("doomed", HOOK), "program.py": WAITS})
    deployed = server.deploy(folder)
    deployment_dir = server.data_dir / "deployments" / deployed["deployment"]["id"]
    config_dir = server.data_dir / "workflow-config" / deployed["project"]["id"]
    hook = deployed["triggers"][0]["webhook_url"]
    with server.client() as client:
        accepted = httpx.post(hook, json={})
        assert accepted.status_code == 202, accepted.text
        assert server.wait_state(accepted.json()["session_id"], "completed", "error")["state"] == "error"
        napping = start(client, "doomed", "program.py:nap")
        server.wait_state(napping, "waiting")
        assert client.put("/api/v1/values/k", params={"project": "doomed"}, json={"value": 1}).status_code == 200
        project_id = deployed["project"]["id"]
        assert deployment_dir.is_dir()
        assert kept_files(server, "state", napping) == {"napped.txt"}
        assert kept_files(server, "workflow-config", project_id) == {"config.json"}

        refused = client.delete("/api/v1/projects/doomed")
        assert refused.status_code == 409, refused.text
        assert "--force" in refused.json()["error"]["hint"]
        assert server.session(napping)["state"] == "waiting"

        declined = purr(server, "projects", "delete", "doomed", stdin="n\n")
        assert declined.returncode == 1 and "nothing deleted" in declined.stderr
        assert "delete project doomed" in declined.stderr and not declined.stdout  # stdout is for answers
        forced = purr(server, "projects", "delete", "doomed", "--force", "--yes", "--json")
        assert forced.returncode == 0, forced.stderr
        assert json.loads(forced.stdout) == {
            "project": "doomed",
            "sessions_deleted": 2,
            "sessions_stopped": 1,
            "deployments_deleted": 1,
        }
        assert httpx.post(hook, json={}).status_code == 404
        assert client.get(f"/api/v1/sessions/{napping}").status_code == 404
        assert "doomed" not in [p["name"] for p in client.get("/api/v1/projects").json()["projects"]]
        assert client.get("/api/v1/values", params={"project": "doomed"}).status_code == 404
        assert not deployment_dir.exists() and not config_dir.exists()
        assert kept_files(server, "state", napping) == kept_files(server, "workflow-config", project_id) == set()
        assert set(rows_of(server, napping).values()) == {0}
        again = purr(server, "projects", "delete", "doomed", "--yes")
        assert again.returncode == 1 and "no project named 'doomed'" in again.stderr

    server.deploy(folder)  # the name is free again
