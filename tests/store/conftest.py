"""Every store test runs against each dialect: a SQLite file, and a database of the run's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from purrflow.engine.secretbox import SecretBox
from purrflow.store import Store, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    where: Path | str = tmp_path / "purrflow.db"
    if request.param == "postgres":
        where = request.getfixturevalue("postgres_url")
    opened = open_store(where, cipher=SecretBox.load(tmp_path).data_cipher())
    yield opened
    opened.close()
