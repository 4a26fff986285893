from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import helpers
from helpers import Server
from postgres_cluster import Cluster


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the store every test server uses: its data folder's SQLite, or a database of the run's PostgreSQL",
    )


@pytest.fixture(scope="session", autouse=True)
def servers_store(request: pytest.FixtureRequest) -> Iterator[None]:
    """With `--store postgres`, every `Server` gets a database of the run's PostgreSQL cluster."""
    if request.config.getoption("--store") != "postgres":
        yield
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    helpers.new_database = cluster.new_database
    try:
        yield
    finally:
        helpers.new_database = None


def pytest_report_header(config: pytest.Config) -> str:
    return f"purrflow servers' store: {config.getoption('--store')}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A real server on a free port with a fresh data folder; stopped after the test."""
    srv = Server(tmp_path / "data", extra_args=["--hot-wait", "0.5"]).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of the test run's own, on 127.0.0.1 (skips, naming why, where none is installed)."""
    try:
        cluster = Cluster.start()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; dropped after it."""
    url = postgres_cluster.new_database()
    yield url
    postgres_cluster.drop_database(url)
