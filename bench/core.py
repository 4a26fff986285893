"""Core performance of a real server, printed as a table against the design's targets.

    python bench/core.py [--quick]

Starts `purr up` on a free port with a throw-away data folder (once per durability mode), deploys a small
project, and measures over real HTTP:
- webhook received → handler's first line (the runner's timestamp of the first printed line);
- an empty session, start → result (a synchronous webhook that answers with its return);
- a burst of trivial sessions started at once, and how many finish per second;
- the cost of one durable step (an @activity call), fsync'd (synchronous=FULL) and synchronous=NORMAL;
- a synchronous webhook's round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

MANIFEST = """
version: v1
project:
  name: bench
  triggers:
    - name: first_line
      type: webhook
      call: program.py:first_line
    - name: empty_sync
      type: webhook
      is_sync: true
      call: program.py:empty
    - name: answer
      type: webhook
      is_sync: true
      call: program.py:answer
    - name: trivial
      type: webhook
      call: program.py:empty
    - name: feed
      type: webhook
"""

PROGRAM = """
from purrflow import sdk

@sdk.activity
def step(i):
    return i

def first_line(event):
    print("first line")

def empty(event):
    return None

def answer(event):
    sdk.http_outcome(200, "ok")

def waiter(event):
    sub = sdk.subscribe("feed", f'data.url.query.to == "{event.data.key}"')
    print("subscribed")
    sdk.next_event(sub)
    print("resumed")

def steps(event):
    print("begin")
    for i in range(event.data.n):
        step(i)
    print("end")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BenchServer:
    def __init__(self, durability: str, hot_wait: float = 5.0) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="purr-bench-")
        self.data = Path(self.tmp.name)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PURRFLOW_DURABILITY": durability}
        args = [sys.executable, "-m", "purrflow.cli.main", "up", "--port", str(self.port), "--data-dir", str(self.data)]
        args += ["--hot-wait", str(hot_wait)]
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.05)
        token = (self.data / "admin-token").read_text().strip()
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        project = self.data / "project"
        project.mkdir()
        (project / "purrflow.yaml").write_text(textwrap.dedent(MANIFEST))
        (project / "program.py").write_text(textwrap.dedent(PROGRAM))
        files = {p.name: base64.b64encode(p.read_bytes()).decode() for p in project.iterdir()}
        deployed = self.client.post("/api/v1/projects/deploy", json={"files": files}).json()
        self.hooks = {t["name"]: t["webhook_url"] for t in deployed["triggers"]}

    def wait_done(self, session_id: str) -> None:
        """Block until the session ends, on its pushed log stream (polling would load the server)."""
        with self.client.stream("GET", f"/api/v1/sessions/{session_id}/logs/stream") as response:
            for line in response.iter_lines():
                if line.startswith("event: end"):
                    return

    def logs(self, session_id: str) -> list[dict[str, object]]:
        return list(self.client.get(f"/api/v1/sessions/{session_id}/logs").json()["logs"])

    def close(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=15)
        self.tmp.cleanup()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def first_line_latency(server: BenchServer, n: int) -> list[float]:
    samples = []
    with httpx.Client() as http:
        for _ in range(n):
            sent = time.time()
            session_id = http.post(server.hooks["first_line"]).json()["session_id"]
            server.wait_done(session_id)
            samples.append((float(server.logs(session_id)[0]["ts"]) - sent) * 1000)  # type: ignore[arg-type]
    return samples


def round_trips(url: str, n: int) -> list[float]:
    samples = []
    with httpx.Client() as http:
        http.get(url)
        for _ in range(n):
            started = time.perf_counter()
            response = http.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return samples


async def burst(server: BenchServer, n: int) -> float:
    before = server.client.get("/api/v1/server/stats").json()["sessions"].get("completed", 0)
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        semaphore = asyncio.Semaphore(64)

        async def one() -> None:
            async with semaphore:
                await http.post(server.hooks["trivial"])

        await asyncio.gather(*(one() for _ in range(n)))
    while server.client.get("/api/v1/server/stats").json()["sessions"].get("completed", 0) < before + n:
        await asyncio.sleep(0.01)
    return n / (time.perf_counter() - started)


def per_step_ms(server: BenchServer, n: int) -> float:
    session_id = server.client.post(
        "/api/v1/sessions", json={"project": "bench", "entrypoint": "program.py:steps", "data": {"n": n}}
    ).json()["session_id"]
    server.wait_done(session_id)
    logs = server.logs(session_id)
    return (float(logs[-1]["ts"]) - float(logs[0]["ts"])) / n * 1000  # type: ignore[arg-type]


def start_waiter(server: BenchServer, key: str) -> str:
    body = {"project": "bench", "entrypoint": "program.py:waiter", "data": {"key": key}}
    return str(server.client.post("/api/v1/sessions", json=body).json()["session_id"])


def state_of(server: BenchServer, session_id: str) -> str:
    return str(server.client.get(f"/api/v1/sessions/{session_id}").json()["session"]["state"])


def resume_latency(server: BenchServer, n: int, *, suspended: bool) -> list[float]:
    """Event sent → the waiting handler's next line, for a session holding its runner or suspended."""
    samples = []
    http = httpx.Client()  # one connection, as a real sender keeps: a new client costs ~50 ms of TLS set-up
    for i in range(n):
        session_id = start_waiter(server, f"k{i}")
        while len(server.logs(session_id)) < 1 or (suspended and state_of(server, session_id) != "waiting"):
            time.sleep(0.01)
        sent = time.time()
        http.post(server.hooks["feed"] + f"?to=k{i}")
        server.wait_done(session_id)
        resumed = server.logs(session_id)[-1]
        samples.append((float(resumed["ts"]) - sent) * 1000)  # type: ignore[arg-type]
    http.close()
    return samples


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory_per_waiting_session(server: BenchServer, n: int) -> float:
    """Growth of the server process's resident memory per suspended session, in KiB."""
    before = rss_kib(server.proc.pid)
    ids = [start_waiter(server, f"m{i}") for i in range(n)]
    while server.client.get("/api/v1/server/stats").json()["sessions"].get("waiting", 0) < n:
        time.sleep(0.1)
    assert ids
    return (rss_kib(server.proc.pid) - before) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    n = 50 if args.quick else 300
    rows: list[tuple[str, str, str]] = []
    full = BenchServer("full")
    try:
        lat = first_line_latency(full, n)
        rows.append(
            ("webhook → handler's first line, p50 / p99", f"{pct(lat, 50):.2f} / {pct(lat, 99):.2f} ms", "≤ 3 ms p50")
        )
        empty = round_trips(full.hooks["empty_sync"], n)
        rows.append(
            (
                "empty session, start → result, p50 / p99",
                f"{pct(empty, 50):.2f} / {pct(empty, 99):.2f} ms",
                "≤ 2.5 / 6 ms",
            )
        )
        sync = round_trips(full.hooks["answer"], n)
        rows.append(("sync webhook round trip, p50", f"{statistics.median(sync):.2f} ms", "≤ 5 ms"))
        rate = asyncio.run(burst(full, 200 if args.quick else 1000))
        rows.append(("burst of trivial sessions", f"{rate:.0f} sessions/s", "≥ 500 /s"))
        rows.append(("per durable step, fsync'd (FULL)", f"{per_step_ms(full, 2000) * 1000:.0f} µs", "≤ 500 µs"))
    finally:
        full.close()
    hot = BenchServer("full", hot_wait=60)
    try:
        lat = resume_latency(hot, 20 if args.quick else 100, suspended=False)
        rows.append(
            (
                "event → waiting session resumed (hot), p50 / p99",
                f"{pct(lat, 50):.2f} / {pct(lat, 99):.2f} ms",
                "≤ 5 / 20 ms",
            )
        )
    finally:
        hot.close()
    cold = BenchServer("full", hot_wait=0)
    try:
        lat = resume_latency(cold, 20 if args.quick else 100, suspended=True)
        rows.append(
            (
                "event → suspended session resumed, p50 / p99",
                f"{pct(lat, 50):.2f} / {pct(lat, 99):.2f} ms",
                "≤ 5 / 20 ms",
            )
        )
        per = memory_per_waiting_session(cold, 300 if args.quick else 1000)
        rows.append(("server memory per waiting session", f"{per:.1f} KiB", "≤ 10 KiB"))
    finally:
        cold.close()
    normal = BenchServer("normal")
    try:
        rows.append(("per durable step, synchronous=NORMAL", f"{per_step_ms(normal, 2000) * 1000:.0f} µs", "≤ 100 µs"))
    finally:
        normal.close()
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'purrflow':>22}  target")
    print("-" * (width + 40))
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>22}  {target}")


if __name__ == "__main__":
    main()
