"""The order sessions get runners in: resumes first, teams in turn, a trigger's concurrency respected."""

from __future__ import annotations

from purrflow.engine.seams import Admission
from purrflow.orchestrators.admission import AdmissionQueue, Ticket, default_max_runners


def ticket(session: str, team: str, *, resume: bool = False, trigger: str | None = None) -> Ticket:
    admission = Admission(team, ("p", trigger) if trigger else None, 1 if trigger else None)
    return Ticket(session, admission, resume)


def drain(queue: AdmissionQueue, may_start: object = None) -> list[str]:
    order = []
    while (next_one := queue.pop(lambda t: may_start is None or t.admission.trigger is None)) is not None:
        order.append(next_one.session_id)
    return order


def test_a_burst_of_one_team_does_not_starve_another() -> None:
    queue = AdmissionQueue()
    for i in range(4):
        queue.push(ticket(f"a{i}", "alpha"))
    queue.push(ticket("b0", "beta"))
    queue.push(ticket("b1", "beta"))
    assert drain(queue) == ["a0", "b0", "a1", "b1", "a2", "a3"]


def test_sessions_under_way_go_first_and_each_session_is_queued_once() -> None:
    queue = AdmissionQueue()
    queue.push(ticket("new", "alpha"))
    queue.push(ticket("resumed", "beta", resume=True))
    queue.push(ticket("new", "alpha"))
    assert len(queue) == 2
    assert drain(queue) == ["resumed", "new"]


def test_a_session_held_by_its_triggers_concurrency_does_not_hold_up_its_team() -> None:
    queue = AdmissionQueue()
    queue.push(ticket("limited", "alpha", trigger="single"))
    queue.push(ticket("free", "alpha"))
    assert drain(queue, may_start="only untriggered") == ["free"]
    assert "limited" in queue
    queue.discard("limited")
    assert len(queue) == 0 and queue.pop(lambda t: True) is None


def test_tickets_pushed_or_discarded_while_a_check_waits_for_the_database_leave_the_queue_whole() -> None:
    """Over PostgreSQL, the concurrency check waits for the database, and the loop runs meanwhile: a new
    stretch's session is pushed, a stopped one discarded."""
    queue = AdmissionQueue()
    queue.push(ticket("held", "alpha", trigger="single"))
    queue.push(ticket("stopped", "alpha", trigger="single"))
    queue.push(ticket("next", "alpha"))

    def may_start(checked: Ticket) -> bool:
        if checked.session_id == "held":  # the database answers late: meanwhile the loop went on
            queue.push(ticket("arrived", "alpha"))
            queue.push(ticket("other team", "beta"))
            return False
        if checked.session_id == "stopped":
            queue.discard("stopped")
            return True
        return True

    first = queue.pop(may_start)
    assert first is not None and first.session_id == "next"  # (the discarded one is not taken)
    taken = {queue.pop(lambda t: t.admission.trigger is None).session_id for _ in range(2)}  # type: ignore[union-attr]
    assert taken == {"arrived", "other team"}
    assert "held" in queue and len(queue) == 1


def test_the_default_runner_limit_follows_descriptors_and_memory() -> None:
    assert default_max_runners(1024, memory_bytes=64 << 30) == (1024 - 256) // 2
    assert default_max_runners(1 << 20, memory_bytes=2 << 30) == 32
    assert default_max_runners(100, memory_bytes=1 << 30) == 4
