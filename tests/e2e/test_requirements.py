"""A project's requirements.txt on a real, sandboxed server: installed at deploy into an environment
shared by every deployment of the same file, imported by the project's runners (even a module the zygote
had preloaded), and a requirement that cannot be installed refuses the deploy and leaves the running
deployment serving."""

from __future__ import annotations

import concurrent.futures
import hashlib
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from projects import manifest, write_project

from helpers import Server, encode_folder, wait_until
from wheels import build_wheel

pytestmark = pytest.mark.slow

PROGRAM = """
import time

import certifi
import purrtiny

def main(event):
    return (purrtiny.VALUE, certifi.__version__)

def slow(event):
    time.sleep(2)  # sleep-ok: a session of the old deployment, under way while a bad deploy is refused
    return purrtiny.VALUE
"""


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def run(server: Server, entrypoint: str) -> dict[str, Any]:
    with server.client() as client:
        answer = client.post("/api/v1/sessions", json={"project": "deps", "entrypoint": entrypoint})
    assert answer.status_code == 201, answer.text
    return server.wait_state(answer.json()["session_id"], "completed", "error")


def test_requirements_are_installed_once_imported_and_a_bad_one_refuses_the_deploy(
    server: Server, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "purrtiny", "1.0", {"purrtiny/__init__.py": "VALUE = 42\n"})
    # the zygote preloads certifi (requests imports it): the project's own version must win in its runners
    build_wheel(wheels, "certifi", "9999.0", {"certifi/__init__.py": "__version__ = '9999.0'\ndef where(): ...\n"})
    requirements = f"--no-index\n--find-links {wheels}\npurrtiny==1.0\ncertifi==9999.0  # pinned\n"
    files = {"purrflow.yaml": manifest("deps"), "program.py": PROGRAM, "requirements.txt": requirements}
    project = write_project(tmp_path / "deps", files)

    deployed = purr(server, "deploy", str(project))
    assert deployed.returncode == 0, deployed.stderr
    assert "installing requirements.txt (2 packages)…" in deployed.stderr
    assert "requirements.txt: installed in" in deployed.stderr
    digest = hashlib.sha256(requirements.encode()).hexdigest()
    assert (server.data_dir / "envs" / digest / "purrtiny" / "__init__.py").is_file()
    session = run(server, "program.py:main")
    assert session["state"] == "completed", session["error"]
    assert session["result_repr"] == "(42, '9999.0')"  # imported in the sandbox, the environment first

    (project / "program.py").write_text(PROGRAM + "\n# a new version of the code, the same requirements\n")
    again = server.deploy(project)
    assert again["requirements"]["env"] == digest and again["requirements"]["cached"] is True
    cached = purr(server, "deploy", str(project))
    assert "requirements.txt: already installed" in cached.stderr
    current = _deployment_of(server)
    under_way = _start(server, "program.py:slow")

    (project / "requirements.txt").write_text("--no-index\nno-such-package-xyz==1.0\n")
    with server.client() as client:
        refused = client.post("/api/v1/projects/deploy", json={"files": encode_folder(project)})
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["type"] == "RequirementsError"
        assert "no-such-package-xyz" in error["message"] and "pip exited with" in error["message"]
        assert "fix requirements.txt" in error["hint"]
    assert _deployment_of(server) == current  # untouched
    cli = purr(server, "deploy", str(project))
    assert cli.returncode == 1 and "no-such-package-xyz" in cli.stderr
    assert server.wait_state(under_way, "completed", "error")["result_repr"] == "42"
    assert run(server, "program.py:main")["result_repr"] == "(42, '9999.0')"  # the old deployment serves
    assert sorted(p.name for p in (server.data_dir / "envs").iterdir()) == [digest]  # nothing half-installed


def _start(server: Server, entrypoint: str) -> str:
    with server.client() as client:
        answer = client.post("/api/v1/sessions", json={"project": "deps", "entrypoint": entrypoint})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["session_id"])


def _deployment_of(server: Server) -> str:
    with server.client() as client:
        projects = client.get("/api/v1/projects").json()["projects"]
    return str(next(p["deployment_id"] for p in projects if p["name"] == "deps"))


@pytest.mark.runs_once("`purr run` starts no server")
def test_purr_run_installs_requirements_into_the_user_cache_once(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "wheels", "purrtiny", "2.0", {"purrtiny/__init__.py": "VALUE = 'two'\n"})
    files = {
        "purrflow.yaml": manifest("local"),
        "program.py": "import purrtiny\n\ndef main(event):\n    print(purrtiny.VALUE)\n",
        "requirements.txt": f"--no-index\n{wheel}\n",
    }
    project = write_project(tmp_path / "local", files)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "purrflow.cli.main", "run", str(project), "program.py:main"]
    for _ in range(2):  # the second run finds the environment in the cache
        ran = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.splitlines() == ["two"]
    installed = list((tmp_path / "cache" / "purrflow" / "envs").iterdir())
    assert [p.name for p in installed] == [hashlib.sha256(files["requirements.txt"].encode()).hexdigest()]


class _SlowIndex(http.server.BaseHTTPRequestHandler):
    """A `--find-links` page that takes its time: the install it feeds lasts seconds."""

    wheel: Path
    pages: list[str]

    def do_GET(self) -> None:
        if self.path.endswith(".whl"):
            body, kind = self.wheel.read_bytes(), "application/octet-stream"
        else:
            self.pages.append(self.path)
            time.sleep(3)  # sleep-ok: the slow index under test
            body, kind = f'<a href="/{self.wheel.name}">{self.wheel.name}</a>'.encode(), "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_long_install_blocks_neither_the_server_nor_runs_twice_for_the_same_file(
    server: Server, tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path / "wheels", "purrslow", "1.0", {"purrslow/__init__.py": "VALUE = 'slow'\n"})
    handler = type("Index", (_SlowIndex,), {"wheel": wheel, "pages": []})
    index = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=index.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{index.server_address[1]}/"
        files = {
            "purrflow.yaml": manifest("deps"),
            "program.py": "import purrslow\n\ndef main(event):\n    return purrslow.VALUE\n",
            "requirements.txt": f"--no-index\n--find-links {url}\npurrslow==1.0\n",
        }
        project = write_project(tmp_path / "deps", files)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            deploys = [pool.submit(server.deploy, project) for _ in range(2)]
            wait_until(lambda: handler.pages, timeout=30, what="the installer to ask the index")
            started = time.monotonic()
            with server.client() as client:
                assert client.get("/api/v1/health").status_code == 200
                assert client.get("/api/v1/projects").status_code == 200
            assert time.monotonic() - started < 1.0  # answered while the install goes on
            results = [future.result(timeout=120) for future in deploys]
        assert sorted(r["requirements"]["cached"] for r in results) == [False, True]
        assert len(handler.pages) == 1  # the second deploy waited for the first install, and used it
        assert run(server, "program.py:main")["result_repr"] == "'slow'"
    finally:
        index.shutdown()
        index.server_close()
