"""Test helpers: bounded waits and a real purrflow server in a subprocess."""

from __future__ import annotations

import base64
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
#: The project's example programs (examples/).
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def wait_until(condition: Callable[[], T], timeout: float = 20.0, interval: float = 0.02, what: str = "") -> T:
    """Poll `condition` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)  # sleep-ok: the polling interval of a bounded wait


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def encode_folder(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): base64.b64encode(path.read_bytes()).decode()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


#: The database of each data folder's server when the run is on PostgreSQL (`pytest --store postgres`):
#: conftest sets `new_database`, and a server started again over the same folder finds the same database.
new_database: Callable[[], str] | None = None
_databases: dict[Path, str] = {}


def database_url(data_dir: Path) -> str | None:
    """The PostgreSQL database of the server over `data_dir`, or None where servers use their SQLite."""
    if new_database is None:
        return None
    key = data_dir.resolve()
    if key not in _databases:
        _databases[key] = new_database()
    return _databases[key]


#: The Temporal service every `Server` runs its sessions on when the run is scaled (`--orchestrator temporal`).
temporal_address: str | None = None
_task_queues: dict[Path, str] = {}


def orchestrator_args(data_dir: Path) -> list[str]:
    """`purr up`'s options for the run's orchestrator: on Temporal, a task queue of the data folder's own, so
    that no other test's server takes its sessions (and a server started again finds its workflows)."""
    if temporal_address is None:
        return []
    queue = _task_queues.setdefault(data_dir.resolve(), f"test-{len(_task_queues)}-{os.getpid()}-{time.time_ns()}")
    return ["--orchestrator", "temporal", "--temporal", temporal_address, "--task-queue", queue]


def server_database(data_dir: Path) -> Path | str:
    """The database of the server over `data_dir`: its SQLite file, or its PostgreSQL database's URL."""
    return database_url(data_dir) or data_dir / "purrflow.db"


class PurrProcess:
    """A purrflow process a test started in a process group of its own (`proc`)."""

    proc: subprocess.Popen[bytes] | None = None
    #: How long a SIGTERM may take before the process is killed.
    stop_seconds = 10.0

    def kill9(self) -> None:
        """SIGKILL it and its process group: nothing it started may outlive it either."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class Server(PurrProcess):
    """`purr up` as a real subprocess on a free port, with its own data folder.

    Sessions run sandboxed (the tests run as root), so the data folder and the rest of the test's temporary
    folder are out of their sight. `outside` is a folder beside the data folder that every session may
    read and write (`--sandbox-allow`): tests observe side effects through files there."""

    def __init__(
        self,
        data_dir: Path,
        *,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        open_files: int | None = None,
    ):
        self.data_dir = data_dir
        self.open_files = open_files  # the server's descriptor limit, soft and hard (`ulimit -n`)
        self.outside = data_dir.with_name(data_dir.name + "-outside")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_args = [*(extra_args or []), "--sandbox-allow", str(self.outside)]
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    def start(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.outside.mkdir(parents=True, exist_ok=True)
        self.outside.chmod(0o1777)  # sessions write there as their team's uid
        args = [sys.executable, "-m", "purrflow.cli.main", "up", "--port", str(self.port)]
        own = "--orchestrator" in self.extra_args  # a test's own scaled platform (tests/scaled.py)
        args += ["--data-dir", str(self.data_dir), *([] if own else orchestrator_args(self.data_dir)), *self.extra_args]
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        env = {**os.environ, **self.env}
        if (url := database_url(self.data_dir)) is not None:
            env.setdefault("PURRFLOW_DATABASE_URL", url)
        self.proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=self._limit_files if self.open_files else None,
        )
        wait_until(self._healthy, timeout=30, what=f"server on {self.url} (log: {self.log_path})")
        return self

    def _limit_files(self) -> None:
        assert self.open_files is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
        try:
            return httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def database(self) -> Path | str:
        return server_database(self.data_dir)

    @property
    def token(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def deploy(self, folder: Path, **extra: Any) -> dict[str, Any]:
        with self.client() as client:
            response = client.post("/api/v1/projects/deploy", json={"files": encode_folder(folder), **extra})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def session(self, session_id: str) -> dict[str, Any]:
        with self.client() as client:
            response = client.get(f"/api/v1/sessions/{session_id}")
        assert response.status_code == 200, response.text
        return dict(response.json()["session"])

    def wait_state(self, session_id: str, *states: str, timeout: float = 30) -> dict[str, Any]:
        return wait_until(
            lambda: (s := self.session(session_id))["state"] in states and s,
            timeout=timeout,
            what=f"session {session_id} to reach {states}",
        )

    def logs(self, session_id: str) -> list[str]:
        with self.client() as client:
            response = client.get(f"/api/v1/sessions/{session_id}/logs")
        return [line["text"] for line in response.json()["logs"]]


class Worker(PurrProcess):
    """`purr worker` as a real subprocess with its own data folder, on `database_url` and the Temporal service at
    `temporal` (`extra_args`: its task queue, say). Its sessions may read and write `outside` too."""

    stop_seconds = 20.0

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str,
        temporal: str,
        outside: Path,
        extra_args: list[str],
        env: dict[str, str] | None = None,
    ):
        self.data_dir = data_dir
        self.env = env or {}
        self.args = ["--database-url", database_url, "--temporal", temporal, "--sandbox-allow", str(outside)]
        self.args += extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "worker.log"

    def start(self) -> Worker:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "purrflow.cli.main", "worker", "--data-dir", str(self.data_dir), *self.args]
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        wait_until(self._ready, timeout=30, what=f"worker over {self.data_dir} (log: {self.log_path})")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
        return "ready: taking sessions" in self.log_path.read_text(errors="replace")


def on_temporal() -> bool:
    """Whether this run's servers run their sessions on Temporal (the scaled run)."""
    return temporal_address is not None


def kept_files(server: Server, folder: str, owner_id: str) -> set[str]:
    """The files a server keeps of a session's folder — `folder` "state" (a run's, `owner_id` its first
    session) or "workflow-config" (a project's) — as paths inside it: on its disk, or on Temporal (where
    the folder goes from worker to worker) in the store, its rows named by their owner."""
    if on_temporal():
        from store_rows import raw_rows

        rows = raw_rows(server.database, "SELECT path, kind FROM carried_files WHERE owner_id = ?", owner_id)
        return {path for (path, kind) in rows if kind != "dir"}
    data = server.data_dir
    places = (data / "state").glob(f"*/{owner_id}") if folder == "state" else [data / folder / owner_id]
    return {str(path.relative_to(place)) for place in places for path in place.rglob("*") if not path.is_dir()}


def session_runners(server: PurrProcess) -> list[int]:
    """The pids of the runner processes serving a session (named so; zygotes, warm zygotes and their
    spares waiting for a session are named otherwise) of `server`: other tests' servers run beside it."""
    assert server.proc is not None
    found = []
    for pid in sorted(descendants(server.proc.pid)):
        try:
            status = (Path("/proc") / str(pid) / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Name", "").strip() == "purr-session" and fields.get("State", "").split()[0] != "Z":
            found.append(pid)
    return found


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (its children, theirs, …)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
