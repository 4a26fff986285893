"""Synchronous code over a networked database, without blocking the event loop.

The services and the engine call the store synchronously: a session's step, a webhook's writes and their
group commit are plain calls between two awaits, and that is what keeps them simple and fast over SQLite
(a local file, microseconds a statement). A database across the network costs a round trip a statement,
and a commit PostgreSQL makes durable costs its fsync. Run on the event loop, every round trip would stop
every request and every session of the server.

So, where the store is networked, the code runs as it is written but on greenlets: each task's coroutine
is stepped inside a greenlet of its own (`drive`, installed as the loop's task factory by `enable`), and a
callback the loop runs (a flush, a timer) in one too (`bridged`). When the store must wait for the
database, it hands the wait to the loop (`wait_for`): the greenlet is set aside, the loop goes on with
everything else, and the greenlet resumes, inside the same synchronous call, once the answer is there.
This is how SQLAlchemy runs its synchronous ORM over asyncio drivers; no caller changes.

What the greenlets do not change: code between two awaits still runs as one piece for everything that
does not touch the store. Code that touches it is held to one writer at a time by the store itself (the
PostgreSQL store's unit lock), so a write block never interleaves with another's.

Over SQLite nothing here is switched on: `bridged` hands back the callback itself, and no task is driven.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar

import greenlet

T = TypeVar("T")

_enabled = False


class NotBridged(RuntimeError):
    """A networked store was asked to wait outside a greenlet the loop can set aside (a bug of ours: the
    callback or task that called it was not made by `bridged` or under `enable`)."""


class _Bridged(greenlet.greenlet):
    """A greenlet whose parent awaits what it hands over (`wait_for`)."""


def in_bridge() -> bool:
    """Whether the running code may wait for the database without blocking the loop."""
    return isinstance(greenlet.getcurrent(), _Bridged)


def wait_for(awaitable: Awaitable[T]) -> T:
    """Wait, from synchronous code, for `awaitable`: the loop goes on meanwhile. Only in a bridge."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Bridged):
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # never to be awaited
        raise NotBridged("a wait for the database outside a bridged task or callback")
    parent = current.parent
    assert parent is not None  # a bridged greenlet always has the one that drives it
    result: T = parent.switch(awaitable)
    return result


def _step(coro: Coroutine[Any, Any, Any], value: Any, error: BaseException | None) -> tuple[str, Any]:
    try:
        out = coro.send(value) if error is None else coro.throw(error)
    except StopIteration as stop:
        return ("return", stop.value)
    except BaseException as err:
        return ("raise", err)
    return ("yield", out)


@types.coroutine
def drive(coro: Coroutine[Any, Any, T]) -> Generator[Any, Any, T]:
    """Run `coro` with each of its steps in a bridged greenlet, awaiting what its synchronous code hands
    over (`wait_for`) before the step goes on. What `coro` yields (its own awaits) goes to the loop as is."""
    if in_bridge():  # already driven (a task started under `enable`): its greenlets carry the waits
        return (yield from coro.__await__())
    context = contextvars.copy_context()  # one context for every step, as a task has
    value: Any = None
    error: BaseException | None = None
    while True:
        step = _Bridged(_step)
        step.gr_context = context
        step.parent = greenlet.getcurrent()
        out = step.switch(coro, value, error)
        while not step.dead:  # the step waits for the database: await it here, then let it go on
            try:
                answer = yield from _awaited(out)
            except BaseException as err:
                step.parent = greenlet.getcurrent()  # this resumes in another greenlet than the one it began in
                out = step.throw(err)
            else:
                step.parent = greenlet.getcurrent()
                out = step.switch(answer)
        kind, payload = out
        if kind == "return":
            return payload  # type: ignore[no-any-return]
        if kind == "raise":
            raise payload
        try:
            value, error = (yield payload), None
        except BaseException as err:  # a cancellation, say: it goes into the coroutine at its await
            value, error = None, err


def _awaited(awaitable: Awaitable[Any]) -> Generator[Any, Any, Any]:
    return (yield from awaitable.__await__())


async def _driven(coro: Coroutine[Any, Any, T]) -> T:
    return await drive(coro)


def bridged(callback: Callable[..., None]) -> Callable[..., None]:
    """`callback` as the loop should call it: in a bridged greenlet, so that a wait for the database sets it
    aside (a task carries it on) instead of blocking the loop. The callback itself where nothing is networked."""
    if not _enabled:
        return callback

    def run(*args: Any) -> None:
        step = _Bridged(callback)
        step.gr_context = contextvars.copy_context()  # the context the loop runs the callback in
        step.parent = greenlet.getcurrent()
        out = step.switch(*args)
        if not step.dead:
            asyncio.get_running_loop().create_task(_carry_on(step, out))

    return run


async def _carry_on(step: greenlet.greenlet, out: Any) -> None:
    """Await each wait a set-aside callback hands over, and let it go on, until it ends."""
    while not step.dead:
        try:
            answer = await out
        except BaseException as err:
            step.parent = greenlet.getcurrent()  # a driven task resumes in a greenlet of its step's own
            out = step.throw(err)
        else:
            step.parent = greenlet.getcurrent()
            out = step.switch(answer)


def _task_factory(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], *, context: contextvars.Context | None = None
) -> asyncio.Task[Any]:
    return asyncio.Task(_driven(coro), loop=loop, context=context)


def enable(loop: asyncio.AbstractEventLoop) -> None:
    """From now on, every task of `loop` and every `bridged` callback may wait for the database."""
    global _enabled
    _enabled = True
    loop.set_task_factory(_task_factory)  # type: ignore[arg-type]


def disable(loop: asyncio.AbstractEventLoop) -> None:
    global _enabled
    _enabled = False
    loop.set_task_factory(None)
