"""Every code example of the AutoKitteh SDK reference (seed 001) runs as written, on a real server, with and
without the PyPI `autokitteh` package.

Each example is a project under `seed_examples/ak/<name>/`: its program is the reference's text (re-indented:
the reference lost its indentation), split into files where the example says so (`# In worker.py:`). Lines
marked `# added` are the few the examples leave to the reader — an import they use without making, a
function they call without defining, an entry point for module-level code — and `test_the_programs_are_the_
references_text` checks that every other line is the reference's, in order. The one example that calls an
outside URL (`https://api.example.com`) has it pointed at a local server when it is deployed; nothing else
changes.

Without the package: the server runs with a `sitecustomize` on PYTHONPATH that hides it from every process
(the zygote keeps PYTHONPATH), so `import autokitteh` finds purrflow's own module, as on a machine where it
was never installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import Server

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).parent / "seed_examples" / "ak"
REFERENCE = EXAMPLES / "REFERENCE.txt"  # a copy of the reference the examples come from
ADDED = "# added"

HIDE_PACKAGE = '''
"""Tests: this interpreter has no PyPI `autokitteh` package (purrflow's `autokitteh` module stands in)."""
import sys


class _NoAutokittehPackage:
    def find_spec(self, name, path=None, target=None):
        if name == "autokitteh" and path is None:  # the top-level package only: purrflow's submodules stay
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoAutokittehPackage())
'''

PROBE = """
import autokitteh

def probe(event):
    print(autokitteh.__name__, "purrflow" in (autokitteh.__file__ or ""))
"""


# -- the servers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["with the package", "without the package"])
def ak_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per variant for the whole module: each example is a project of its own on it."""
    root = tmp_path_factory.mktemp("seed-" + request.param.replace(" ", "-"))
    env: dict[str, str] = {}
    if request.param == "without the package":
        hide = root / "no-autokitteh"
        hide.mkdir()
        (hide / "sitecustomize.py").write_text(HIDE_PACKAGE)
        env["PYTHONPATH"] = str(hide)
    server = Server(root / "data", extra_args=["--hot-wait", "0.5"], env=env).start()
    server.variant = request.param  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


def deploy(server: Server, example: str, tmp_path: Path, urls: dict[str, str] | None = None) -> dict[str, str]:
    """Deploy `example` (outside URLs in its programs replaced by `urls`); its webhook URLs by trigger."""
    folder = tmp_path / example
    shutil.copytree(EXAMPLES / example, folder)
    for program in folder.glob("*.py"):
        text = program.read_text()
        for outside, local in (urls or {}).items():
            text = text.replace(outside, local)
        program.write_text(text)
    deployed = server.deploy(folder)
    return {t["name"]: t["webhook_url"] for t in deployed["triggers"] if t.get("webhook_url")}


def project_of(example: str) -> str:
    manifest = (EXAMPLES / example / "autokitteh.yaml").read_text()
    return next(line.split(":", 1)[1].strip() for line in manifest.splitlines() if line.strip().startswith("name:"))


def session_of(response: httpx.Response) -> str:
    assert response.status_code in (200, 201, 202), response.text
    session_id = response.json()["session_id"]
    assert session_id, response.text
    return str(session_id)


def completed(server: Server, session_id: str) -> list[str]:
    session = server.wait_state(session_id, "completed", "error")
    assert session["state"] == "completed", (session["error"], server.logs(session_id))
    return server.logs(session_id)


def start(server: Server, example: str, entrypoint: str, data: dict[str, Any] | None = None) -> str:
    with server.client() as client:
        body = {"project": project_of(example), "entrypoint": entrypoint, "data": data or {}}
        return session_of(client.post("/api/v1/sessions", json=body))


def waiting(server: Server, session_id: str) -> None:
    server.wait_state(session_id, "waiting")


def started_by(server: Server, example: str, entrypoint: str) -> list[dict[str, Any]]:
    with server.client() as client:
        sessions = client.get("/api/v1/sessions", params={"project": project_of(example)}).json()["sessions"]
    return [s for s in sessions if s["entrypoint"] == entrypoint]


# -- a local stand-in for outside services ---------------------------------------------------------

Route = Callable[[str, str, bytes], tuple[int, Any]]


class StandIn:
    """A local HTTP server answering JSON through `route(method, path, body)`; it records every request."""

    def __init__(self, route: Route) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stand_in.requests.append((self.command, self.path, body))
                status, answer = route(self.command, self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- the text -------------------------------------------------------------------------------------


def _code_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and ADDED not in line]


def test_the_programs_are_the_references_text() -> None:
    reference = [line.strip() for line in REFERENCE.read_text().splitlines() if line.strip()]
    programs = sorted(EXAMPLES.glob("*/*.py"))
    assert len(programs) >= 15
    for program in programs:
        lines = _code_lines(program.read_text())
        assert lines, program
        runs = [i for i in range(len(reference)) if reference[i : i + len(lines)] == lines]
        assert runs, f"{program.relative_to(EXAMPLES)} is not the reference's text (apart from '# added' lines)"


def test_the_attrdict_example_runs_locally_with_the_package(tmp_path: Path) -> None:
    """The reference's AttrDict example is for testing handlers with plain Python and the PyPI package."""
    done = subprocess.run(
        [sys.executable, "program.py"], cwd=EXAMPLES / "attrdict", capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Session: ses_123"]


# -- the examples, on a server --------------------------------------------------------------------


def test_the_variant_is_what_it_says(ak_server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "autokitteh.yaml").write_text("version: v1\nproject:\n  name: seed_probe\n")
    (folder / "program.py").write_text(PROBE)
    ak_server.deploy(folder)
    with ak_server.client() as client:
        started = client.post("/api/v1/sessions", json={"project": "seed_probe", "entrypoint": "program.py:probe"})
    logs = completed(ak_server, session_of(started))
    ours = ak_server.variant == "without the package"  # type: ignore[attr-defined]
    expected = "purrflow.compat.autokitteh True" if ours else "autokitteh False"
    assert logs == [expected]


def test_activity(ak_server: Server, tmp_path: Path) -> None:
    api = StandIn(lambda method, path, body: (200, {"path": path, "items": [1, 2, 3]}))
    try:
        urls = deploy(ak_server, "activity", tmp_path, {"https://api.example.com": api.url})
        logs = completed(ak_server, session_of(httpx.get(urls["run"])))
    finally:
        api.close()
    assert logs == ["{'path': '/data', 'items': [1, 2, 3]}"]
    assert [(m, p) for m, p, _ in api.requests] == [("GET", "/data")]


def test_start(ak_server: Server, tmp_path: Path) -> None:
    urls = deploy(ak_server, "start", tmp_path)
    logs = completed(ak_server, session_of(httpx.post(urls["run"])))
    assert len(logs) == 1 and logs[0].startswith("Started session: ses_")
    child = logs[0].removeprefix("Started session: ")
    assert completed(ak_server, child) == ["Processing task 123 with priority high"]
    assert ak_server.session(child)["entrypoint"] == "worker.py:process_task"


def test_subscribe(ak_server: Server, tmp_path: Path) -> None:
    urls = deploy(ak_server, "subscribe", tmp_path)
    logs = completed(ak_server, session_of(httpx.get(urls["run"])))
    assert len(logs) == 1 and logs[0].startswith("Subscribed with ID: ") and len(logs[0]) > len("Subscribed with ID: ")


def test_next_event_single_subscription(ak_server: Server, tmp_path: Path) -> None:
    urls = deploy(ak_server, "next_event", tmp_path)
    session_id = session_of(httpx.get(urls["run"]))
    waiting(ak_server, session_id)
    httpx.get(urls["webhook_trigger"] + "?not=this")  # the subscription's filter wants a POST
    httpx.post(urls["webhook_trigger"], json={"order": 7})
    logs = completed(ak_server, session_id)
    assert len(logs) == 1 and logs[0].startswith("Received event: {"), logs
    assert "'method': 'POST'" in logs[0] and "'json': {'order': 7}" in logs[0]  # event.data: the data itself


def test_next_event_multiple_subscriptions(ak_server: Server, tmp_path: Path) -> None:
    urls = deploy(ak_server, "next_event_multiple", tmp_path)
    session_id = session_of(httpx.get(urls["run"]))
    waiting(ak_server, session_id)
    project = project_of("next_event_multiple")
    with ak_server.client() as client:
        for source, event_type in (("github_conn", "pull_request"), ("slack_conn", "message_posted")):
            body = {"project": project, "source": source, "event_type": event_type, "data": {"text": "hi"}}
            assert client.post("/api/v1/events", json=body).status_code == 201
    assert completed(ak_server, session_id) == ["Received event from: slack_conn"]


def test_unsubscribe(ak_server: Server, tmp_path: Path) -> None:
    urls = deploy(ak_server, "unsubscribe", tmp_path)
    assert completed(ak_server, session_of(httpx.get(urls["run"]))) == []


def test_http_outcome(ak_server: Server, tmp_path: Path) -> None:
    urls = deploy(ak_server, "http_outcome", tmp_path)
    answer = httpx.post(urls["api"], json={"numbers": [1, 2, 3]}, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.json() == {"result": 6}


def test_project_value_store(ak_server: Server, tmp_path: Path) -> None:
    deploy(ak_server, "values", tmp_path)
    for user in ("ada", "grace"):  # the second run finds the first one's values
        logs = completed(ak_server, start(ak_server, "values", "program.py:on_webhook", {"user": user}))
        assert logs == ["Stored keys: ['counter', 'last_user']"]


def test_signals(ak_server: Server, tmp_path: Path) -> None:
    deploy(ak_server, "signals", tmp_path)
    workflow = start(ak_server, "signals", "program.py:workflow")
    waiting(ak_server, workflow)
    completed(ak_server, start(ak_server, "signals", "program.py:approve"))
    assert completed(ak_server, workflow) == ["Waiting for approval...", "Approved by: admin"]
    approve_first = start(ak_server, "signals", "program.py:approve")  # sent before anyone waits: it is kept
    completed(ak_server, approve_first)
    assert completed(ak_server, start(ak_server, "signals", "program.py:workflow"))[-1] == "Approved by: admin"


def test_event(ak_server: Server, tmp_path: Path) -> None:
    urls = deploy(ak_server, "event", tmp_path)
    session_id = session_of(httpx.post(urls["run"], content=b"hello"))
    assert completed(ak_server, session_id) == [f"Session: {session_id}"]


def test_attrdict(ak_server: Server, tmp_path: Path) -> None:
    urls = deploy(ak_server, "attrdict", tmp_path)
    session_id = session_of(httpx.post(urls["run"], content=b"hello"))
    # importing program.py runs the example's own test call; then the trigger calls the handler
    assert completed(ak_server, session_id) == ["Session: ses_123", f"Session: {session_id}"]


# -- the integration helpers -----------------------------------------------------------------------


def _helper_missing(name: str) -> bool:
    return not (Path(__file__).parents[2] / "src" / "purrflow" / "compat" / "autokitteh" / f"{name}.py").exists()


def set_connection(server: Server, example: str, connection: str, fields: dict[str, str]) -> None:
    with server.client() as client:
        response = client.patch(
            f"/api/v1/connections/{connection}", params={"project": project_of(example)}, json={"vars": fields}
        )
    assert response.status_code == 200, response.text


def _slack(method: str, path: str, body: bytes) -> tuple[int, Any]:
    if path.endswith("/auth.test"):
        return 200, {"ok": True, "user_id": "UBOT", "team_id": "T1", "bot_id": "B1"}
    return 200, {"ok": True, "channel": "C1", "ts": "1700000000.000100"}


@pytest.mark.xfail(
    _helper_missing("slack"), strict=False, reason="autokitteh.slack is another engineer's, not there yet"
)
def test_slack_client(ak_server: Server, tmp_path: Path) -> None:
    slack = StandIn(_slack)
    try:
        urls = deploy(ak_server, "slack_client", tmp_path)
        fields = {"base_url": slack.url + "/api/", "oauth_access_token": "xoxb-seed-example"}
        set_connection(ak_server, "slack_client", "slack_conn_name", fields)
        assert completed(ak_server, session_of(httpx.get(urls["run"]))) == ["imported"]
    finally:
        slack.close()
    posted = [body for _, path, body in slack.requests if path.endswith("/chat.postMessage")]
    assert len(posted) >= 1 and b"Hello" in posted[0] and b"general" in posted[0]


def _github(method: str, path: str, body: bytes) -> tuple[int, Any]:
    if path.rstrip("/").endswith("/repos/owner/repo"):
        return 200, {"id": 1, "name": "repo", "full_name": "owner/repo", "url": "http://x/repos/owner/repo"}
    return 404, {"message": "Not Found"}


@pytest.mark.xfail(
    _helper_missing("github"), strict=False, reason="autokitteh.github is another engineer's, not there yet"
)
def test_github_client(ak_server: Server, tmp_path: Path) -> None:
    github = StandIn(_github)
    try:
        urls = deploy(ak_server, "github_client", tmp_path)
        set_connection(
            ak_server, "github_client", "github_conn_name", {"base_url": github.url + "/api/v3", "pat": "ghp_seed"}
        )
        assert completed(ak_server, session_of(httpx.get(urls["run"]))) == ["owner/repo"]
    finally:
        github.close()
    assert any(path.endswith("/api/v3/repos/owner/repo") for _, path, _ in github.requests)


@pytest.mark.xfail(
    _helper_missing("google"), strict=False, reason="autokitteh.google is another engineer's, not there yet"
)
def test_google_sheets_client(ak_server: Server, tmp_path: Path) -> None:
    google = StandIn(lambda method, path, body: (200, {}))
    try:
        urls = deploy(ak_server, "google_sheets_client", tmp_path)
        fields = {
            "base_url": google.url + "/", "auth_type": "oauth", "oauth_AccessToken": "ya29.seed",
            "oauth_RefreshToken": "1//seed", "oauth_Expiry": "2099-01-01T00:00:00Z", "oauth_TokenType": "Bearer",
        }  # fmt: skip
        set_connection(ak_server, "google_sheets_client", "sheets_conn_name", fields)
        assert completed(ak_server, session_of(httpx.get(urls["run"]))) == ["Resource"]
    finally:
        google.close()
