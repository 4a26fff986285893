"""Which shapes of sessions get warm runners, and for how long.

A *shape* is what a runner is primed with (`wire.Prime`): a deployment's entry module, its environment,
its sandbox and limits. The first session of a shape starts cold and asks for a shape zygote to be made;
later sessions of that shape fork from it, with the project imported already. A shape nobody has started
a session of for `idle_seconds` is closed (idle pools shrink to nothing); at most `max_shapes` are kept
(the least recently used idle one makes room), and none is made while the machine is short of memory. A
shape whose module cannot be imported without a session (it calls the SDK at import, say) stays cold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from purrflow.wire import Prime

log = logging.getLogger("purrflow.orchestrators.warm")


class ShapeZygote(Protocol):
    """A zygote primed for one shape (the launcher's)."""

    @property
    def alive(self) -> bool: ...
    @property
    def running(self) -> int:
        """Its runners that have not ended."""
        ...

    async def close(self) -> None: ...


Z = TypeVar("Z", bound=ShapeZygote)


@dataclass(frozen=True)
class WarmPolicy:
    """How many shapes may be kept warm, for how long, and with how much memory left on the machine."""

    max_shapes: int = 16
    idle_seconds: float = 120.0
    #: No new shape zygote while the machine has less memory available than this.
    min_available_bytes: int = 512 * 1024 * 1024
    #: A shape whose zygote died this often is not made warm again.
    max_deaths: int = 3

    @property
    def enabled(self) -> bool:
        return self.max_shapes > 0


@dataclass
class _Shape(Generic[Z]):
    zygote: Z | None = None  # None while it is being primed
    last_used: float = 0.0
    making: asyncio.Task[None] | None = None
    deaths: int = 0


@dataclass
class WarmShapes(Generic[Z]):
    """The shape zygotes of one launcher."""

    make: Callable[[Prime], Awaitable[Z | None]]
    policy: WarmPolicy
    clock: Callable[[], float] = time.monotonic
    available_memory: Callable[[], int | None] = field(default=lambda: available_memory())
    _shapes: dict[tuple[object, ...], _Shape[Z]] = field(default_factory=dict)
    #: Shapes that cannot be primed (bounded: forgotten wholesale when full).
    _cold: set[tuple[object, ...]] = field(default_factory=set)
    _sweeper: asyncio.TimerHandle | None = None

    def take(self, prime: Prime) -> Z | None:
        """The ready zygote of this shape; None (and one is being made, if it may) when there is none."""
        if not self.policy.enabled or prime.entry_file is None:
            return None
        key = prime.key()
        shape = self._shapes.get(key)
        now = self.clock()
        if shape is None:
            if key not in self._cold and self._room():
                shape = self._shapes[key] = _Shape[Z](last_used=now)
                shape.making = asyncio.get_running_loop().create_task(self._prime(key, shape, prime))
                self._arm_sweeper()
            return None
        shape.last_used = now
        if shape.zygote is not None and not shape.zygote.alive:
            shape.deaths += 1
            shape.zygote = None
            if shape.deaths >= self.policy.max_deaths:
                self._forget(key, cold=True)
            elif shape.making is None:
                shape.making = asyncio.get_running_loop().create_task(self._prime(key, shape, prime))
        return shape.zygote

    async def discard(self, zygote: Z) -> None:
        """A zygote that failed to hand out a runner: close it; its shape is made again next time."""
        for shape in self._shapes.values():
            if shape.zygote is zygote:
                shape.zygote = None
                shape.deaths += 1
        await zygote.close()

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for key in list(self._shapes):
            shape = self._shapes.pop(key)
            if shape.making is not None:
                shape.making.cancel()
            if shape.zygote is not None:
                await shape.zygote.close()

    @property
    def warm(self) -> int:
        """Shapes with a zygote ready."""
        return sum(1 for shape in self._shapes.values() if shape.zygote is not None and shape.zygote.alive)

    # -- internals ---------------------------------------------------------------------------------
    async def _prime(self, key: tuple[object, ...], shape: _Shape[Z], prime: Prime) -> None:
        try:
            zygote = await self.make(prime)
        except Exception as err:  # no zygote now (the machine is short of processes): cold for a while
            log.warning("could not make a warm zygote for %s: %s", prime.project_dir, err)
            zygote = None
        finally:
            shape.making = None
        if self._shapes.get(key) is not shape:  # closed or forgotten meanwhile
            if zygote is not None:
                await zygote.close()
            return
        if zygote is None:
            log.info("sessions of %s start cold: its %s cannot be imported before a session starts",
                     prime.project_dir, prime.entry_file)  # fmt: skip
            self._forget(key, cold=True)
            return
        shape.zygote = zygote

    def _room(self) -> bool:
        """Whether one more shape may be made: under the cap (an idle one makes way), memory to spare."""
        available = self.available_memory()
        if available is not None and available < self.policy.min_available_bytes:
            return False
        if len(self._shapes) < self.policy.max_shapes:
            return True
        idle = [(shape.last_used, key) for key, shape in self._shapes.items() if _idle(shape)]
        if not idle:
            return False
        self._forget(min(idle)[1])
        return True

    def _forget(self, key: tuple[object, ...], *, cold: bool = False) -> None:
        shape = self._shapes.pop(key, None)
        if cold:
            if len(self._cold) >= 1000:
                self._cold.clear()
            self._cold.add(key)
        if shape is not None and shape.zygote is not None:
            asyncio.get_running_loop().create_task(shape.zygote.close())

    def _arm_sweeper(self) -> None:
        if self._sweeper is None and self._shapes:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(max(1.0, self.policy.idle_seconds / 4), self._sweep)

    def _sweep(self) -> None:
        """Close the shapes idle for longer than the policy keeps them."""
        self._sweeper = None
        now = self.clock()
        for key, shape in list(self._shapes.items()):
            if _idle(shape) and now - shape.last_used > self.policy.idle_seconds:
                self._forget(key)
        self._arm_sweeper()


def _idle(shape: _Shape[Z]) -> bool:
    """Not being made, and none of its runners running."""
    return shape.making is None and (shape.zygote is None or shape.zygote.running == 0)


def available_memory() -> int | None:
    """The machine's available memory in bytes (Linux's estimate), or None where it is not known."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None
