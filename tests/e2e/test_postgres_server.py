"""A server over PostgreSQL waits for the database off its event loop: with a table locked by another
database session, a request that writes to it waits, while the server goes on answering what needs no
database — and the waiting request completes, durable, once the lock goes."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import psycopg
from projects import manifest, write_project

from helpers import Server, wait_until
from store_rows import waiting_on_locks


def test_a_request_stuck_on_the_database_leaves_the_server_answering(tmp_path: Path, postgres_url: str) -> None:
    server = Server(tmp_path / "data", env={"PURRFLOW_DATABASE_URL": postgres_url}).start()
    try:
        server.deploy(write_project(tmp_path / "p", {"purrflow.yaml": manifest("shop"), "a.py": "def f(e): pass\n"}))
        lock = psycopg.connect(postgres_url)
        lock.execute("LOCK TABLE project_values IN ACCESS EXCLUSIVE MODE")
        answers: list[httpx.Response] = []

        def put_value() -> None:
            with server.client() as client:
                answers.append(client.put("/api/v1/values/k", params={"project": "shop"}, json={"value": 7}))

        writer = threading.Thread(target=put_value)
        writer.start()
        wait_until(lambda: waiting_on_locks(postgres_url) > 0, timeout=10, what="the write waiting on the lock")
        for _ in range(5):  # the loop is not stuck behind it
            assert httpx.get(f"{server.url}/api/v1/health", timeout=5).status_code == 200
        assert writer.is_alive() and answers == []
        lock.commit()  # the lock goes
        writer.join(timeout=10)
        assert [answer.status_code for answer in answers] == [200]
        with server.client() as client:
            assert client.get("/api/v1/values/k", params={"project": "shop"}).json()["value"] == 7
    finally:
        server.stop()
