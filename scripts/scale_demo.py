"""A scaled purrflow on this machine (`scripts/scale-demo`): PostgreSQL with a password, a Temporal dev server,
two API servers and two workers, the demo project deployed. Ctrl-C stops every process it started.

Each process is the same `purr up` / `purr worker` a real deployment runs on its own host: the lines it prints
are the commands, with the addresses to change.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the throwaway PostgreSQL and Temporal the tests run, too

from postgres_cluster import Cluster  # noqa: E402
from temporal_server import TemporalServer  # noqa: E402

PURR = [sys.executable, "-m", "purrflow.cli.main"]
API_PORTS = (9980, 9981)
START_TIMEOUT_SECONDS = 60.0


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the processes started so far are stopped


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupted)
    home = Path(os.environ.get("PURRFLOW_SCALE_DEMO", "/tmp/purrflow-scale-demo"))
    home.mkdir(parents=True, exist_ok=True)
    print(f"scale demo in {home}: PostgreSQL, Temporal, two API servers, two workers", flush=True)
    cluster: Cluster | None = None
    temporal: TemporalServer | None = None
    processes: list[subprocess.Popen[bytes]] = []
    try:
        cluster = Cluster.start(fsync=True, password=secrets.token_urlsafe(16), folder=home / f"postgres-{os.getpid()}")
        temporal = TemporalServer.start(home / f"temporal-{os.getpid()}")
        database = cluster.new_database("purrflow")
        env = {**os.environ, "PURRFLOW_DATABASE_URL": database, "PURRFLOW_SECRET_KEY": Fernet.generate_key().decode()}
        shared = ["--orchestrator", "temporal", "--temporal", temporal.address]
        for n, port in enumerate(API_PORTS, 1):
            api = [*PURR, "up", "--port", str(port), "--role", "api", *shared, "--data-dir", str(home / f"api{n}")]
            processes.append(_start(api + (["--demo"] if n == 1 else []), env, home / f"api{n}.log"))
            _wait_healthy(port, processes[-1], home / f"api{n}.log")  # one by one: the first makes the admin
        for n in (1, 2):
            worker = [*PURR, "worker", "--temporal", temporal.address, "--data-dir", str(home / f"worker{n}")]
            processes.append(_start(worker, env, home / f"worker{n}.log"))
        _wait_for_line(home / "worker1.log", "ready: taking sessions", processes[-2])
        _wait_for_line(home / "worker2.log", "ready: taking sessions", processes[-1])
        _explain(home, temporal.address, cluster.admin_url)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping …", flush=True)
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if temporal is not None:
            temporal.stop()
        if cluster is not None:
            cluster.stop()
    return 0


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _wait_healthy(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    _wait(healthy, process, log)


def _wait_for_line(log: Path, line: str, process: subprocess.Popen[bytes]) -> None:
    _wait(lambda: line in log.read_text(errors="replace"), process, log)


def _wait(ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"a process did not start; its log, {log}:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)  # sleep-ok: the polling interval of a bounded wait


def _explain(home: Path, temporal: str, admin_url: str) -> None:
    token = (home / "api1" / "admin-token").read_text().strip()
    hooks = [line.strip() for line in (home / "api1.log").read_text().splitlines() if "demo webhook" in line]
    shown = admin_url.split("@", 1)[1].rsplit("/", 1)[0]
    print(
        f"""
  API servers:  http://127.0.0.1:{API_PORTS[0]}   http://127.0.0.1:{API_PORTS[1]}   (web UI and API; the same platform)
  {chr(10).join(hooks) or "demo webhooks: see the first API server's log"}
                (its path works on either server: /webhooks/… is the same on both)
  log in with:  {token}   (or: export PURRFLOW_TOKEN={token})
  workers:      2, running every session's code; PostgreSQL at {shown}, Temporal at {temporal}
  logs:         {home}/api1.log api2.log worker1.log worker2.log

  On real hosts, each process is the same command with the addresses changed, and the same
  PURRFLOW_SECRET_KEY everywhere:
    purr up --role api --orchestrator temporal --temporal TEMPORAL_HOST:7233 --database-url postgresql://…
    purr worker --temporal TEMPORAL_HOST:7233 --database-url postgresql://…

  Ctrl-C stops everything.""",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
