"""Unmodified AutoKitteh programs: `import autokitteh` resolves to purrflow's implementation."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from helpers import Server, wait_until

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SRC = Path(__file__).resolve().parents[2] / "src"


def test_sync_webhook_answered_by_a_second_webhook_with_the_real_package_installed(server: Server) -> None:
    import autokitteh  # the PyPI package is a test dependency: its functions must be replaced in sessions

    assert "purrflow" not in autokitteh.__file__
    urls = {t["name"]: t["webhook_url"] for t in server.deploy(EXAMPLES / "ak_sync_answer")["triggers"]}
    answers: list[httpx.Response] = []
    asking = threading.Thread(
        target=lambda: answers.append(httpx.get(urls["ask"] + "?q=meaning of life&id=t1", timeout=30))
    )
    asking.start()
    with server.client() as client:
        session = wait_until(
            lambda: next(iter(client.get("/api/v1/sessions", params={"state": "waiting"}).json()["sessions"]), None),
            what="the asking session to wait",
        )
    assert httpx.post(urls["answer"] + "?to=someone-else", content=b"no").json()["session_id"] is None
    posted = httpx.post(urls["answer"] + "?to=t1", content=b"42")
    assert posted.status_code == 202 and posted.json()["session_id"] is None  # a trigger without call
    asking.join(timeout=30)
    assert answers[0].status_code == 200 and answers[0].text == "42"
    assert server.logs(session["id"]) == ["asked: meaning of life?"]


def test_without_the_package_autokitteh_is_purrflows_module() -> None:
    script = (
        "import sys; from purrflow.compat import autokitteh_loader; autokitteh_loader.install();"
        "import autokitteh, autokitteh.errors; print(autokitteh.__name__, autokitteh.errors.AutoKittehError.__module__)"
    )
    # -S leaves site-packages (and the installed autokitteh) out; purrflow's SDK needs only the stdlib.
    done = subprocess.run(
        [sys.executable, "-S", "-c", script], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["purrflow.compat.autokitteh", "purrflow.compat.autokitteh.errors"]
