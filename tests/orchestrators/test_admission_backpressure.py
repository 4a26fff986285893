"""Backpressure bounds the time a new session would wait for a runner, measured from the queue's pace."""

from __future__ import annotations

from collections import Counter

from purrflow.engine.seams import Admission
from purrflow.orchestrators.admission import (
    PRIOR_INTERVAL,
    RETURN_OPTIMISM,
    AdmissionQueue,
    Backpressure,
    LoopLag,
    Ticket,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ticket(session: str) -> Ticket:
    return Ticket(session, Admission("team"), resume=False)


def anyone(_: Ticket) -> bool:
    return True


def test_the_expected_wait_is_the_sessions_ahead_times_the_pace_at_which_they_leave() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    for i in range(10):
        queue.push(ticket(f"s{i}"))
    for _ in range(4):  # one leaves every 0.2 s
        clock.now += 0.2
        assert queue.pop(anyone) is not None
    assert len(queue) == 6
    assert abs(queue.expected_wait() - 6 * 0.2) < 1e-9


def test_a_stall_shows_at_once_even_before_any_session_has_left() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    assert queue.expected_wait() == 0.0
    assert queue.expected_wait(arriving=10) == 10 * PRIOR_INTERVAL  # a fresh server's burst: a first window
    queue.push(ticket("a"))
    queue.push(ticket("b"))
    clock.now += 3.0  # nobody has left for 3 s: each of the two ahead counts at least that long
    assert queue.expected_wait() == 6.0


def test_below_the_wait_limit_new_work_is_accepted_and_past_it_refused_until_there_is_room() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    policy = Backpressure(max_queued=1000, max_wait=0.5, clock=clock)
    for i in range(20):
        queue.push(ticket(f"s{i}"))
    for _ in range(10):  # a fast pace: one leaves every 1/64 s
        clock.now += 1 / 64
        queue.pop(anyone)
    assert policy.verdict(queue, free_runners=0) is None
    for i in range(22):  # 32 queued at 1/64 s: 0.5 s, still within the limit
        queue.push(ticket(f"more{i}"))
    assert policy.verdict(queue, free_runners=0) is None
    queue.push(ticket("one too many"))
    refused = policy.verdict(queue, free_runners=0)
    assert refused is not None and refused.retry_after == 1
    assert "0.5 s" in refused.message and "33 are queued" in refused.message
    clock.now += 4.0  # then the runners stall: the estimate grows with it, each session ahead counting 4 s
    stalled = policy.verdict(queue, free_runners=0)
    assert stalled is not None and "132.0 s" in stalled.message
    assert stalled.retry_after == 5  # the stall may last as long again, then the queue drains at its pace


def test_with_a_runner_free_only_the_hard_cap_refuses() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    policy = Backpressure(max_queued=3, max_wait=0.5, clock=clock)
    for i in range(2):  # held back by their trigger's concurrency, say: they wait however long it takes
        queue.push(ticket(f"held{i}"))
    clock.now += 60
    assert policy.verdict(queue, free_runners=1) is None
    assert policy.verdict(queue, free_runners=0) is not None
    queue.push(ticket("third"))
    capped = policy.verdict(queue, free_runners=1)
    assert capped is not None and "3 sessions wait for a runner" in capped.message


def test_an_idle_spell_does_not_count_as_slowness() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    queue.push(ticket("a"))
    clock.now += 0.01
    queue.pop(anyone)
    clock.now += 600  # empty for ten minutes
    queue.push(ticket("b"))
    queue.push(ticket("c"))
    clock.now += 0.01
    queue.pop(anyone)
    assert abs(queue.expected_wait() - 0.01) < 1e-9  # the interval counts from when the queue filled again


def test_sessions_that_pass_straight_through_do_not_speed_up_the_pace() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    queue.push(ticket("slow0"))
    queue.push(ticket("slow1"))
    for _ in range(2):
        clock.now += 1.0
        queue.pop(anyone)
    for i in range(10):  # a runner was free for each: pushed and taken at once
        queue.push(ticket(f"through{i}"))
        queue.pop(anyone)
    queue.push(ticket("waiting"))
    assert queue.expected_wait() == 1.0


def test_sessions_created_but_not_yet_committed_count_once_the_free_runners_are_taken() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    policy = Backpressure(max_queued=1000, max_wait=0.5, clock=clock)
    queue.push(ticket("a"))
    queue.push(ticket("b"))
    for _ in range(2):  # a pace of 1/16 s
        clock.now += 1 / 16
        queue.pop(anyone)
    assert policy.verdict(queue, free_runners=2, arriving=1) is None
    assert policy.verdict(queue, free_runners=2, arriving=10) is None  # 8 queue past the 2 runners: 0.5 s
    refused = policy.verdict(queue, free_runners=2, arriving=11)
    assert refused is not None and "9 are queued" in refused.message
    assert queue.expected_wait(arriving=9) == 9 / 16


def test_a_session_started_by_hand_queues_as_long_as_it_takes_but_not_past_the_count() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    policy = Backpressure(max_queued=3, max_wait=0.1, clock=clock)
    queue.push(ticket("a"))
    queue.push(ticket("b"))
    clock.now += 60  # a long stall: a webhook is refused, a start through the API still queues
    assert policy.verdict(queue, free_runners=0) is not None
    assert policy.verdict(queue, free_runners=0, may_queue=True) is None
    queue.push(ticket("c"))
    assert policy.verdict(queue, free_runners=0, may_queue=True) is not None


def test_a_standing_loop_lag_refuses_webhooks_even_with_runners_free_but_a_spike_does_not() -> None:
    clock = Clock()
    policy = Backpressure(max_queued=1000, max_wait=0.1, clock=clock)
    queue = AdmissionQueue(clock=clock)
    lag = LoopLag(window=3)
    for late in (0.0, 0.9, 0.0):  # one slow callback
        lag.sample(late)
    assert lag.standing() == 0.0
    assert policy.verdict(queue, free_runners=8, lag=lag.standing()) is None
    for late in (0.2, 0.15, 0.3):  # the loop saturated
        lag.sample(late)
    assert lag.standing() == 0.15
    refused = policy.verdict(queue, free_runners=8, lag=lag.standing())
    assert refused is not None and refused.retry_after == 1
    assert "150 ms behind" in refused.message
    assert policy.verdict(queue, free_runners=8, lag=lag.standing(), may_queue=True) is None


def test_those_turned_away_together_are_told_to_come_back_a_few_seconds_work_at_a_time() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    policy = Backpressure(max_queued=100_000, max_wait=1.0, clock=clock)
    for i in range(102):
        queue.push(ticket(f"s{i}"))
    clock.now += 0.01
    queue.pop(anyone)  # a pace of 1/100 s, and 101 queued: 1.01 s, past the limit
    told = Counter(refused.retry_after for _ in range(1000) if (refused := policy.verdict(queue, free_runners=0)))
    # Each second the queue drains 100, and the plan sends back RETURN_OPTIMISM times that (a pace measured
    # too slow would leave runners idle; one too fast only has a few turned away again).
    per_second = round(100 * RETURN_OPTIMISM)
    assert told == {1: per_second - 2, 2: per_second, 3: per_second, 4: 1000 - 3 * per_second + 2}
    assert len(policy.returns) == 1000
    for i in range(250):  # 2.5 s at the same pace, as many arriving as leaving
        clock.now += 0.01
        queue.push(ticket(f"new{i}"))
        queue.pop(anyone)
    assert len(policy.returns) == told[3] + told[4]  # those whose time has come are not counted any more
    later = policy.verdict(queue, free_runners=0)
    assert later is not None and later.retry_after == 2  # behind the 300 due in 0.5 s and the 102 in 1.5 s


def test_a_refusal_by_count_is_planned_the_same_way() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    policy = Backpressure(max_queued=2, max_wait=1.0, clock=clock)
    queue.push(ticket("a"))
    queue.push(ticket("b"))
    first = policy.verdict(queue, free_runners=0)
    assert first is not None and first.retry_after == 1 and "2 sessions wait for a runner" in first.message
