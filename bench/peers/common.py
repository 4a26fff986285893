"""What the peers' benchmarks share: the command line, percentiles, resident memory, the JSON answer.

Each peer script is run with the peers' venv python (bench/peers/.venv, made by bench/peers/install) as
`python bench/peers/X_bench.py WORKLOAD [--n N]` and prints one JSON object on its last line of output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

#: The workloads, and N by default for each.
WORKLOADS = {"start": 200, "burst": 1000, "steps": 100, "message": 100, "sleep": 5, "memory": 1000}


def parse(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--n", type=int, help="how many (workflows, steps, messages or sleeps)")
    args = parser.parse_args()
    if args.n is None:
        args.n = WORKLOADS[args.workload]
    if args.n < 1:
        parser.error("--n must be at least 1")
    return args


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def p50_p99(samples_ms: list[float]) -> dict[str, float]:
    return {"p50": round(pct(samples_ms, 50), 3), "p99": round(pct(samples_ms, 99), 3)}


def rss_kib(pid: int) -> int:
    """The resident memory of one process, KiB (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_rss_kib(*pids: int) -> int:
    """The resident memory of these processes and all their descendants, KiB."""
    return sum(rss_kib(p) for pid in pids for p in descendants(pid))


def answer(figures: dict[str, float]) -> None:
    """Print the figures as the last line of output and leave at once.

    `os._exit`: a workflow still blocked in a thread of the engine (the memory workload leaves a thousand)
    must not hold the process up at exit; the caller has cleaned up before.
    """
    print(json.dumps(figures), flush=True)
    sys.stderr.flush()
    os._exit(0)
