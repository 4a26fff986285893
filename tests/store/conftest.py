"""Every store test runs against each dialect: a SQLite file, and a database of the run's PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from purrflow.engine.secretbox import SecretBox
from purrflow.store import Store, bridge, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    where: Path | str = tmp_path / "purrflow.db"
    if request.param == "postgres":
        where = request.getfixturevalue("postgres_url")
    opened = open_store(where, cipher=SecretBox.load(tmp_path).data_cipher())
    yield opened
    opened.close()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop whose tasks may wait for a networked store (store/bridge.py), as a server's do."""
    loop = asyncio.new_event_loop()
    bridge.enable(loop)
    try:
        yield loop
    finally:
        bridge.disable(loop)
        loop.close()
