"""Activity retries in the runner: each failed attempt is a journaled step with its decision, each wait a
durable sleep, and replay walks the attempts from the journal without running any of them again."""

from __future__ import annotations

import pickle
import time

import pytest

from purrflow import sdk
from purrflow.errors import InvalidInputError
from purrflow.runner.channel import Channel
from purrflow.runner.runtime import SessionRuntime
from purrflow.sdk import _runtime as sdk_runtime
from purrflow.wire import JournalEntry, RetryPolicy, SleepUntil, StepAck, StepName, StepRecorded, Wait, WaitResult

_NONE = pickle.dumps(None)


class FakeHost(Channel):
    """Journals steps and answers sleeps at once, as the host does once a step commits or a timer fires;
    keeps each sleep's length and label so tests can check the backoff."""

    def __init__(self) -> None:
        self.journal: list[JournalEntry] = []
        self.sleeps: list[tuple[float, str]] = []
        self.recorded: list[StepRecorded] = []
        self._pending: list[object] = []

    def send(self, message: object) -> None:
        if isinstance(message, StepRecorded):
            self.recorded.append(message)
            self.journal.append(
                JournalEntry(
                    message.seq, message.name, message.payload, message.failed, message.attempt, message.retried
                )
            )
            self._pending.append(StepAck(message.seq))
        elif isinstance(message, Wait) and isinstance(message.wait, SleepUntil):
            self.sleeps.append((message.wait.until - time.time(), message.args))
            self.journal.append(JournalEntry(message.seq, StepName.SLEEP, _NONE))
            self._pending.append(WaitResult(message.seq, _NONE))
        else:
            raise AssertionError(f"unexpected message {message!r}")

    def recv(self) -> object:
        return self._pending.pop(0)


def session(host: FakeHost, journal: list[JournalEntry] | None = None, **options: RetryPolicy) -> SessionRuntime:
    return SessionRuntime(host, session_id="s1", project_dir="/nonexistent", journal=journal or [], **options)


def flaky(fails: int, runs: list[int], error: type[Exception] = ConnectionError) -> object:
    def call(n: object, *_: object, **__: object) -> str:
        runs.append(n)
        if len(runs) <= fails:
            raise error(f"attempt {len(runs)} failed")
        return f"done {n}"

    return call


def test_two_failures_then_success_under_three_retries_journals_three_attempts() -> None:
    host, runs = FakeHost(), []
    policy = RetryPolicy(retries=3, backoff=0.5)
    assert session(host).run_step("lib.call", flaky(2, runs), (7,), {}, policy) == "done 7"
    assert runs == [7, 7, 7]
    assert [(e.name, e.failed, e.attempt, e.retried) for e in host.journal] == [
        ("lib.call", True, 1, True),
        (StepName.SLEEP, False, 0, False),
        ("lib.call", True, 2, True),
        (StepName.SLEEP, False, 0, False),
        ("lib.call", False, 3, False),
    ]
    assert str(pickle.loads(host.journal[2].payload)) == "attempt 2 failed"
    (first, label1), (second, label2) = host.sleeps
    assert 0.4 < first <= 0.5 and 0.9 < second <= 1.0  # 0.5 s, then twice that
    assert (label1, label2) == ("backoff 0.5 s before attempt 2", "backoff 1 s before attempt 3")
    assert all(r.args == "7" and r.started_at <= time.time() for r in host.recorded)

    again, replayed = FakeHost(), []
    assert session(again, host.journal).run_step("lib.call", flaky(0, replayed), (7,), {}, policy) == "done 7"
    assert replayed == [] and again.journal == []  # every attempt and wait answered from the journal


def test_a_replay_mid_backoff_runs_only_the_attempts_not_yet_journaled() -> None:
    host = FakeHost()
    with pytest.raises(ConnectionError):
        session(host).run_step("lib.call", flaky(9, []), (1,), {}, RetryPolicy(retries=0))
    first_attempt = [JournalEntry(1, "lib.call", host.journal[0].payload, True, 1, True)]
    resumed, runs = FakeHost(), []
    policy = RetryPolicy(retries=3, backoff=0.01)
    assert session(resumed, first_attempt).run_step("lib.call", flaky(1, runs), (1,), {}, policy) == "done 1"
    assert runs == [1, 1]  # attempt 1 came from the journal; attempt 2 failed, attempt 3 succeeded
    assert [(e.seq, e.name, e.attempt) for e in resumed.journal] == [
        (2, StepName.SLEEP, 0),
        (3, "lib.call", 2),
        (4, StepName.SLEEP, 0),
        (5, "lib.call", 3),
    ]


def test_a_non_retryable_failure_fails_at_once() -> None:
    host, runs = FakeHost(), []
    policy = RetryPolicy(retries=5, backoff=0.01, non_retryable=(ValueError,))
    with pytest.raises(ValueError, match="attempt 1 failed"):
        session(host).run_step("lib.call", flaky(9, runs, ValueError), (1,), {}, policy)
    assert runs == [1] and host.sleeps == []
    assert [(e.failed, e.attempt, e.retried) for e in host.journal] == [(True, 1, False)]


def test_exhausted_retries_raise_the_last_error_and_replay_raises_it_again() -> None:
    host, runs = FakeHost(), []
    policy = RetryPolicy(retries=2, backoff=0.01)
    with pytest.raises(ConnectionError, match="attempt 3 failed"):
        session(host).run_step("lib.call", flaky(9, runs), (1,), {}, policy)
    assert runs == [1, 1, 1]
    assert [(e.attempt, e.retried) for e in host.journal if e.name == "lib.call"] == [(1, True), (2, True), (3, False)]
    with pytest.raises(ConnectionError, match="attempt 3 failed"):
        session(FakeHost(), host.journal).run_step("lib.call", flaky(0, runs), (1,), {}, policy)
    assert runs == [1, 1, 1]


def test_the_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(retries=6, backoff=2, max_backoff=10)
    assert [policy.delay(attempt) for attempt in range(1, 7)] == [2, 4, 8, 10, 10, 10]


def test_the_session_default_applies_to_steps_without_a_policy_of_their_own() -> None:
    host, runs = FakeHost(), []
    rt = session(host, retries=RetryPolicy(retries=1, backoff=0.01))
    assert rt.run_step("lib.call", flaky(1, runs), (1,), {}) == "done 1"
    assert runs == [1, 1]
    own = []  # retries=0 of its own: the default does not apply
    with pytest.raises(ConnectionError):
        rt.run_step("lib.other", flaky(1, own), (2,), {}, RetryPolicy(retries=0))
    assert own == [2]
    assert [(e.name, e.attempt) for e in host.journal if e.name != StepName.SLEEP] == [
        ("lib.call", 1),
        ("lib.call", 2),
        ("lib.other", 0),  # no retry policy: no attempt number
    ]


def test_without_a_policy_a_failure_is_the_steps_outcome_as_before() -> None:
    host, runs = FakeHost(), []
    with pytest.raises(ConnectionError):
        session(host).run_step("lib.call", flaky(1, runs), ("x" * 500,), {"flag": True})
    with pytest.raises(ConnectionError):
        session(host).run_step("lib.call", flaky(1, []), tuple(str(n) * 50 for n in range(10)), {})
    long_string, many = host.recorded
    assert (long_string.attempt, long_string.retried, long_string.failed) == (0, False, True)
    assert long_string.args.startswith("'xxx") and "..." in long_string.args and long_string.args.endswith("flag=True")
    assert len(many.args) == 200 and many.args.endswith("…")


def test_outside_a_session_the_decorator_retries_in_memory() -> None:
    runs: list[int] = []
    call = sdk.activity(retries=2, backoff=0.01)(flaky(2, runs))
    assert sdk_runtime.current().session_id is None
    assert call(4) == "done 4" and runs == [4, 4, 4]
    stubborn = sdk.activity(retries=1, backoff=0.01, non_retryable=(KeyError,))(flaky(9, [], KeyError))
    with pytest.raises(KeyError):
        stubborn(1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": -1}, "retries must be a whole number"),
        ({"retries": True}, "retries must be a whole number"),
        ({"retries": 2, "backoff": "2s"}, "backoff must be a number of seconds"),
        ({"retries": 2, "max_backoff": float("inf")}, "max_backoff must be a number of seconds"),
        ({"retries": 2, "non_retryable": ValueError}, "non_retryable must be a tuple of exception classes"),
        ({"retries": 2, "non_retryable": (int,)}, "non_retryable must be a tuple of exception classes"),
        ({"backoff": 3}, "need retries= too"),
    ],
)
def test_bad_retry_options_are_refused_when_decorating(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        sdk.activity(**options)  # type: ignore[call-overload]
