from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import Server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A real server on a free port with a fresh data folder; stopped after the test."""
    srv = Server(tmp_path / "data", extra_args=["--hot-wait", "0.5"]).start()
    try:
        yield srv
    finally:
        srv.stop()
