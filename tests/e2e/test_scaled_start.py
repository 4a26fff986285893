"""A scaled platform whose processes all start at the same moment on a new database, as an orchestrator of
containers starts them: every one comes up, what the first start makes is made once, and one project
deployed through every API server at once is one project."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from projects import manifest, write_project

from postgres_cluster import Cluster
from scaled import ScaledPlatform
from temporal_server import TemporalServer

pytestmark = [pytest.mark.slow, pytest.mark.runs_once("it builds its own scaled platform")]

PROGRAM = """
from purrflow import sdk


def hello(event):
    sdk.http_outcome(200, "hello from " + event.data.url.query["who"])
"""
TRIGGERS = """
- name: hello
  type: webhook
  is_sync: true
  call: program.py:hello
"""


def test_servers_started_at_once_on_a_new_database_serve_and_deploy_one_project_together(
    tmp_path: Path, postgres_cluster: Cluster, temporal_server: TemporalServer
) -> None:
    database = postgres_cluster.new_database()
    platform = ScaledPlatform(tmp_path, database=database, temporal=temporal_server.address)
    try:
        apis, _ = platform.start_at_once(apis=3, workers=2)
        for api in apis:  # each server's own admin (of the one operators' team) works on every server
            for other in apis:
                headers = {"Authorization": f"Bearer {api.token}"}
                assert httpx.get(f"{other.url}/api/v1/projects", headers=headers, timeout=30).status_code == 200

        folder = write_project(
            tmp_path / "greeter", {"purrflow.yaml": manifest("greeter", TRIGGERS), "program.py": PROGRAM}
        )
        with ThreadPoolExecutor(len(apis)) as pool:
            deployed = list(pool.map(lambda api: api.deploy(folder), apis))  # asserts each one's 201
        hooks = {t["webhook_url"] for answer in deployed for t in answer["triggers"]}
        assert len({url.rsplit("/", 1)[1] for url in hooks}) == 1, "one trigger, one webhook slug"
        answer = httpx.get(hooks.pop() + "?who=three", timeout=30)
        assert (answer.status_code, answer.text) == (200, "hello from three")

        with psycopg.connect(database) as conn:
            assert conn.execute("SELECT name FROM teams").fetchall() == [("default",)]
            assert conn.execute("SELECT count(*) FROM projects WHERE name = 'greeter'").fetchone() == (1,)
            assert conn.execute("SELECT count(*) FROM deployments").fetchone() == (3,)
    finally:
        platform.stop()
        postgres_cluster.drop_database(database)
