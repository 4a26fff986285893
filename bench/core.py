"""Core performance of a real server, printed row by row against the design's targets, alone or beside peers.

    python bench/core.py [--quick] [--against DIR | --protection | --peers | --stores | --scaled] [--rounds N]
                         [--only TEXT]

Each measurement starts its own `purr up` on a free port with a throw-away data folder (in the durability mode
and with the hot-wait it needs), deploys a small project, warms the runners up with a few empty sessions, and
measures over real HTTP (the targets are DESIGN.md §7's):
- webhook received → handler's first line (the runner's timestamp of the first printed line), p50 / p99;
- an empty session, start → result (a synchronous webhook that answers with its return), p50 / p99;
- a synchronous webhook's round trip;
- a burst of 1,000 trivial sessions started at once (64 requests in flight), and how many finish per second;
- a burst of 10,000: the rate, and what its client counted instead of aborting: HTTP errors (non-2xx, httpx
  errors), dropped connections (httpx transport errors) and 503s with Retry-After (each retried after it);
- 50 concurrent webhook clients sending 1,000 requests: webhook → first line p50 / p99, and how many got 503;
- the cost of one durable step (an @activity call), fsync'd (synchronous=FULL) and synchronous=NORMAL;
- event sent → a waiting session's next line: one that holds its runner (hot, --hot-wait 60); a suspended one
  whose journal holds 100 @activity steps done before it subscribed; one with 10,000 (the median of a few);
- "wait for an event, do a step" × 1,000 in one session, its events sent 10 ms apart: the total time with the
  session suspended at each wait (--hot-wait 0), with its process kept (--hot-wait 60), and their ratio;
- a durable 1 s sleep (time.sleep in a session): its overshoot between the lines before and after, median;
- the growth of the server's resident memory per waiting (suspended) session.
A server whose waiting sessions are to be suspended (--hot-wait 0) also gets `--hot-memory 0` (keep none hot
within a memory budget) when `purr up --help` shows that option.

Each row is printed as soon as it is measured. A version whose measurement fails (an HTTP error, a server that
does not start, a time-out) is shown as failed in that row, with the error's type and message, and is not
measured again in that row's later rounds; the next measurement runs as usual.

--quick takes fewer samples (smaller N everywhere; the names of the rows say their N where it changes).
--against DIR compares with another checkout of the project (a folder holding src/purrflow): every measurement
runs for "this" code (the installed package) and for "other" (servers started with PYTHONPATH=DIR/src; the
client side is the same), in interleaved rounds (this, other, this, other, …) with a fresh server each time. A
row gives each version's median over the rounds (of each figure, for p50 / p99) and the ratio this/other: below
1 is faster for a latency or a cost, above 1 is faster for sessions/s. --rounds N sets the number of rounds: 3
by default with --against, --protection or --peers, 1 without. --only TEXT runs the measures whose name holds
TEXT. --protection measures what the sandbox and encryption at rest cost: session start and step cost with both
on (the defaults) beside both off (`--sandbox off`, PURRFLOW_ENCRYPT_AT_REST=0), with the difference.

--stores measures every row on the data folder's SQLite beside PostgreSQL (each server on a new database of
a throw-away cluster on 127.0.0.1, started from Debian's server binaries as the tests start theirs).

--scaled measures every row embedded (one server, its SQLite) beside the scaled mode: a new PostgreSQL database
and sessions as Temporal workflows of a dev server on 127.0.0.1 (tests/temporal_server.py), each server its
own worker (`--orchestrator temporal`). A waiting session there always gives its runner up. The rows with a
peer workload (below) also run Temporal itself, as --peers does, so that the scaled mode stands beside what
its engine costs alone: `measure | embedded | scaled | Temporal | embedded/scaled | scaled/Temporal`.

--peers measures DBOS (its SQLite system database) and Temporal (its dev server, a worker in the benchmark's
process) beside purrflow, with bench/peers/dbos_bench.py and temporal_bench.py run by the peers' own venv
(bench/peers/.venv, pinned in bench/peers/requirements.txt; bench/peers/install makes it first when it is
missing). Each peer run sets its engine up from scratch in a temp folder and tears it down; the scripts' docs
say how each peer is put at its best. The rows that have a peer workload: empty session start → result (an
empty workflow started and awaited), the burst of 1,000 (empty workflows started at once), the fsync'd step
(a @DBOS.step; a Temporal *local* activity), the hot resume (DBOS.recv / a Temporal signal, sent by the
client), the 1 s sleep (DBOS.sleep / workflow.sleep) and the memory per waiting session (DBOS: its process;
Temporal: the dev server and the worker). Such a row is measured in interleaved rounds (purrflow, DBOS,
Temporal, purrflow, …) and prints `measure | purrflow | DBOS | Temporal | ratio | target`, the medians over the
rounds, and ratio = purrflow / the better peer (for a rate, the better peer / purrflow): below 1, purrflow is
ahead. A peer whose run fails shows FAILED, its error's one line below the row, and the row goes on. The rows
purrflow alone has show "–" for the peers. Ratios compare runs of one invocation on one machine: no speed here
is asserted, and figures from different invocations are not to be compared.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import contextlib
import functools
import importlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
import time

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
    for i in range(event.data.get("steps", 0)):
        step(i)
    sub = sdk.subscribe("feed", f'data.url.query.to == "{event.data.key}"')
    print("subscribed")
    sdk.next_event(sub)
    print("resumed")

def loop(event):
    sub = sdk.subscribe("feed", f'data.url.query.to == "{event.data.key}"')
    print("subscribed")
    for i in range(event.data.n):
        sdk.next_event(sub)
        step(i)
    print("end")

def sleeper(event):
    print("before")
    time.sleep(1)
    print("after")

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


@dataclass(frozen=True)
class Setup:
    """One way of running the server that a row measures: a code tree, and server options."""

    label: str
    src: Path | None = None  # None: the installed package
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    #: Each server on a new database of the bench's own PostgreSQL cluster, instead of its SQLite file.
    postgres: bool = False
    #: Its sessions Temporal workflows on the bench's own Temporal dev server, each server on a task queue of
    #: its own (the scaled mode, with the server as its own worker).
    temporal: bool = False


#: `--protection`: the sandbox and encryption at rest on (the default), against both off.
PROTECTED = Setup("protected")
UNPROTECTED = Setup("unprotected", args=("--sandbox", "off"), env=(("PURRFLOW_ENCRYPT_AT_REST", "0"),))
#: The rows `--protection` measures (their names start so): what the sandbox and encryption may cost.
PROTECTION_ROWS = ("empty session", "webhook →", "burst of", "per durable step")
#: `--stores`: the data folder's SQLite, against a PostgreSQL database on this machine.
ON_SQLITE = Setup("sqlite")
ON_POSTGRES = Setup("postgresql", postgres=True)


#: `--scaled`: one server over its SQLite, against the scaled mode (PostgreSQL, Temporal).
EMBEDDED = Setup("embedded")
SCALED = Setup("scaled", postgres=True, temporal=True)


@functools.cache
def temporal_server() -> Any:
    """The bench's Temporal: a dev server on 127.0.0.1 (the tests' own, tests/temporal_server.py), started at
    the first server that needs it and stopped when the bench exits."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    server = importlib.import_module("temporal_server").TemporalServer.start()
    atexit.register(server.stop)
    return server


@functools.cache
def postgres_cluster() -> Any:
    """The bench's PostgreSQL: a throw-away cluster on 127.0.0.1 (the tests' own, tests/postgres_cluster.py),
    started at the first server that needs it and stopped when the bench exits."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    cluster = importlib.import_module("postgres_cluster").Cluster.start(fsync=True)  # commits cost what they cost
    atexit.register(cluster.stop)
    return cluster


def server_env(src: Path | None, durability: str | None = None) -> dict[str, str]:
    """The environment of a server process: with `src`, that tree's purrflow is imported instead of ours."""
    env = dict(os.environ)
    if durability is not None:
        env["PURRFLOW_DURABILITY"] = durability
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    return env


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:g} s")
        time.sleep(interval)


class BenchServer:
    """`purr up` in a child process with a throw-away data folder, the bench project deployed.

    With `src` (a folder holding `purrflow`), the child imports that tree: it runs with PYTHONPATH=src.
    """

    def __init__(
        self,
        durability: str,
        hot_wait: float = 5.0,
        src: Path | None = None,
        setup: Setup | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        if setup is not None:
            src = setup.src
        self.tmp = tempfile.TemporaryDirectory(prefix="purr-bench-")
        self.data = Path(self.tmp.name) / "data"
        self.data.mkdir()
        self.log = Path(self.tmp.name) / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "purrflow.cli.main", "up", "--port", str(self.port), "--data-dir", str(self.data)]
        args += ["--hot-wait", str(hot_wait), *(setup.args if setup else ()), *extra]
        env = server_env(src, durability) | dict(setup.env if setup else ())
        if setup is not None and setup.postgres:
            env["PURRFLOW_DATABASE_URL"] = postgres_cluster().new_database()
        if setup is not None and setup.temporal:
            args += ["--orchestrator", "temporal", "--temporal", temporal_server().address]
            args += ["--task-queue", f"bench-{self.port}-{time.time_ns()}"]
        self.client: httpx.Client | None = None
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                args,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start in 30 s: {self.log_tail()}")
            time.sleep(0.05)
        token = (self.data / "admin-token").read_text().strip()
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        project = Path(self.tmp.name) / "project"
        project.mkdir()
        (project / "purrflow.yaml").write_text(textwrap.dedent(MANIFEST))
        (project / "program.py").write_text(textwrap.dedent(PROGRAM))
        files = {p.name: base64.b64encode(p.read_bytes()).decode() for p in project.iterdir()}
        response = self.client.post("/api/v1/projects/deploy", json={"files": files})
        response.raise_for_status()
        self.hooks = {t["name"]: t["webhook_url"] for t in response.json()["triggers"]}

    def log_tail(self, lines: int = 2) -> str:
        """The server's last lines of output (a traceback's last line names its error)."""
        try:
            output = self.log.read_text(errors="replace").splitlines()
            tail = [line.strip() for line in output if any(c.isalnum() for c in line)][-lines:]  # no frames
        except OSError:
            tail = []
        return " ⏎ ".join(tail) or "(no output)"

    def warm_up(self, n: int = 3) -> None:
        """A few empty sessions, so that a fresh server's first measured one does not pay for its start."""
        with httpx.Client(timeout=60) as http:
            for _ in range(n):
                http.get(self.hooks["empty_sync"]).raise_for_status()

    def api(self) -> httpx.Client:
        """The admin API's client (there once the server has started)."""
        assert self.client is not None
        return self.client

    def wait_done(self, session_id: str) -> None:
        """Block until the session ends, on its pushed log stream (polling would load the server)."""
        with self.api().stream("GET", f"/api/v1/sessions/{session_id}/logs/stream") as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("event: end"):
                    return
        raise RuntimeError(f"the log stream of session {session_id} closed before its end")

    def logs(self, session_id: str) -> list[dict[str, object]]:
        return list(self.api().get(f"/api/v1/sessions/{session_id}/logs").json()["logs"])

    def count(self, state: str) -> int:
        """How many sessions the server's stats count in `state`."""
        return int(self.api().get("/api/v1/server/stats").json()["sessions"].get(state, 0))

    def close(self) -> None:
        """Stop the server (SIGKILL if SIGTERM is not enough) and remove its data; never raises."""
        if self.client is not None:
            self.client.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.tmp.cleanup()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def p50_p99(values: list[float]) -> tuple[float, float]:
    return pct(values, 50), pct(values, 99)


def first_line_latency(server: BenchServer, n: int) -> list[float]:
    samples = []
    with httpx.Client(timeout=60) as http:
        for _ in range(n):
            sent = time.time()
            session_id = http.post(server.hooks["first_line"]).json()["session_id"]
            server.wait_done(session_id)
            samples.append((float(server.logs(session_id)[0]["ts"]) - sent) * 1000)  # type: ignore[arg-type]
    return samples


def round_trips(url: str, n: int) -> list[float]:
    samples = []
    with httpx.Client(timeout=60) as http:
        http.get(url)
        for _ in range(n):
            started = time.perf_counter()
            response = http.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return samples


@dataclass
class BurstCount:
    """What a burst's client saw: sessions accepted, HTTP errors (non-2xx, or an httpx error that is not a
    transport's), dropped connections (httpx transport errors: refused, reset, timed out) and 503s with a
    Retry-After, each retried after its delay."""

    accepted: int = 0
    http_errors: int = 0
    dropped: int = 0
    retried_503: int = 0


def retry_after(status: int, headers: Mapping[str, str]) -> float | None:
    """The delay a 503's Retry-After asks for, in seconds (None: not such an answer)."""
    value = headers.get("retry-after")
    if status != 503 or value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:  # an HTTP date
        return 1.0


class LeanConnection:
    """One keep-alive HTTP/1.1 connection that POSTs an empty body and reads the answer, for a fraction of
    an HTTP library's CPU: httpx spent ~13 ms of CPU per request in a burst here, half of a 2-core
    machine, so the client, not the server, set the rate."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._request = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: 0\r\n\r\n".encode()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self) -> tuple[int, dict[str, str], bytes]:
        """The answer's status, headers and body (ConnectionError: the server dropped the connection)."""
        try:
            if self._streams is None:
                self._streams = await asyncio.open_connection(self._host, self._port)
            reader, writer = self._streams
            writer.write(self._request)
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionError("the server closed the connection")
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        except (OSError, asyncio.IncompleteReadError, ValueError) as err:
            self.close()
            raise ConnectionError(str(err)) from err
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(status_line.split()[1]), headers, body

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def burst(server: BenchServer, n: int, concurrency: int = 64) -> tuple[float, BurstCount]:
    """`n` trivial sessions started at once (`concurrency` connections, one request in flight on each) →
    sessions/s, start to last done.

    The client never aborts: it counts what fails, and retries a 503 with Retry-After after that delay."""
    before = server.count("completed")
    count = BurstCount()
    started = time.perf_counter()
    todo: asyncio.Queue[None] = asyncio.Queue()
    for _ in range(n):
        todo.put_nowait(None)
    unsettled = n
    settled = asyncio.Event()

    def settle() -> None:
        nonlocal unsettled
        unsettled -= 1
        if not unsettled:
            settled.set()

    async def again_after(delay: float) -> None:
        await asyncio.sleep(delay)
        todo.put_nowait(None)

    async def worker() -> None:
        connection = LeanConnection(server.hooks["trivial"])
        retries: set[asyncio.Task[None]] = set()
        try:
            while True:
                await todo.get()
                try:
                    status, headers, _ = await connection.post()
                except ConnectionError:
                    count.dropped += 1
                    settle()
                    continue
                delay = retry_after(status, headers)
                if delay is not None:
                    count.retried_503 += 1
                    task = asyncio.get_running_loop().create_task(again_after(delay))
                    retries.add(task)
                    task.add_done_callback(retries.discard)
                    continue
                if 200 <= status < 300:
                    count.accepted += 1
                else:
                    count.http_errors += 1
                settle()
        finally:
            connection.close()

    workers = [asyncio.get_running_loop().create_task(worker()) for _ in range(concurrency)]
    await settled.wait()
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    if not count.accepted:
        raise RuntimeError(f"no session of the burst was accepted: {count}")
    timeout = 120 + n / 50
    deadline = time.monotonic() + timeout
    while (done := server.count("completed")) < before + count.accepted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done - before} of {count.accepted} burst sessions completed after {timeout:g} s")
        await asyncio.sleep(0.05)  # (each count is a request the server answers: not too often)
    return count.accepted / (time.perf_counter() - started), count


def big_burst(server: BenchServer, n: int) -> Figure:
    rate, count = asyncio.run(burst(server, n))
    return rate, count.http_errors, count.dropped, count.retried_503


async def concurrent_first_line(server: BenchServer, clients: int, total: int) -> Figure:
    """`clients` webhook clients sending `total` requests between them, each as soon as its last is answered
    (after a 503, once its Retry-After has passed): webhook → handler's first line p50 / p99 ms of the sessions
    started, and how many requests got a 503."""
    before = server.count("completed")
    sent_at: dict[str, float] = {}
    refused = 0
    left = total

    async def client() -> None:
        nonlocal left, refused
        connection = LeanConnection(server.hooks["first_line"])  # httpx's CPU would take a core from the server
        try:
            while left > 0:
                left -= 1
                sent = time.time()
                status, headers, body = await connection.post()
                delay = retry_after(status, headers)
                if delay is not None:
                    refused += 1
                    await asyncio.sleep(delay)  # as a client would, before its next request
                    continue
                if not 200 <= status < 300:
                    raise RuntimeError(f"HTTP {status} from the first_line webhook: {body[:200]!r}")
                sent_at[json.loads(body)["session_id"]] = sent
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    wait_until(
        lambda: server.count("completed") >= before + len(sent_at),
        f"{len(sent_at)} sessions of {clients} clients completed",
        timeout=300,
        interval=0.05,
    )
    if not sent_at:
        raise RuntimeError(f"every one of {total} requests got a 503")
    samples = [(float(server.logs(sid)[0]["ts"]) - sent) * 1000 for sid, sent in sent_at.items()]  # type: ignore[arg-type]
    return (*p50_p99(samples), refused)


def per_step_ms(server: BenchServer, n: int) -> float:
    session_id = (
        server.api()
        .post("/api/v1/sessions", json={"project": "bench", "entrypoint": "program.py:steps", "data": {"n": n}})
        .json()["session_id"]
    )
    server.wait_done(session_id)
    logs = server.logs(session_id)
    return (float(logs[-1]["ts"]) - float(logs[0]["ts"])) / n * 1000  # type: ignore[arg-type]


def start_session(server: BenchServer, entrypoint: str, data: dict[str, object]) -> str:
    body = {"project": "bench", "entrypoint": f"program.py:{entrypoint}", "data": data}
    response = server.api().post("/api/v1/sessions", json=body)
    response.raise_for_status()
    return str(response.json()["session_id"])


def start_waiter(server: BenchServer, key: str, steps: int = 0) -> str:
    return start_session(server, "waiter", {"key": key, "steps": steps})


def state_of(server: BenchServer, session_id: str) -> str:
    return str(server.api().get(f"/api/v1/sessions/{session_id}").json()["session"]["state"])


def waiter_ready(server: BenchServer, session_id: str, suspended: bool) -> bool:
    """The waiter has subscribed (its first line) and, if `suspended`, has given its runner up."""
    return len(server.logs(session_id)) >= 1 and (not suspended or state_of(server, session_id) == "waiting")


def send_and_time(server: BenchServer, http: httpx.Client, session_id: str, key: str) -> float:
    """Event sent to the waiter listening on `key` → its next line, ms."""
    sent = time.time()
    http.post(server.hooks["feed"] + f"?to={key}").raise_for_status()
    server.wait_done(session_id)
    return (float(server.logs(session_id)[-1]["ts"]) - sent) * 1000  # type: ignore[arg-type]


def resume_latency(server: BenchServer, n: int, *, suspended: bool, steps: int = 0) -> list[float]:
    """Event sent → the waiting handler's next line, for a session holding its runner or suspended.

    A suspended waiter does `steps` durable steps before it subscribes, so that its resume replays them. The
    suspended waiters are all started at once and all wait before the first event; hot ones one at a time."""
    samples = []
    # one connection, as a real sender keeps: a new client costs ~50 ms of TLS set-up
    with httpx.Client(timeout=60) as http:
        if suspended:
            waiting = server.count("waiting")
            ids = [start_waiter(server, f"k{i}", steps) for i in range(n)]
            wait_until(
                lambda: server.count("waiting") >= waiting + n,
                f"{n} waiters of {steps} steps suspended",
                timeout=120 + n * steps / 500,
                interval=0.05,
            )
            return [send_and_time(server, http, session_id, f"k{i}") for i, session_id in enumerate(ids)]
        for i in range(n):
            session_id = start_waiter(server, f"k{i}", steps)
            wait_until(functools.partial(waiter_ready, server, session_id, False), f"session {session_id} subscribed")
            samples.append(send_and_time(server, http, session_id, f"k{i}"))
    return samples


def wait_step_loop(server: BenchServer, n: int, *, suspended: bool) -> float:
    """A session that waits for an event and does a step, `n` times, its events sent 10 ms apart: seconds from
    the first event sent to its last line."""
    session_id = start_session(server, "loop", {"key": "loop", "n": n})
    wait_until(functools.partial(waiter_ready, server, session_id, suspended), f"session {session_id} waiting")
    with httpx.Client(timeout=60) as http:
        first = time.time()
        for i in range(n):
            http.post(server.hooks["feed"] + "?to=loop").raise_for_status()
            time.sleep(max(0.0, first + (i + 1) * 0.01 - time.time()))
    server.wait_done(session_id)
    return float(server.logs(session_id)[-1]["ts"]) - first  # type: ignore[arg-type]


def sleep_overshoot(server: BenchServer, n: int) -> float:
    """A durable 1 s sleep (`time.sleep(1)` in a session), its overshoot between the session's lines before and
    after, ms: the median of `n` sessions one after another."""
    overshoots = []
    for _ in range(n):
        session_id = start_session(server, "sleeper", {})
        server.wait_done(session_id)
        before, after = (float(line["ts"]) for line in server.logs(session_id)[-2:])  # type: ignore[arg-type]
        overshoots.append((after - before - 1) * 1000)
    return statistics.median(overshoots)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory_per_waiting_session(server: BenchServer, n: int) -> float:
    """Growth of the server process's resident memory per suspended session, in KiB."""
    before = rss_kib(server.proc.pid)
    waiting = server.count("waiting")
    for i in range(n):
        start_waiter(server, f"m{i}")
    wait_until(lambda: server.count("waiting") >= waiting + n, f"{n} sessions waiting", timeout=600, interval=0.1)
    return (rss_kib(server.proc.pid) - before) / n


Figure = tuple[float, ...]  # one figure, or several (p50, p99; or a rate and counts)


@dataclass(frozen=True)
class Peer:
    """A peer's workload that measures what a row measures (bench/peers/*_bench.py WORKLOAD --n N), and the
    keys of its JSON answer that line up with the row's figures."""

    workload: str
    n: int
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Measure:
    name: str
    target: str
    run: Callable[[BenchServer], Figure]
    fmt: str = "{:.2f}"  # of one figure
    unit: str = " ms"
    durability: str = "full"
    hot_wait: float = 5.0
    parts: tuple[str, ...] = ()  # one format a figure, with its separator and unit (instead of fmt and unit)
    peer: Peer | None = None
    higher_better: bool = False  # a rate
    #: Run on a server of each of these hot-waits, one after the other, instead of `run`: the figure is each
    #: one's `paired` and the first's ratio to the second.
    hot_waits: tuple[float, ...] = ()
    paired: Callable[[BenchServer, float], float] | None = None

    def show(self, figure: Figure) -> str:
        if self.parts:
            return "".join(part.format(v) for part, v in zip(self.parts, figure, strict=True))
        return " / ".join(self.fmt.format(v) for v in figure) + self.unit

    def difference(self, a: Figure, b: Figure) -> str:
        signed = [part.replace("{:", "{:+", 1) for part in self.parts]
        if signed:
            return "".join(part.format(x - y) for part, x, y in zip(signed, a, b, strict=True))
        decimals = self.fmt.partition(".")[2][:1] or "0"  # as many as the figures show
        return " / ".join(f"{x - y:+.{decimals}f}" for x, y in zip(a, b, strict=True)) + self.unit


P50_P99 = ("p50", "p99")


def measures(quick: bool) -> list[Measure]:
    n = 50 if quick else 300
    waits = 20 if quick else 100
    starts = 50 if quick else 200
    small_burst = 200 if quick else 1000
    big = 2000 if quick else 10_000
    requests = 200 if quick else 1000
    loops = 100 if quick else 1000
    deep = 2 if quick else 5
    sleeps = 3 if quick else 5
    waiting = 300 if quick else 1000
    return [
        Measure(
            "webhook → handler's first line, p50 / p99",
            "≤ 2.5 / 6 ms",
            lambda s: p50_p99(first_line_latency(s, n)),
        ),
        Measure(
            "empty session, start → result, p50 / p99",
            "≤ 2.0 / 5 ms",
            lambda s: p50_p99(round_trips(s.hooks["empty_sync"], n)),
            peer=Peer("start", starts, P50_P99),
        ),
        Measure(
            "sync webhook round trip, p50", "≤ 5 ms", lambda s: (statistics.median(round_trips(s.hooks["answer"], n)),)
        ),
        Measure(
            f"burst of {small_burst:,} trivial sessions",
            "≥ 600 /s",
            lambda s: (asyncio.run(burst(s, small_burst))[0],),
            fmt="{:.0f}",
            unit=" sessions/s",
            peer=Peer("burst", small_burst, ("rate",)),
            higher_better=True,
        ),
        Measure(
            f"{big:,} sessions at once: rate, errors, dropped, 503s retried",
            "≥ 600 /s, 0 errors, 0 dropped",
            lambda s: big_burst(s, big),
            parts=("{:.0f} /s", ", {:.0f} errors", ", {:.0f} dropped", ", {:.0f} 503s"),
        ),
        Measure(
            f"50 webhook clients × {requests:,} requests: first line p50 / p99, 503s",
            "≤ 20 ms, or 503 + Retry-After",
            lambda s: asyncio.run(concurrent_first_line(s, 50, requests)),
            parts=("{:.2f}", " / {:.2f} ms", ", {:.0f}× 503"),
        ),
        Measure(
            "per durable step, fsync'd (FULL)",
            "≤ 300 µs",
            lambda s: (per_step_ms(s, 2000) * 1000,),
            fmt="{:.0f}",
            unit=" µs",
            peer=Peer("steps", 100, ("value",)),
        ),
        Measure(
            "per durable step, synchronous=NORMAL",
            "≤ 80 µs",
            lambda s: (per_step_ms(s, 2000) * 1000,),
            fmt="{:.0f}",
            unit=" µs",
            durability="normal",
        ),
        Measure(
            "event → waiting session resumed (hot), p50 / p99",
            "≤ 3 / 10 ms",
            lambda s: p50_p99(resume_latency(s, waits, suspended=False)),
            hot_wait=60,
            peer=Peer("message", waits, P50_P99),
        ),
        Measure(
            "event → suspended session resumed, 100-step journal, p50 / p99",
            "≤ 5 / 15 ms",
            lambda s: p50_p99(resume_latency(s, waits, suspended=True, steps=100)),
            hot_wait=0,
        ),
        Measure(
            "event → suspended session resumed, 10,000-step journal, median",
            "≤ 30 ms",
            lambda s: (statistics.median(resume_latency(s, deep, suspended=True, steps=10_000)),),
            hot_wait=0,
        ),
        Measure(
            f"wait for an event, do a step × {loops:,}, 10 ms apart: suspended, hot, ratio",
            "≤ 1.5×",
            lambda s: (),  # not used: `paired` runs instead
            parts=("{:.2f} s", ", {:.2f} s", ", {:.2f}×"),
            hot_waits=(0, 60),
            paired=lambda s, hot_wait: wait_step_loop(s, loops, suspended=hot_wait == 0),
        ),
        Measure(
            "durable 1 s sleep, overshoot inside the session",
            "≤ 3 ms",
            lambda s: (sleep_overshoot(s, sleeps),),
            peer=Peer("sleep", sleeps, ("value",)),
        ),
        Measure(
            "memory per waiting (suspended) session",
            "≤ 8 KiB",
            lambda s: (memory_per_waiting_session(s, waiting),),
            fmt="{:.1f}",
            unit=" KiB",
            hot_wait=0,
            peer=Peer("memory", waiting, ("value",)),
        ),
    ]


@functools.cache
def has_hot_memory(src: Path | None) -> bool:
    """Whether `purr up` (of the tree at `src`) takes --hot-memory (sessions kept hot within a memory budget)."""
    probe = [sys.executable, "-m", "purrflow.cli.main", "up", "--help"]
    env = server_env(src) | {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    found = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=60)
    return "--hot-memory" in found.stdout


def server_of(measure: Measure, setup: Setup, hot_wait: float) -> BenchServer:
    """A fresh server for `measure`; one that suspends its waiting sessions (hot-wait 0) keeps none hot in
    memory either (`--hot-memory 0`, where `purr up` has it)."""
    extra = ("--hot-memory", "0") if hot_wait == 0 and has_hot_memory(setup.src) else ()
    return BenchServer(measure.durability, hot_wait=hot_wait, setup=setup, extra=extra)


def on_server(server: BenchServer, run: Callable[[BenchServer], Figure]) -> Figure:
    """`run` on a warmed-up `server`, then closed; an HTTP error names the server's last lines (its why)."""
    try:
        server.warm_up()
        return run(server)
    except httpx.HTTPStatusError as exc:
        answer = exc.response
        raise RuntimeError(f"HTTP {answer.status_code} from {answer.url.path}; server: {server.log_tail()}") from exc
    finally:
        server.close()


def measure_once(measure: Measure, setup: Setup) -> Figure:
    """One run of `measure` on a fresh server set up as `setup` says (a paired one: on one server each)."""
    if measure.paired is not None:
        paired = measure.paired
        values = [
            on_server(server_of(measure, setup, hot_wait), functools.partial(_one_of_pair, paired, hot_wait))[0]
            for hot_wait in measure.hot_waits
        ]
        return (*values, values[0] / values[1])
    return on_server(server_of(measure, setup, measure.hot_wait), measure.run)


def _one_of_pair(paired: Callable[[BenchServer, float], float], hot_wait: float, server: BenchServer) -> Figure:
    return (paired(server, hot_wait),)


def medians(figures: list[Figure]) -> Figure:
    return tuple(statistics.median(column) for column in zip(*figures, strict=True))


def ratio(this: Figure, other: Figure) -> str:
    return " / ".join(f"{t / o:.2f}" if o else "n/a" for t, o in zip(this, other, strict=True))


def one_line(exc: BaseException, limit: int = 400) -> str:
    """The error's type and message on one line; a long message keeps its start and its end."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit // 2 - 1] + " … " + text[-(limit // 2 - 2) :]


def purrflow_of(src: Path | None) -> Path:
    """Where a server started with `src` imports purrflow from."""
    probe = [sys.executable, "-c", "import purrflow; print(purrflow.__file__)"]
    found = subprocess.run(probe, env=server_env(src), capture_output=True, text=True, check=True)
    return Path(found.stdout.strip()).resolve().parent


PEERS_DIR = Path(__file__).resolve().parent / "peers"
PEERS_PYTHON = PEERS_DIR / ".venv" / "bin" / "python"
#: The peers' columns: name, and the script that runs a workload on it.
PEERS = (("DBOS", "dbos_bench.py"), ("Temporal", "temporal_bench.py"))


class PeerFailed(RuntimeError):
    pass


def run_peer(script: str, peer: Peer, timeout: float = 900) -> Figure:
    """One run of a peer's workload (its own engine, set up and torn down by the script): the figures of the
    JSON object on its last line of output, as `peer.keys` order them."""
    args = [str(PEERS_PYTHON), str(PEERS_DIR / script), peer.workload, "--n", str(peer.n)]
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PeerFailed(f"{script} {peer.workload}: no answer after {timeout:g} s") from None
    finally:  # whatever it started and left (its engine's processes are in its group)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    lines = [line for line in out.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        last = [line.strip() for line in err.splitlines() if line.strip()][-1:] or ["(no output)"]
        raise PeerFailed(f"{script} {peer.workload} exited with {proc.returncode}: {last[0]}")
    try:
        answer = json.loads(lines[-1])
        return tuple(float(answer[key]) for key in peer.keys)
    except (ValueError, KeyError, TypeError) as exc:
        raise PeerFailed(f"{script} {peer.workload}: no figures in {lines[-1][:200]!r} ({one_line(exc)})") from None


def install_peers() -> None:
    """bench/peers/install: makes the peers' venv when it is missing (a no-op of ~20 ms once it is there)."""
    subprocess.run([str(PEERS_DIR / "install")], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument(
        "--against", type=Path, metavar="DIR", help="another checkout (holding src/purrflow) to compare"
    )
    parser.add_argument(
        "--rounds", type=int, metavar="N", help="rounds per version (default 3 with --against or --peers, else 1)"
    )
    parser.add_argument("--only", metavar="TEXT", help="only the measures whose name holds TEXT")
    parser.add_argument(
        "--protection",
        action="store_true",
        help="session start and step cost with the sandbox and encryption at rest on, against both off",
    )
    parser.add_argument("--peers", action="store_true", help="measure DBOS and Temporal beside purrflow")
    parser.add_argument(
        "--stores", action="store_true", help="each row on the data folder's SQLite, against PostgreSQL on this machine"
    )
    parser.add_argument(
        "--scaled", action="store_true", help="each row embedded (SQLite), against scaled (PostgreSQL and Temporal)"
    )
    args = parser.parse_args()
    if args.protection and args.against:
        parser.error("--protection compares this checkout with itself; leave out --against")
    if args.peers and (args.against or args.protection):
        parser.error("--peers compares this checkout with DBOS and Temporal; leave out --against and --protection")
    if args.stores and (args.against or args.protection or args.peers):
        parser.error("--stores compares this checkout's two stores; leave out --against, --protection and --peers")
    if args.scaled and (args.against or args.protection or args.peers or args.stores):
        parser.error(
            "--scaled compares this checkout's two modes; leave out --against, --protection, --peers, --stores"
        )
    several = args.against or args.protection or args.peers or args.stores or args.scaled
    rounds = args.rounds if args.rounds is not None else 3 if several else 1
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    setups = [Setup("this")]
    if args.protection:
        setups = [PROTECTED, UNPROTECTED]
    if args.stores:
        setups = [ON_SQLITE, ON_POSTGRES]
    if args.scaled:
        setups = [EMBEDDED, SCALED]
    if args.against is not None:
        other = args.against.resolve() / "src"
        if not (other / "purrflow").is_dir():
            parser.error(f"{args.against} holds no src/purrflow")
        setups.append(Setup("other", src=other))
        origins = {setup.label: purrflow_of(setup.src) for setup in setups}
        if origins["other"] != (other / "purrflow"):
            parser.error(f"with PYTHONPATH={other}, purrflow is imported from {origins['other']}")
        if origins["other"] == origins["this"]:
            parser.error(f"{args.against} is this checkout")
        for label, origin in origins.items():
            print(f"{label}: purrflow from {origin}")
    if args.stores:
        print("sqlite: the data folder's purrflow.db; postgresql: a new database per server, of a PostgreSQL cluster")
        print("on 127.0.0.1 (Debian's server, fsync on); sqlite/postgresql below 1: SQLite is faster")
    if args.scaled:
        print("embedded: one server, its SQLite; scaled: the server on a new PostgreSQL database (fsync on), each")
        print("session a Temporal workflow of a dev server on 127.0.0.1, run by the server's own worker (--role all)")
    if args.protection:
        print("protected: sandbox and encryption at rest on (the defaults); unprotected: --sandbox off and")
        print("PURRFLOW_ENCRYPT_AT_REST=0; the difference is what they cost")

    rows = [
        m
        for m in measures(args.quick)
        if (args.only is None or args.only in m.name) and (not args.protection or m.name.startswith(PROTECTION_ROWS))
    ]
    if not rows:
        parser.error(f"no measure's name holds {args.only!r}")
    width = max(len(m.name) for m in rows)
    if args.peers:
        install_peers()
        print(f"{rounds} interleaved round(s) (purrflow, DBOS, Temporal, …), the median of each; every run on a")
        print("fresh engine. ratio: purrflow / the better peer (for a rate: the better peer / purrflow), so below 1")
        print("purrflow is ahead. Temporal's steps are local activities.")
        print(f"{'measure':<{width}}  {'purrflow':>22}  {'DBOS':>18}  {'Temporal':>18}  {'ratio':>11}  target")
        print("-" * (width + 100), flush=True)
        for measure in rows:
            run_peer_row(measure, rounds, width)
        return
    if rounds > 1:
        print(f"median of {rounds} rounds per setup, each on a fresh server")
    if args.scaled:
        install_peers()
        print("Temporal: the same workload on Temporal alone (bench/peers/temporal_bench.py, its steps local")
        print("activities). The ratios are plain quotients: for a time, scaled/Temporal above 1 is what the scaled")
        print("mode costs beyond its engine alone; for a rate (sessions/s), below 1 is how much slower it is")
        header = f"{'embedded':>22}  {'scaled':>22}  {'Temporal':>18}  {'embedded/scaled':>15}  {'scaled/Temporal':>15}"
        print(f"{'measure':<{width}}  {header}")
        print("-" * (width + 102), flush=True)
        for measure in rows:
            run_scaled_row(measure, rounds, width)
        return
    if len(setups) == 1:
        print(f"{'measure':<{width}}  {'purrflow':>22}  target")
        print("-" * (width + 40), flush=True)
    else:
        first, second = setups[0].label, setups[1].label
        print(f"{'measure':<{width}}  {first:>22}  {second:>22}  {first + '/' + second:>11}  {'difference':>18}")
        print("-" * (width + 80), flush=True)
    for measure in rows:
        run_row(measure, setups, rounds, width)


def interleaved(
    columns: Mapping[str, Callable[[], Figure]], rounds: int
) -> tuple[dict[str, list[Figure]], dict[str, str]]:
    """Each column's figures over `rounds` interleaved rounds (a, b, c, a, b, c, …), and the error of each
    column that failed (it is left out of later rounds)."""
    figures: dict[str, list[Figure]] = {column: [] for column in columns}
    errors: dict[str, str] = {}
    for round_ in range(1, rounds + 1):
        for column, measure_it in columns.items():
            if column in errors:
                continue
            try:
                figures[column].append(measure_it())
            except Exception as exc:
                errors[column] = f"round {round_}: {one_line(exc)}" if rounds > 1 else one_line(exc)
    return figures, errors


def run_row(measure: Measure, setups: list[Setup], rounds: int, width: int) -> None:
    """Measure one row in interleaved rounds and print it; a setup that fails is left out of later rounds."""
    figures, errors = interleaved(
        {setup.label: functools.partial(measure_once, measure, setup) for setup in setups}, rounds
    )
    shown = {label: measure.show(medians(f)) if label not in errors else "FAILED" for label, f in figures.items()}
    if len(setups) == 1:
        label = setups[0].label
        if errors:
            print(f"{measure.name:<{width}}  FAILED: {errors[label]}", flush=True)
        else:
            print(f"{measure.name:<{width}}  {shown[label]:>22}  {measure.target}", flush=True)
        return
    first, second = setups[0].label, setups[1].label
    ratios, difference = "–", "–"
    if not errors:
        a, b = medians(figures[first]), medians(figures[second])
        ratios = ratio(a, b)
        difference = measure.difference(a, b)
    cells = f"{shown[first]:>22}  {shown[second]:>22}  {ratios:>11}  {difference:>18}"
    print(f"{measure.name:<{width}}  {cells}", flush=True)
    for label, error in errors.items():
        print(f"    {label} failed, {error}", flush=True)


def run_scaled_row(measure: Measure, rounds: int, width: int) -> None:
    """One row embedded, scaled and (where the row has a peer workload) on Temporal alone, in interleaved
    rounds; a column that fails shows FAILED, its error on a line below, and is left out of later rounds."""
    columns = {setup.label: functools.partial(measure_once, measure, setup) for setup in (EMBEDDED, SCALED)}
    if measure.peer is not None:
        columns["Temporal"] = functools.partial(run_peer, dict(PEERS)["Temporal"], measure.peer)
    figures, errors = interleaved(columns, rounds)
    shown = {column: "FAILED" if column in errors else measure.show(medians(f)) for column, f in figures.items()}
    ok = {column: medians(f) for column, f in figures.items() if column not in errors}

    def ratio_of(top: str, bottom: str) -> str:
        return ratio(ok[top], ok[bottom]) if top in ok and bottom in ok else "–"

    cells = (
        f"{shown[EMBEDDED.label]:>22}  {shown[SCALED.label]:>22}  {shown.get('Temporal', '–'):>18}"
        f"  {ratio_of(EMBEDDED.label, SCALED.label):>15}  {ratio_of(SCALED.label, 'Temporal'):>15}"
    )
    print(f"{measure.name:<{width}}  {cells}", flush=True)
    for column, error in errors.items():
        print(f"    {column} failed, {error}", flush=True)


def peer_ratio(measure: Measure, ours: Figure, peers: list[Figure]) -> str:
    """purrflow / the better peer, figure by figure (for a rate: the better peer / purrflow)."""
    cells = []
    for i, value in enumerate(ours):
        theirs = [figure[i] for figure in peers]
        best = max(theirs) if measure.higher_better else min(theirs)
        top, bottom = (best, value) if measure.higher_better else (value, best)
        cells.append(f"{top / bottom:.2f}" if bottom else "n/a")
    return " / ".join(cells)


def run_peer_row(measure: Measure, rounds: int, width: int) -> None:
    """One row beside the peers, in interleaved rounds (purrflow, DBOS, Temporal, purrflow, …): a column that
    fails shows FAILED, its error on a line below, and is left out of later rounds; the row goes on."""
    columns = {"purrflow": functools.partial(measure_once, measure, Setup("this"))}
    if measure.peer is not None:
        columns.update({name: functools.partial(run_peer, script, measure.peer) for name, script in PEERS})
    figures, errors = interleaved(columns, rounds)
    shown = {column: "FAILED" if column in errors else measure.show(medians(f)) for column, f in figures.items()}
    peers_ok = [medians(figures[name]) for name, _ in PEERS if name in figures and name not in errors]
    ratios = "–"
    if "purrflow" not in errors and peers_ok:
        ratios = peer_ratio(measure, medians(figures["purrflow"]), peers_ok)
    dbos, temporal = (shown.get(name, "–") for name, _ in PEERS)
    cells = f"{shown['purrflow']:>22}  {dbos:>18}  {temporal:>18}  {ratios:>11}  {measure.target}"
    print(f"{measure.name:<{width}}  {cells}", flush=True)
    for column, error in errors.items():
        print(f"    {column} failed, {error}", flush=True)


if __name__ == "__main__":
    main()
