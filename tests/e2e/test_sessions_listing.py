"""Listing sessions: filters (trigger, several states, a time window, an id prefix), keyset paging with an
opaque cursor, the same in `purr sessions list`, and clear refusals of bad filters."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from projects import manifest, write_project

from helpers import Server

pytestmark = pytest.mark.slow

PROGRAM = """
def ok(event):
    return "ok"

def fail(event):
    raise RuntimeError("no")
"""

TRIGGERS = """
- name: good
  type: webhook
  call: program.py:ok
- name: bad
  type: webhook
  call: program.py:fail
"""


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, list[str]]]]:
    """A server with 7 completed sessions of `good` and 5 failed ones of `bad`, started alternately."""
    root = tmp_path_factory.mktemp("listing")
    server = Server(root / "data").start()
    try:
        server.deploy(
            write_project(root / "proj", {"purrflow.yaml": manifest("lister", TRIGGERS), "program.py": PROGRAM})
        )
        started: dict[str, list[str]] = {"good": [], "bad": []}
        with server.client() as client:
            for n in range(12):
                trigger = "good" if n % 2 == 0 or n >= 10 else "bad"
                answer = client.post("/api/v1/sessions", json={"project": "lister", "entrypoint": trigger})
                assert answer.status_code == 201, answer.text
                started[trigger].append(answer.json()["session_id"])
        for session_id in started["good"] + started["bad"]:
            server.wait_state(session_id, "completed", "error")
        yield server, started
    finally:
        server.stop()


def sessions(server: Server, **params: Any) -> httpx.Response:
    with server.client() as client:
        return client.get("/api/v1/sessions", params=params)


def ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [s["id"] for s in answer.json()["sessions"]]


def test_filters_by_trigger_state_and_id_prefix(listed: tuple[Server, dict[str, list[str]]]) -> None:
    server, started = listed
    good = ids(sessions(server, trigger="good"))
    assert sorted(good) == sorted(started["good"]) and len(good) == 7
    assert sorted(ids(sessions(server, state="error"))) == sorted(started["bad"])
    both = ids(sessions(server, state=["error", "completed"]))
    assert sorted(both) == sorted(started["good"] + started["bad"])
    assert ids(sessions(server, trigger="bad", state="completed")) == []
    target = started["bad"][2]
    assert ids(sessions(server, id=target[:-2])) == [target]
    assert ids(sessions(server, id=target)) == [target]


def test_time_window_bounds_creation(listed: tuple[Server, dict[str, list[str]]]) -> None:
    server, _ = listed
    everything = sessions(server).json()["sessions"]
    newest_first = [s["created_at"] for s in everything]
    assert newest_first == sorted(newest_first, reverse=True)
    moments = [datetime.fromisoformat(s["created_at"].replace("Z", "+00:00")) for s in everything]
    middle = (moments[6] + (moments[5] - moments[6]) / 2).isoformat()  # between the 6th and 7th newest
    newer = ids(sessions(server, since=middle))
    older = ids(sessions(server, until=middle))
    assert newer == [s["id"] for s in everything[:6]]
    assert older == [s["id"] for s in everything[6:]]
    future = (datetime.now(UTC) + timedelta(days=366)).isoformat()
    assert ids(sessions(server, since=future)) == []


def test_keyset_pages_cover_everything_once(listed: tuple[Server, dict[str, list[str]]]) -> None:
    server, started = listed
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        answer = sessions(server, limit=5, **({"before": cursor} if cursor else {}))
        seen += ids(answer)
        pages += 1
        cursor = answer.json()["next"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 12 == len(set(seen))
    assert seen == ids(sessions(server, limit=100))
    assert sessions(server, limit=12).json()["next"] is None  # an exactly full last page says so
    filtered = sessions(server, trigger="good", limit=4)
    rest = sessions(server, trigger="good", limit=4, before=filtered.json()["next"])
    assert sorted(ids(filtered) + ids(rest)) == sorted(started["good"]) and rest.json()["next"] is None


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"state": "exploded"}, "'exploded' is not a session state"),
        ({"before": "not-a-cursor"}, "is not a session cursor"),
        ({"since": "yesterday-ish"}, "since 'yesterday-ish' is not an ISO-8601"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "`since` must be earlier than `until`"),
        ({"project": "nope"}, "nope"),
    ],
)
def test_bad_filters_are_refused_clearly(
    listed: tuple[Server, dict[str, list[str]]], params: dict[str, str], says: str
) -> None:
    answer = sessions(listed[0], **params)
    assert answer.status_code in (400, 404), answer.text
    body = answer.json()
    assert says in body["error"]["message"] and body["error"]["hint"]


def purr(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env)


def test_cli_lists_with_the_same_filters_and_pages(listed: tuple[Server, dict[str, list[str]]]) -> None:
    server, started = listed
    first = purr(server, "sessions", "list", "--trigger", "bad", "--state", "error", "--limit", "3")
    assert first.returncode == 0, first.stderr
    shown = [s for s in started["bad"] if s in first.stdout]
    assert len(shown) == 3
    more = [line for line in first.stdout.splitlines() if line.startswith("more: purr sessions list ")]
    assert len(more) == 1 and "--trigger bad --state error --limit 3 --before " in more[0]
    cursor = more[0].rsplit(" ", 1)[1]
    rest = purr(server, "sessions", "list", "--trigger", "bad", "--before", cursor, "--limit", "3")
    assert rest.returncode == 0, rest.stderr
    assert sorted(shown + [s for s in started["bad"] if s in rest.stdout]) == sorted(started["bad"])
    assert "more:" not in rest.stdout
    window = purr(server, "sessions", "list", "--since", "2000-01-01", "--until", "2000-01-02")
    assert window.returncode == 0 and "no sessions yet" in window.stdout
    wrong = purr(server, "sessions", "list", "--state", "exploded")
    assert wrong.returncode != 0 and "not a session state" in wrong.stdout + wrong.stderr
    assert "Traceback" not in wrong.stdout + wrong.stderr
