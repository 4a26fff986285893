"""DBOS Transact on its SQLite system database, at its best, for bench/core.py --peers.

    bench/peers/.venv/bin/python bench/peers/dbos_bench.py WORKLOAD [--n N]

Each run launches DBOS from scratch with a system database in a temp folder (`sqlite:///…`, DBOS's SQLite
mode), warms it up with a few empty workflows, measures, and destroys it. Workflows are plain synchronous
DBOS workflows. One that is awaited where it starts is called directly (it runs in the caller's thread: ~1 ms
faster than `DBOS.start_workflow(…).get_result()`, which hands it to a thread of DBOS's executor); one that
must run in the background is started with `DBOS.start_workflow`; a burst is of async workflows, started
with `DBOS.start_workflow_async` from one event loop (~25% more per second than as many threads).
Workloads (the figures are printed as one JSON object on the last line):
- start: an empty workflow called (started and awaited), N in sequence → {"p50", "p99"} ms;
- burst: N empty workflows started at once, all awaited → {"rate"} workflows/s (first start to last done);
- steps: one workflow of N trivial sequential @DBOS.step calls, timed inside the workflow → {"value"} µs/step;
- message: a workflow blocked in DBOS.recv, the message sent by DBOS.send from outside, N times →
  {"p50", "p99"} ms from just before send to the workflow's next line;
- sleep: DBOS.sleep(1) inside a workflow, N times → {"value"}: the median overshoot measured inside, ms;
- memory: N workflows blocked in DBOS.recv → {"value"}: growth of this (the engine's) process's resident
  memory per workflow, KiB.

As fast as DBOS can honestly be: on SQLite, recv and get_event learn of a new message from DBOS's notification
listener, which polls the database every `notification_listener_polling_interval_sec` (1 s by default); we set
its documented minimum, 0.001 s. The system database is put in WAL mode before DBOS opens it (as purrflow's
runs; DBOS leaves SQLite's rollback journal, ~2× slower per commit here; synchronous stays FULL in both), unless
DBOS_BENCH_JOURNAL=delete. Logging is at WARNING, so that no log line is written per workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time

from common import answer, p50_p99, parse, rss_kib
from dbos import DBOS, DBOSConfig

#: How many waiters have reached their DBOS.recv (they count themselves just before it).
waiting = 0
waiting_lock = threading.Lock()


@DBOS.workflow()
def empty() -> None:
    return None


@DBOS.workflow()
async def empty_async() -> None:
    return None


async def burst(n: int) -> float:
    started = time.perf_counter()
    handles = await asyncio.gather(*(DBOS.start_workflow_async(empty_async) for _ in range(n)))
    await asyncio.gather(*(handle.get_result() for handle in handles))
    return n / (time.perf_counter() - started)


@DBOS.step()
def step(i: int) -> int:
    return i


@DBOS.workflow()
def steps(n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        step(i)
    return (time.perf_counter() - started) / n * 1e6


@DBOS.workflow()
def waiter() -> float:
    global waiting
    with waiting_lock:
        waiting += 1
    DBOS.recv("go", timeout_seconds=3600)
    return time.time()


@DBOS.workflow()
def sleeper() -> float:
    started = time.time()
    DBOS.sleep(1)
    return (time.time() - started - 1) * 1000


def wait_waiting(count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while waiting < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {waiting} of {count} workflows reached recv after {timeout:g} s")
        time.sleep(0.001)


def run(workload: str, n: int) -> dict[str, float]:
    if workload == "start":
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            empty()
            samples.append((time.perf_counter() - started) * 1000)
        return p50_p99(samples)
    if workload == "burst":
        return {"rate": round(asyncio.run(burst(n)), 1)}
    if workload == "steps":
        return {"value": round(steps(n), 1)}
    if workload == "message":
        samples = []
        for i in range(n):
            handle = DBOS.start_workflow(waiter)
            wait_waiting(i + 1)
            time.sleep(0.02)  # from its count to inside recv, waiting
            sent = time.time()
            DBOS.send(handle.workflow_id, "now", topic="go")
            samples.append((handle.get_result() - sent) * 1000)
        return p50_p99(samples)
    if workload == "sleep":
        return {"value": round(statistics.median(sleeper() for _ in range(n)), 2)}
    if workload == "memory":
        before = rss_kib(os.getpid())
        for _ in range(n):
            DBOS.start_workflow(waiter)
        wait_waiting(n)
        time.sleep(1)  # every one inside recv
        return {"value": round((rss_kib(os.getpid()) - before) / n, 1)}
    raise ValueError(workload)


def main() -> None:
    args = parse(__doc__ or "")
    folder = tempfile.mkdtemp(prefix="dbos-bench-")
    if os.environ.get("DBOS_BENCH_JOURNAL") != "delete":
        # WAL, as purrflow's own database runs: a commit is one fsync instead of a rollback journal's several.
        # The journal mode is kept in the file, so DBOS's connections open it in WAL (synchronous stays FULL).
        with contextlib.closing(sqlite3.connect(f"{folder}/dbos.sqlite")) as db:
            db.execute("PRAGMA journal_mode=WAL")
    config: DBOSConfig = {
        "name": "purrflow-bench",
        "system_database_url": f"sqlite:///{folder}/dbos.sqlite",
        "notification_listener_polling_interval_sec": 0.001,  # its documented minimum (1 s by default)
        "log_level": "WARNING",
    }
    DBOS(config=config)
    try:
        DBOS.launch()
        for _ in range(3):
            DBOS.start_workflow(empty).get_result()
        figures = run(args.workload, args.n)
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=0)
        shutil.rmtree(folder, ignore_errors=True)
    answer(figures)


if __name__ == "__main__":
    main()
