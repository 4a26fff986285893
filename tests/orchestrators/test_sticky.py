"""The hot-memory budget: which waiting sessions keep their runners."""

from __future__ import annotations

import os

from purrflow.orchestrators.sticky import HotWaits, default_hot_memory, runner_memory


class Waiting:
    """A session waiting in its runner, as the policy sees it: its pid, and whether it was suspended."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.runner_pid: int | None = hash(session_id) % 10_000
        self.suspended = False

    def give_up_runner(self) -> None:
        self.suspended = True


def sizes(per_runner: int) -> HotWaits:
    return HotWaits(3 * per_runner, measure=lambda pid: per_runner)


def test_the_least_recently_active_give_their_runners_up_past_the_budget() -> None:
    hot = sizes(100)
    a, b, c, d = (Waiting(name) for name in "abcd")
    assert all(hot.hold(s) for s in (a, b, c)) and len(hot) == 3
    hot.release("a")  # a's wait ended: it runs again, so it is no longer counted
    hot.hold(a)  # ...and waits again, now the most recently active
    assert hot.hold(d)  # over budget: b, the least recently active, is suspended
    assert (a.suspended, b.suspended, c.suspended, d.suspended) == (False, True, False, False)
    assert hot.used_bytes == 300


def test_a_queued_session_takes_the_oldest_waiters_runner() -> None:
    hot = sizes(100)
    a, b = Waiting("a"), Waiting("b")
    hot.hold(a)
    hot.hold(b)
    assert hot.make_room() and a.suspended and not b.suspended
    assert hot.make_room() and b.suspended
    assert not hot.make_room()


def test_no_budget_keeps_no_runner() -> None:
    hot = HotWaits(0, measure=lambda pid: 1)
    waiting = Waiting("a")
    assert not hot.hold(waiting) and len(hot) == 0


def test_a_runner_bigger_than_the_whole_budget_is_suspended_at_once() -> None:
    hot = HotWaits(50, measure=lambda pid: 100)
    waiting = Waiting("a")
    assert not hot.hold(waiting) and waiting.suspended


def test_memory_is_this_machines() -> None:
    own = runner_memory(os.getpid())
    assert own is not None and own > 1 << 20  # a Python process's proportional share: over a MiB
    assert runner_memory(2**22 + 1) is None  # no such process
    assert 0 < default_hot_memory() <= 2 << 30
