"""PostgreSQL's statements wait off the event loop (store/bridge.py), one unit holding the connection at a
time: a statement stuck on a lock another database session holds leaves the loop running, and another
writer's statements wait for the unit in flight instead of landing inside it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from postgres_cluster import Cluster
from purrflow.engine.commit import GroupCommitter
from purrflow.store import Store, bridge, open_store
from purrflow.store.postgres import TransactionAborted
from store_rows import waiting_on_locks


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Store]:
    store = open_store(postgres_url)
    yield store
    store.close()


def project_of(store: Store) -> tuple[str, str]:
    with store.transaction():
        team = store.create_team("t")
        return team.id, store.get_or_create_project(team.id, "p").id


async def stuck_on_the_lock(url: str) -> None:
    """Until a statement waits inside PostgreSQL for the table lock (at most 10 s)."""
    async with asyncio.timeout(10):
        while await asyncio.to_thread(waiting_on_locks, url) == 0:
            await asyncio.sleep(0.005)  # sleep-ok: polls the condition, bounded by the timeout


class TableLock:
    """Another database session holding `project_values` locked until `release` (a slow database)."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url)
        self._conn.execute("LOCK TABLE project_values IN ACCESS EXCLUSIVE MODE")

    def release(self) -> None:
        self._conn.commit()
        self._conn.close()


def test_a_statement_stuck_on_the_database_leaves_the_loop_running(
    loop: asyncio.AbstractEventLoop, pg_store: Store, postgres_url: str
) -> None:
    _, project_id = project_of(pg_store)
    lock = TableLock(postgres_url)
    ticks_while_stuck = 0

    def write() -> None:
        with pg_store.transaction():
            pg_store.set_value(project_id, "k", b"1")

    async def writer() -> None:
        write()

    async def main() -> None:
        nonlocal ticks_while_stuck
        stuck = loop.create_task(writer())
        while ticks_while_stuck < 50:  # the loop goes on: the writer waits in the database thread
            await asyncio.sleep(0.001)  # sleep-ok: each tick is the loop running while the writer is stuck
            ticks_while_stuck += 1
            assert not stuck.done()
        await asyncio.to_thread(lock.release)
        await asyncio.wait_for(stuck, 10)

    loop.run_until_complete(main())
    assert ticks_while_stuck == 50 and pg_store.get_value(project_id, "k") == b"1"


def test_another_writer_waits_for_the_unit_in_flight(
    loop: asyncio.AbstractEventLoop, pg_store: Store, postgres_url: str
) -> None:
    team_id, project_id = project_of(pg_store)
    lock = TableLock(postgres_url)
    ended: list[str] = []

    def slow_unit() -> None:
        with pg_store.transaction():
            pg_store.get_or_create_project(team_id, "first")
            pg_store.set_value(project_id, "k", b"1")  # stuck here until the lock goes
        ended.append("slow unit")

    def other_writer() -> None:
        with pg_store.transaction():
            pg_store.get_or_create_project(team_id, "second")
        ended.append("other writer")

    async def run(action: object) -> None:
        assert callable(action)
        action()

    async def main() -> None:
        first = loop.create_task(run(slow_unit))
        await stuck_on_the_lock(postgres_url)
        second = loop.create_task(run(other_writer))
        for _ in range(20):  # what is shown: the other writer does not end meanwhile
            await asyncio.sleep(0.001)  # sleep-ok: a bounded stretch in which nothing may happen
        assert ended == []  # the other writer waits: its statements would have landed in the slow unit
        await asyncio.to_thread(lock.release)
        await asyncio.wait_for(asyncio.gather(first, second), 10)

    loop.run_until_complete(main())
    assert ended == ["slow unit", "other writer"]
    assert {pg_store.get_project_by_name(team_id, name) is not None for name in ("first", "second")} == {True}


def test_a_call_that_cannot_wait_is_refused_while_a_unit_holds_the_database(
    loop: asyncio.AbstractEventLoop, pg_store: Store, postgres_url: str, tmp_path: Path
) -> None:
    team_id, project_id = project_of(pg_store)
    lock = TableLock(postgres_url)
    refused: list[BaseException] = []

    def unwrapped_callback() -> None:  # a loop callback not made by `bridged`: a bug it must name
        try:
            pg_store.get_project_by_name(team_id, "p")
        except bridge.NotBridged as err:
            refused.append(err)

    async def holder() -> None:
        with pg_store.transaction():
            pg_store.set_value(project_id, "k", b"1")

    async def main() -> None:
        held = loop.create_task(holder())
        await stuck_on_the_lock(postgres_url)
        loop.call_soon(unwrapped_callback)
        async with asyncio.timeout(10):
            while not refused:
                await asyncio.sleep(0.001)  # sleep-ok: polls the condition, bounded by the timeout
        await asyncio.to_thread(lock.release)
        await asyncio.wait_for(held, 10)

    loop.run_until_complete(main())
    assert len(refused) == 1 and "cannot wait" in str(refused[0])


def test_group_commit_acknowledges_each_write_after_its_commit_and_in_order(
    loop: asyncio.AbstractEventLoop, pg_store: Store, postgres_url: str
) -> None:
    _, project_id = project_of(pg_store)
    committer = GroupCommitter(pg_store)
    acknowledged: list[int] = []
    visible_when_acknowledged: list[bool] = []
    beside = psycopg.connect(postgres_url, autocommit=True)  # what another server would see

    def acknowledge(i: int) -> None:
        acknowledged.append(i)
        row = beside.execute(
            "SELECT COUNT(*) FROM project_values WHERE project_id = %s AND key = %s", (project_id, f"k{i}")
        ).fetchone()
        visible_when_acknowledged.append(row is not None and row[0] == 1)

    async def writer(i: int) -> None:
        with committer.write():
            pg_store.set_value(project_id, f"k{i}", b"v")
        committer.after_commit(lambda: acknowledge(i))
        await committer.flushed()

    async def main() -> None:
        tasks = []
        for i in range(30):  # each starts while the ones before wait for the database
            tasks.append(loop.create_task(writer(i)))
            await asyncio.sleep(0)  # sleep-ok: a turn of the loop, so that each writer starts before the next
        await asyncio.wait_for(asyncio.gather(*tasks), 20)

    loop.run_until_complete(main())
    beside.close()
    assert acknowledged == list(range(30))
    assert visible_when_acknowledged == [True] * 30


def test_a_database_restart_is_survived_and_a_transaction_it_cut_is_refused(
    pg_store: Store, postgres_cluster: Cluster
) -> None:
    _, project_id = project_of(pg_store)
    with pg_store.transaction():
        pg_store.set_value(project_id, "before", b"1")
    postgres_cluster.restart()
    assert pg_store.get_value(project_id, "before") == b"1"  # a statement of its own: on a new connection

    with pytest.raises(TransactionAborted), pg_store.transaction():
        pg_store.set_value(project_id, "cut", b"1")
        postgres_cluster.restart()  # its first write is gone with the old connection
        pg_store.set_value(project_id, "cut too", b"1")
    assert pg_store.get_value(project_id, "cut") is None and pg_store.get_value(project_id, "cut too") is None

    pg_store.begin()  # as a group commit's batch: the commit after the cut raises, and commits nothing
    pg_store.set_value(project_id, "batch", b"1")
    postgres_cluster.restart()
    with pytest.raises(TransactionAborted):
        pg_store.set_value(project_id, "batch too", b"1")
    with pytest.raises(TransactionAborted):
        pg_store.commit()
    assert pg_store.get_value(project_id, "batch") is None and pg_store.get_value(project_id, "batch too") is None
    with pg_store.transaction():  # and the store goes on
        pg_store.set_value(project_id, "after", b"1")
    assert pg_store.get_value(project_id, "after") == b"1"
