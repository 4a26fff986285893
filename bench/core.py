"""Core performance of a real server, printed row by row against the design's targets.

    python bench/core.py [--quick] [--against DIR | --protection] [--rounds N] [--only TEXT]

Each measurement starts its own `purr up` on a free port with a throw-away data folder (in the durability mode
and with the hot-wait it needs), deploys a small project, warms the runners up with a few empty sessions, and
measures over real HTTP:
- webhook received → handler's first line (the runner's timestamp of the first printed line);
- an empty session, start → result (a synchronous webhook that answers with its return);
- a synchronous webhook's round trip;
- a burst of trivial sessions started at once, and how many finish per second;
- the cost of one durable step (an @activity call), fsync'd (synchronous=FULL) and synchronous=NORMAL;
- event sent → a waiting session's next line, for a session that holds its runner (hot) and a suspended one;
- the growth of the server's resident memory per waiting (suspended) session.

Each row is printed as soon as it is measured. A version whose measurement fails (an HTTP error, a server that
does not start, a time-out) is shown as failed in that row, with the error's type and message, and is not
measured again in that row's later rounds; the next measurement runs as usual.

--quick takes fewer samples. --against DIR compares with another checkout of the project (a folder holding
src/purrflow): every measurement runs for "this" code (the installed package) and for "other" (servers started
with PYTHONPATH=DIR/src; the client side is the same), in interleaved rounds (this, other, this, other, …) with a
fresh server each time. A row gives each version's median over the rounds (of each figure, for p50 / p99) and the
ratio this/other: below 1 is faster for a latency or a cost, above 1 is faster for sessions/s. --rounds N sets
the number of rounds: 3 by default with --against, 1 without. --only TEXT runs the measures whose name holds
TEXT. --protection measures what the sandbox and encryption at rest cost: session start and step cost with both
on (the defaults) beside both off (`--sandbox off`, PURRFLOW_ENCRYPT_AT_REST=0), with the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Setup:
    """One way of running the server that a row measures: a code tree, and server options."""

    label: str
    src: Path | None = None  # None: the installed package
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


#: `--protection`: the sandbox and encryption at rest on (the default), against both off.
PROTECTED = Setup("protected")
UNPROTECTED = Setup("unprotected", args=("--sandbox", "off"), env=(("PURRFLOW_ENCRYPT_AT_REST", "0"),))
#: The rows `--protection` measures: what the sandbox and encryption may cost.
PROTECTION_ROWS = ("empty session", "first line", "burst", "per durable step")


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
        self, durability: str, hot_wait: float = 5.0, src: Path | None = None, setup: Setup | None = None
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
        args += ["--hot-wait", str(hot_wait), *(setup.args if setup else ())]
        env = server_env(src, durability) | dict(setup.env if setup else ())
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


async def burst(server: BenchServer, n: int) -> float:
    before = server.count("completed")
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        semaphore = asyncio.Semaphore(64)

        async def one() -> None:
            async with semaphore:
                (await http.post(server.hooks["trivial"])).raise_for_status()

        await asyncio.gather(*(one() for _ in range(n)))
    deadline = time.monotonic() + 120
    while (done := server.count("completed")) < before + n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done - before} of {n} burst sessions completed after 120 s")
        await asyncio.sleep(0.01)
    return n / (time.perf_counter() - started)


def per_step_ms(server: BenchServer, n: int) -> float:
    session_id = (
        server.api()
        .post("/api/v1/sessions", json={"project": "bench", "entrypoint": "program.py:steps", "data": {"n": n}})
        .json()["session_id"]
    )
    server.wait_done(session_id)
    logs = server.logs(session_id)
    return (float(logs[-1]["ts"]) - float(logs[0]["ts"])) / n * 1000  # type: ignore[arg-type]


def start_waiter(server: BenchServer, key: str) -> str:
    body = {"project": "bench", "entrypoint": "program.py:waiter", "data": {"key": key}}
    return str(server.api().post("/api/v1/sessions", json=body).json()["session_id"])


def state_of(server: BenchServer, session_id: str) -> str:
    return str(server.api().get(f"/api/v1/sessions/{session_id}").json()["session"]["state"])


def waiter_ready(server: BenchServer, session_id: str, suspended: bool) -> bool:
    """The waiter has subscribed (its first line) and, if `suspended`, has given its runner up."""
    return len(server.logs(session_id)) >= 1 and (not suspended or state_of(server, session_id) == "waiting")


def resume_latency(server: BenchServer, n: int, *, suspended: bool) -> list[float]:
    """Event sent → the waiting handler's next line, for a session holding its runner or suspended."""
    samples = []
    # one connection, as a real sender keeps: a new client costs ~50 ms of TLS set-up
    with httpx.Client(timeout=60) as http:
        for i in range(n):
            session_id = start_waiter(server, f"k{i}")
            wait_until(
                functools.partial(waiter_ready, server, session_id, suspended),
                f"session {session_id} " + ("suspended" if suspended else "subscribed"),
            )
            sent = time.time()
            http.post(server.hooks["feed"] + f"?to=k{i}").raise_for_status()
            server.wait_done(session_id)
            resumed = server.logs(session_id)[-1]
            samples.append((float(resumed["ts"]) - sent) * 1000)  # type: ignore[arg-type]
    return samples


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


Figure = tuple[float, ...]  # one figure, or two (p50, p99)


@dataclass(frozen=True)
class Measure:
    name: str
    target: str
    run: Callable[[BenchServer], Figure]
    fmt: str = "{:.2f}"  # of one figure
    unit: str = " ms"
    durability: str = "full"
    hot_wait: float = 5.0

    def show(self, figure: Figure) -> str:
        return " / ".join(self.fmt.format(v) for v in figure) + self.unit


def measures(quick: bool) -> list[Measure]:
    n = 50 if quick else 300
    waits = 20 if quick else 100
    return [
        Measure("webhook → handler's first line, p50 / p99", "≤ 3 ms p50", lambda s: p50_p99(first_line_latency(s, n))),
        Measure(
            "empty session, start → result, p50 / p99",
            "≤ 2.5 / 6 ms",
            lambda s: p50_p99(round_trips(s.hooks["empty_sync"], n)),
        ),
        Measure(
            "sync webhook round trip, p50", "≤ 5 ms", lambda s: (statistics.median(round_trips(s.hooks["answer"], n)),)
        ),
        Measure(
            "burst of trivial sessions",
            "≥ 500 /s",
            lambda s: (asyncio.run(burst(s, 200 if quick else 1000)),),
            fmt="{:.0f}",
            unit=" sessions/s",
        ),
        Measure(
            "per durable step, fsync'd (FULL)",
            "≤ 500 µs",
            lambda s: (per_step_ms(s, 2000) * 1000,),
            fmt="{:.0f}",
            unit=" µs",
        ),
        Measure(
            "event → waiting session resumed (hot), p50 / p99",
            "≤ 5 / 20 ms",
            lambda s: p50_p99(resume_latency(s, waits, suspended=False)),
            hot_wait=60,
        ),
        Measure(
            "event → suspended session resumed, p50 / p99",
            "≤ 5 / 20 ms",
            lambda s: p50_p99(resume_latency(s, waits, suspended=True)),
            hot_wait=0,
        ),
        Measure(
            "server memory per waiting session",
            "≤ 10 KiB",
            lambda s: (memory_per_waiting_session(s, 300 if quick else 1000),),
            fmt="{:.1f}",
            unit=" KiB",
            hot_wait=0,
        ),
        Measure(
            "per durable step, synchronous=NORMAL",
            "≤ 100 µs",
            lambda s: (per_step_ms(s, 2000) * 1000,),
            fmt="{:.0f}",
            unit=" µs",
            durability="normal",
        ),
    ]


def measure_once(measure: Measure, setup: Setup) -> Figure:
    """One run of `measure` on a fresh server set up as `setup` says."""
    server = BenchServer(measure.durability, hot_wait=measure.hot_wait, setup=setup)
    try:
        server.warm_up()
        return measure.run(server)
    finally:
        server.close()


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument(
        "--against", type=Path, metavar="DIR", help="another checkout (holding src/purrflow) to compare"
    )
    parser.add_argument("--rounds", type=int, metavar="N", help="rounds per version (default 3 with --against, else 1)")
    parser.add_argument("--only", metavar="TEXT", help="only the measures whose name holds TEXT")
    parser.add_argument(
        "--protection",
        action="store_true",
        help="session start and step cost with the sandbox and encryption at rest on, against both off",
    )
    args = parser.parse_args()
    if args.protection and args.against:
        parser.error("--protection compares this checkout with itself; leave out --against")
    rounds = args.rounds if args.rounds is not None else 3 if (args.against or args.protection) else 1
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    setups = [Setup("this")]
    if args.protection:
        setups = [PROTECTED, UNPROTECTED]
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
    if args.protection:
        print("protected: sandbox and encryption at rest on (the defaults); unprotected: --sandbox off and")
        print("PURRFLOW_ENCRYPT_AT_REST=0; the difference is what they cost")

    rows = [
        m
        for m in measures(args.quick)
        if (args.only is None or args.only in m.name)
        and (not args.protection or any(part in m.name for part in PROTECTION_ROWS))
    ]
    if not rows:
        parser.error(f"no measure's name holds {args.only!r}")
    width = max(len(m.name) for m in rows)
    if rounds > 1:
        print(f"median of {rounds} rounds per setup, each on a fresh server")
    if len(setups) == 1:
        print(f"{'measure':<{width}}  {'purrflow':>22}  target")
        print("-" * (width + 40), flush=True)
    else:
        first, second = setups[0].label, setups[1].label
        print(f"{'measure':<{width}}  {first:>22}  {second:>22}  {first + '/' + second:>11}  {'difference':>18}")
        print("-" * (width + 80), flush=True)
    for measure in rows:
        run_row(measure, setups, rounds, width)


def run_row(measure: Measure, setups: list[Setup], rounds: int, width: int) -> None:
    """Measure one row in interleaved rounds and print it; a setup that fails is left out of later rounds."""
    figures: dict[str, list[Figure]] = {setup.label: [] for setup in setups}
    errors: dict[str, str] = {}
    for round_ in range(1, rounds + 1):
        for setup in setups:
            if setup.label in errors:
                continue
            try:
                figures[setup.label].append(measure_once(measure, setup))
            except Exception as exc:
                errors[setup.label] = f"round {round_}: {one_line(exc)}" if rounds > 1 else one_line(exc)
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
        decimals = measure.fmt.partition(".")[2][:1] or "0"  # as many as the figures show
        difference = " / ".join(f"{x - y:+.{decimals}f}" for x, y in zip(a, b, strict=True)) + measure.unit
    cells = f"{shown[first]:>22}  {shown[second]:>22}  {ratios:>11}  {difference:>18}"
    print(f"{measure.name:<{width}}  {cells}", flush=True)
    for label, error in errors.items():
        print(f"    {label} failed, {error}", flush=True)


if __name__ == "__main__":
    main()
