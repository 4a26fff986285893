"""Which shapes get warm zygotes, for how long."""

from __future__ import annotations

import asyncio

from purrflow.orchestrators.warm import WarmPolicy, WarmShapes
from purrflow.wire import Prime


class Zygote:
    def __init__(self) -> None:
        self.alive = True
        self.running = 0

    async def close(self) -> None:
        self.alive = False


def prime(deployment: str, entry: str | None = "program.py", **env: str) -> Prime:
    return Prime(project_dir=f"/data/deployments/{deployment}", entry_file=entry, env=env)


class Shapes:
    """WarmShapes over zygotes that prime at once (or fail to, for the deployments in `unprimable`)."""

    def __init__(self, policy: WarmPolicy, unprimable: tuple[str, ...] = ()) -> None:
        self.now = 0.0
        self.made: list[Prime] = []
        self.unprimable = unprimable

        async def make(p: Prime) -> Zygote | None:
            self.made.append(p)
            return None if any(p.project_dir.endswith(d) for d in self.unprimable) else Zygote()

        self.warm = WarmShapes(make, policy, clock=lambda: self.now, available_memory=lambda: 1 << 40)

    async def take(self, p: Prime) -> Zygote | None:
        found = self.warm.take(p)
        await asyncio.sleep(0)  # sleep-ok: one turn of the loop, in which the zygote being made is made
        return found


def test_the_first_session_of_a_shape_makes_its_zygote_and_the_next_one_uses_it() -> None:
    async def scenario() -> None:
        shapes = Shapes(WarmPolicy())
        assert await shapes.take(prime("d1")) is None  # cold: one is being made
        zygote = await shapes.take(prime("d1"))
        assert zygote is not None and await shapes.take(prime("d1")) is zygote
        assert await shapes.take(prime("d1", COLOR="teal")) is None, "another environment is another shape"
        assert await shapes.take(prime("d1", entry=None)) is None and len(shapes.made) == 2  # ops: never warm
        await shapes.warm.close()
        assert not zygote.alive

    asyncio.run(scenario())


def test_a_shape_that_cannot_be_primed_stays_cold() -> None:
    async def scenario() -> None:
        shapes = Shapes(WarmPolicy(), unprimable=("needy",))
        for _ in range(3):
            assert await shapes.take(prime("needy")) is None
        assert len(shapes.made) == 1, "tried once"

    asyncio.run(scenario())


def test_at_most_max_shapes_the_least_recently_used_idle_one_making_room() -> None:
    async def scenario() -> None:
        shapes = Shapes(WarmPolicy(max_shapes=2))
        for name in ("a", "b"):
            await shapes.take(prime(name))
            shapes.now += 1
        a, b = await shapes.take(prime("a")), await shapes.take(prime("b"))
        assert a is not None and b is not None
        shapes.now += 1
        a.running = 1  # a has a runner at work: it is not idle, so b makes room
        await shapes.take(prime("c"))
        await asyncio.sleep(0)  # sleep-ok: one turn of the loop, in which b is closed
        assert a.alive and not b.alive and await shapes.take(prime("c")) is not None
        await shapes.warm.close()

    asyncio.run(scenario())


def test_no_shape_is_made_while_memory_is_short_or_when_turned_off() -> None:
    async def scenario() -> None:
        made: list[Prime] = []

        async def make(p: Prime) -> Zygote:
            made.append(p)
            return Zygote()

        short = WarmShapes(make, WarmPolicy(), available_memory=lambda: 1 << 20)
        off = WarmShapes(make, WarmPolicy(max_shapes=0))
        for warm in (short, off):
            warm.take(prime("a"))
            await asyncio.sleep(0)  # sleep-ok: one turn of the loop, in which a zygote would be made
            assert warm.take(prime("a")) is None
        assert made == []

    asyncio.run(scenario())


def test_idle_shapes_shrink_to_nothing() -> None:
    async def scenario() -> None:
        shapes = Shapes(WarmPolicy(idle_seconds=1.0))
        await shapes.take(prime("a"))
        zygote = await shapes.take(prime("a"))
        assert zygote is not None
        shapes.now += 0.5
        await asyncio.sleep(1.1)  # sleep-ok: the sweeper's own period (a quarter of idle_seconds, at least 1 s)
        assert zygote.alive, "used within idle_seconds"
        shapes.now += 2
        await asyncio.sleep(1.1)  # sleep-ok: the next sweep
        assert not zygote.alive and shapes.warm.warm == 0

    asyncio.run(scenario())
