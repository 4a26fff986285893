"""What ops.yml workflows and CTO.ai programs cost on a real server, printed as a table.

    python bench/ops.py [--quick]

Starts `purr up` (synchronous=NORMAL) with the core benchmark's project, deploys an ops.yml project, and
measures over real HTTP:
- an ops.yml command that does nothing (`run: "true"`), start → completed;
- a pipeline of two empty jobs (each a child session), start → completed;
- one SDK daemon request from the real `cto-ai` client (`sdk.config.get`, a journaled step each),
  and the same call made in-process by a Python handler that imports `cto_ai`.
The design sets no targets for these; they say what a command's process and the HTTP hop add.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core import BenchServer, pct

OPS = """
version: "1"
commands:
  - name: noop
    description: nothing at all
    run: "true"
  - name: requests
    description: N daemon requests through the real client
    run: python3 requests_bench.py
pipelines:
  - name: two
    description: two empty jobs
    jobs:
      - name: a
        description: empty
        steps: ["true"]
      - name: b
        description: empty
        steps: ["true"]
"""

MANIFEST = """
version: v1
project:
  name: ops-bench
  triggers:
    - name: inprocess
      type: manual
      call: handler.py:many
"""

CLIENT = """
import os, time
from cto_ai import sdk, ux
n = int(os.environ.get("N", "200"))
started = time.perf_counter()
for _ in range(n):
    sdk.config.get("BENCH")
ux.print(f"PER_REQUEST_US {(time.perf_counter() - started) / n * 1e6:.1f}")
"""

HANDLER = """
import time
from cto_ai import sdk

def many(event):
    n = int(event.data.get("n", 200))
    started = time.perf_counter()
    for _ in range(n):
        sdk.config.get("BENCH")
    return (time.perf_counter() - started) / n * 1e6
"""


def deploy(server: BenchServer) -> None:
    files = {"ops.yml": OPS, "purrflow.yaml": MANIFEST, "requests_bench.py": CLIENT, "handler.py": HANDLER}
    encoded = {name: base64.b64encode(text.encode()).decode() for name, text in files.items()}
    response = server.api().post("/api/v1/projects/deploy", json={"files": encoded})
    response.raise_for_status()


def run(server: BenchServer, entrypoint: str, data: dict[str, object] | None = None) -> tuple[str, float]:
    started = time.perf_counter()
    body = {"project": "ops-bench", "entrypoint": entrypoint, "data": data or {}}
    session_id = str(server.api().post("/api/v1/sessions", json=body).json()["session_id"])
    server.wait_done(session_id)
    elapsed = (time.perf_counter() - started) * 1000
    state = server.api().get(f"/api/v1/sessions/{session_id}").json()["session"]
    if state["state"] != "completed":
        raise SystemExit(f"{entrypoint} ended {state['state']}: {state['error']}")
    return session_id, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    n = 20 if args.quick else 100
    rows: list[tuple[str, str]] = []
    server = BenchServer("normal")
    try:
        deploy(server)
        noop = [run(server, "noop")[1] for _ in range(n)]
        rows.append(
            ("ops.yml command `true`, start → completed, p50 / p99", f"{pct(noop, 50):.1f} / {pct(noop, 99):.1f} ms")
        )
        pipeline = [run(server, "two")[1] for _ in range(max(5, n // 5))]
        rows.append(("pipeline of two empty jobs, start → completed, p50", f"{statistics.median(pipeline):.1f} ms"))
        session_id, _ = run(server, "requests")
        line = next(str(e["text"]) for e in server.logs(session_id) if str(e["text"]).startswith("PER_REQUEST_US"))
        rows.append(("daemon request over HTTP (cto-ai config.get)", f"{float(line.split()[1]):.0f} µs"))
        session_id, _ = run(server, "inprocess", {"n": 200})
        result = server.api().get(f"/api/v1/sessions/{session_id}").json()["session"]["result_repr"]
        rows.append(("the same call in a Python handler (in-process)", f"{float(result):.0f} µs"))
    finally:
        server.close()
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'purrflow':>18}")
    print("-" * (width + 20))
    for name, value in rows:
        print(f"{name:<{width}}  {value:>18}")


if __name__ == "__main__":
    main()
