"""What the web UI's sessions page and the journal cost with a big store, printed row by row.

    python bench/ui.py [--quick] [--sessions N] [--steps N]

Starts `purr up` (synchronous=NORMAL) with the core benchmark's project, then writes straight into its
store (a bench may; nothing else does): 100,000 ended sessions of the project, 1% of them failed, and one
session with 10,000 journaled steps. Then it measures over real HTTP, with a web login's cookie:
- the sessions page (`GET /sessions`, rendered on the server): the first page, a page 90% of the way down
  reached by its cursor (keyset paging: it should cost what the first does), and the failed ones only;
- the API's listing (`GET /api/v1/sessions`), first and deep page;
- `GET /api/v1/sessions/{id}/journal` of the session with 10,000 steps: a page of 1,000 (the default), a page
  deep in, all of them in one page; and the session's own page.
Runs in well under two minutes.
"""

from __future__ import annotations

import argparse
import pickle
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core import BenchServer, pct

from purrflow.platform import DATABASE_FILE
from purrflow.services.sessions import cursor_of
from purrflow.store import SessionError, open_store


def fill(server: BenchServer, sessions: int, steps: int) -> tuple[str, str]:
    """Write the sessions and the long journal; the cursor 90% of the way down, and the long session's id."""
    api = server.api()
    team_id = api.get("/api/v1/teams").json()["teams"][0]["id"]
    store = open_store(server.data / DATABASE_FILE, durability="normal")
    try:
        project = store.get_project_by_name(team_id, "bench")
        assert project is not None and project.deployment_id is not None  # BenchServer deployed it
        deep_id = ""
        with store.transaction():
            for n in range(sessions):
                session_id = store.create_session(
                    project_id=project.id, deployment_id=project.deployment_id, entrypoint="program.py:empty",
                    event={"event_type": "bench", "event_id": None, "data": {"n": n}}, trigger_name="trivial",
                )  # fmt: skip
                if n % 100 == 0:
                    store.finish_session(session_id, state="error", error=SessionError("RuntimeError", f"failure {n}"))
                else:  # an ended session's state is all a listing reads
                    store.set_session_state(session_id, "completed")
                if n == sessions // 10:  # listed newest first: this one is 90% of the way down
                    deep_id = session_id
        deep = store.get_session(deep_id)
        assert deep is not None
        with store.transaction():
            long_id = store.create_session(
                project_id=project.id, deployment_id=project.deployment_id, entrypoint="program.py:steps",
                event={"event_type": "bench", "event_id": None, "data": {}},
            )  # fmt: skip
            for seq in range(1, steps + 1):
                store.append_journal(long_id, seq, "program.step", pickle.dumps({"i": seq, "items": [seq] * 3}), False)
            store.finish_session(long_id, state="completed", result_repr="None")
        return cursor_of(deep), long_id
    finally:
        store.close()


def web_login(server: BenchServer) -> httpx.Client:
    """A browser-like client holding a web login's cookie (the login form, with its CSRF cookie)."""
    client = httpx.Client(base_url=server.url, timeout=60, headers={"Accept": "text/html"})
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None, "the login form has no CSRF field"
    token = (server.data / "admin-token").read_text().strip()
    answer = client.post("/login", data={"csrf": csrf.group(1), "token": token, "next": "/sessions"})
    if answer.status_code != 303 or "purr_session" not in client.cookies:
        raise RuntimeError(f"the web login failed ({answer.status_code}): {answer.text[:200]}")
    return client


def timed(get: Callable[[], httpx.Response], n: int) -> list[float]:
    """Milliseconds of `n` requests after one warm-up, each checked to have succeeded."""
    get().raise_for_status()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        get().raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--sessions", type=int, default=100_000, help="sessions in the store")
    parser.add_argument("--steps", type=int, default=10_000, help="journaled steps of the long session")
    args = parser.parse_args()
    n = 10 if args.quick else 40
    server = BenchServer("normal")
    try:
        width = 62
        print(f"{'measure':<{width}}  {'purrflow':>20}")
        print("-" * (width + 22), flush=True)

        def row(name: str, value: str) -> None:
            print(f"{name:<{width}}  {value:>20}", flush=True)

        started = time.perf_counter()
        deep_cursor, long_id = fill(server, args.sessions, args.steps)
        elapsed = time.perf_counter() - started
        row(f"write {args.sessions:,} sessions + {args.steps:,} steps (store, direct)", f"{elapsed:.1f} s")
        web = web_login(server)
        api = server.api()
        deep = {"before": deep_cursor}
        pages: list[tuple[str, Callable[[], httpx.Response]]] = [
            ("sessions page, first, p50 / p99", lambda: web.get("/sessions")),
            ("sessions page, 90% down by cursor, p50 / p99", lambda: web.get("/sessions", params=deep)),
            ("sessions page, failed only (1%), p50 / p99", lambda: web.get("/sessions", params={"state": "error"})),
            ("API listing, first 50, p50 / p99", lambda: api.get("/api/v1/sessions")),
            ("API listing, 90% down by cursor, p50 / p99", lambda: api.get("/api/v1/sessions", params=deep)),
        ]
        for name, get in pages:
            samples = timed(get, n)
            row(name, f"{pct(samples, 50):.1f} / {pct(samples, 99):.1f} ms")
        journal_url = f"/api/v1/sessions/{long_id}/journal"
        journal_pages: list[tuple[str, Callable[[], httpx.Response]]] = [
            ("journal, first page of 1,000 (API), p50 / p99", lambda: api.get(journal_url)),
            (
                "journal, a page deep in (API), p50 / p99",
                lambda: api.get(journal_url, params={"after": args.steps - 1000}),
            ),
            ("session page (500 journal steps, log), p50 / p99", lambda: web.get(f"/sessions/{long_id}")),
        ]
        for name, get in journal_pages:
            samples = timed(get, max(3, n // 4))
            row(name, f"{pct(samples, 50):.1f} / {pct(samples, 99):.1f} ms")

        def whole_journal() -> httpx.Response:
            answer = api.get(journal_url, params={"limit": 10_000})
            assert len(answer.json()["steps"]) == min(args.steps, 10_000), answer.text[:200]
            return answer

        whole = timed(whole_journal, 3)
        row(f"journal, all {args.steps:,} steps in one page (API), p50", f"{pct(whole, 50):.0f} ms")
        web.close()
    finally:
        server.close()


if __name__ == "__main__":
    main()
