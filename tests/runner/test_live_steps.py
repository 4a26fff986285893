"""Live steps (unpicklable or too-large results) keep their place in the journal, so replay stays in step."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from purrflow.errors import NonDeterminismError
from purrflow.runner import runtime as runtime_module
from purrflow.runner.channel import Channel
from purrflow.runner.runtime import LIVE_MARKER, MAX_RESULT_BYTES, SessionRuntime
from purrflow.wire import JournalEntry, LogLines, StepAck, StepRecorded


class FakeHost(Channel):
    """Journals every StepRecorded and acknowledges it, as the host does after its commit."""

    def __init__(self) -> None:
        self.journal: list[JournalEntry] = []
        self.lines: list[str] = []
        self._pending: list[object] = []

    def send(self, message: object) -> None:
        if isinstance(message, StepRecorded):
            self.journal.append(JournalEntry(message.seq, message.name, message.payload, message.failed))
            self._pending.append(StepAck(message.seq))
        elif isinstance(message, LogLines):
            self.lines += [line.text for line in message.lines]
        else:
            raise AssertionError(f"unexpected message {message!r}")

    def recv(self) -> object:
        return self._pending.pop(0)


class Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("a live connection cannot be pickled")


def session(host: FakeHost, journal: list[JournalEntry] | None = None) -> SessionRuntime:
    return SessionRuntime(host, session_id="s1", project_dir="/nonexistent", journal=journal or [])


def program(rt: SessionRuntime, runs: list[str]) -> tuple[Any, ...]:
    def make() -> Unpicklable:
        runs.append("make")
        return Unpicklable()

    def call() -> str:
        runs.append("call")
        return "answer"

    def big() -> bytes:
        runs.append("big")
        return b"x" * (2 * MAX_RESULT_BYTES)

    client = rt.run_step("lib.make", make, (), {})
    answer = rt.run_step("lib.call", call, (), {})
    blob = rt.run_step("lib.big", big, (), {})
    rt.run_step("lib.make", make, (), {})  # a second live step of the same name: noted once
    return type(client).__name__, answer, len(blob)


def test_a_live_step_journals_a_marker_and_replays_in_place() -> None:
    first = FakeHost()
    runs: list[str] = []
    assert program(session(first), runs) == ("Unpicklable", "answer", 2 * MAX_RESULT_BYTES)
    assert [(e.seq, e.name) for e in first.journal] == [
        (1, "lib.make"),
        (2, "lib.call"),
        (3, "lib.big"),
        (4, "lib.make"),
    ]
    assert [e.payload == LIVE_MARKER for e in first.journal] == [True, False, True, True]
    assert not any(e.failed for e in first.journal)
    assert pickle.loads(first.journal[1].payload) == "answer"
    assert runs == ["make", "call", "big", "make"]
    notes = [line for line in first.lines if "runs live" in line]
    assert len(notes) == 2, first.lines  # once per name
    assert "cannot be pickled" in notes[0] and "lib.make" in notes[0]
    assert "lib.big" in notes[1] and "over the limit of 1 MiB" in notes[1]

    again = FakeHost()
    replayed: list[str] = []
    assert program(session(again, first.journal), replayed) == ("Unpicklable", "answer", 2 * MAX_RESULT_BYTES)
    assert replayed == ["make", "big", "make"]  # the live steps ran again; the journaled one did not
    assert again.journal == []  # nothing new to journal


def test_a_marker_of_another_name_is_a_non_deterministic_replay() -> None:
    host = FakeHost()
    rt = session(host, [JournalEntry(1, "lib.make", LIVE_MARKER)])
    with pytest.raises(NonDeterminismError, match=r"journal has lib\.make, code called lib\.other"):
        rt.run_step("lib.other", lambda: 1, (), {})


def test_the_limit_is_the_module_constant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_module, "MAX_RESULT_BYTES", 100)
    host = FakeHost()
    rt = session(host)
    assert rt.run_step("lib.small", lambda: b"x" * 10, (), {}) == b"x" * 10
    assert rt.run_step("lib.large", lambda: b"x" * 200, (), {}) == b"x" * 200
    assert [e.payload == LIVE_MARKER for e in host.journal] == [False, True]
    assert any("over the limit of 100 bytes" in line for line in host.lines), host.lines
