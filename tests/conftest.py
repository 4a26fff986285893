from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import helpers
from helpers import Server
from postgres_cluster import Cluster
from temporal_server import TemporalServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the store every test server uses: its data folder's SQLite, or a database of the run's PostgreSQL",
    )
    parser.addoption(
        "--orchestrator",
        choices=("local", "temporal"),
        default="local",
        help="what drives every test server's sessions: the server itself, or the run's Temporal dev server"
        " (scaled mode: implies --store postgres)",
    )


def _scaled(config: pytest.Config) -> bool:
    return bool(config.getoption("--orchestrator") == "temporal")


@pytest.fixture(scope="session", autouse=True)
def servers_store(request: pytest.FixtureRequest) -> Iterator[None]:
    """With `--store postgres`, every `Server` gets a database of the run's PostgreSQL cluster; scaled, its
    sessions are Temporal workflows of the run's Temporal dev server too."""
    scaled = _scaled(request.config)
    if request.config.getoption("--store") != "postgres" and not scaled:
        yield
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    helpers.new_database = cluster.new_database
    if scaled:
        helpers.temporal_address = request.getfixturevalue("temporal_server").address
    try:
        yield
    finally:
        helpers.new_database = None
        helpers.temporal_address = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Scaled, a test of what only the local orchestrator does (marked `local_orchestrator`) is skipped, and
    so is one that does the same whatever the run's mode (`runs_once`): the first run ran it already."""
    if not _scaled(config):
        return
    for item in items:
        marker = item.get_closest_marker("local_orchestrator")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"local orchestrator only: {marker.args[0]}"))
        marker = item.get_closest_marker("runs_once")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"the same in either mode: {marker.args[0]}"))


def pytest_report_header(config: pytest.Config) -> str:
    store = "postgres" if _scaled(config) else config.getoption("--store")
    return f"purrflow servers' store: {store}, orchestrator: {config.getoption('--orchestrator')}"


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


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[TemporalServer]:
    """A Temporal dev server of the test run's own, on 127.0.0.1 (skips, naming why, where none is installed)."""
    try:
        server = TemporalServer.start()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    try:
        yield server
    finally:
        server.stop()
