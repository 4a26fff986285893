"""The bridge: synchronous code that waits for the database hands the wait to the loop, which goes on."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from purrflow.store import bridge

WHO = contextvars.ContextVar("who", default="nobody")


waiting = [0, 0]  # now, at most


def lookup(key: str, delay: float) -> str:
    """Synchronous, as a store call is; its wait goes to the loop."""
    waiting[0] += 1
    waiting[1] = max(waiting)
    try:
        answer = asyncio.sleep(delay, result=f"{WHO.get()}:{key}")  # sleep-ok: the database's answer
        return bridge.wait_for(answer)
    finally:
        waiting[0] -= 1


def test_synchronous_waits_in_many_tasks_overlap_and_keep_each_tasks_context(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def handler(name: str) -> tuple[str, str]:
        WHO.set(name)
        first = lookup("a", 0.2)
        await asyncio.sleep(0)  # sleep-ok: the task's own awaits go to the loop as they are
        return first, lookup("b", 0.2)

    async def main() -> list[tuple[str, str]]:
        return await asyncio.gather(*(loop.create_task(handler(f"h{i}")) for i in range(20)))

    waiting[:] = [0, 0]
    results = loop.run_until_complete(main())
    assert results == [(f"h{i}:a", f"h{i}:b") for i in range(20)]
    assert waiting == [0, 20]  # every task waited at once: none blocked the loop for the others


def test_a_failed_wait_raises_in_the_synchronous_code_and_a_cancel_reaches_it(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def refused() -> None:
        raise LookupError("no such row")

    def caught() -> str:
        try:
            bridge.wait_for(refused())
        except LookupError as err:
            return f"caught {err}"
        return "not raised"

    async def handler() -> str:
        return caught()

    assert loop.run_until_complete(loop.create_task(handler())) == "caught no such row"

    entered = asyncio.Event()
    cleaned: list[str] = []

    def stuck() -> None:
        try:
            loop.call_soon(entered.set)
            bridge.wait_for(asyncio.sleep(60))  # sleep-ok: a wait that never ends, to be cancelled
        finally:
            cleaned.append("finally ran")

    async def stuck_handler() -> None:
        stuck()

    async def cancel_it() -> None:
        task = loop.create_task(stuck_handler())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    loop.run_until_complete(cancel_it())
    assert cleaned == ["finally ran"]


def test_a_bridged_callback_that_waits_is_carried_on_by_a_task(loop: asyncio.AbstractEventLoop) -> None:
    done: list[str] = []

    def fire(key: str) -> None:
        done.append(lookup(key, 0.05))

    async def main() -> None:
        loop.call_soon(bridge.bridged(fire), "k")
        ticks = 0
        while not done:  # the loop runs on while the callback waits
            ticks += 1
            await asyncio.sleep(0.001)  # sleep-ok: each tick is the loop running while the callback waits
        assert ticks > 5

    loop.run_until_complete(asyncio.wait_for(main(), 5))
    assert done == ["nobody:k"]


def test_a_wait_outside_any_bridge_is_refused() -> None:
    with pytest.raises(bridge.NotBridged):
        lookup("x", 0)


def test_without_a_networked_store_nothing_is_wrapped() -> None:
    def callback() -> None: ...

    assert bridge.bridged(callback) is callback
