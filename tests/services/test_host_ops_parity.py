"""The server's host operations and the SDK's local stand-in keep the same limits, with the same words.

The server side is the real one: services over a SQLite file, bound to a session of a deployed project
(no runner is started: the operations are performed directly, as the driver does).
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from purrflow.engine.secretbox import SecretBox
from purrflow.errors import PurrflowError
from purrflow.platform import Platform, PlatformConfig, build_platform
from purrflow.sdk._runtime import LocalRuntime
from purrflow.services.host_ops import HostServices, SessionOps
from purrflow.store import open_store
from purrflow.wire import (
    AddValues,
    CheckAndSetValue,
    ConfigDelete,
    ConfigGet,
    ConfigSet,
    DelValue,
    GetValue,
    HostOp,
    HostOps,
    QueryEvents,
    SecretExists,
    SecretGet,
    SecretSet,
    SetValue,
    Track,
)

MANIFEST = b"""
version: v1
project:
  name: local
  triggers:
    - name: go
      type: webhook
      call: program.py:main
"""
BIG = b"x" * (64 * 1024 + 1)


class Sides:
    """Both implementations, each performing an op inside a write batch on one event loop."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.platform = self.loop.run_until_complete(self._build(tmp))
        self.local = LocalRuntime()

    async def _build(self, tmp: Path) -> Platform:
        platform = build_platform(PlatformConfig(data_dir=tmp, durability="normal", runner="spawn"))
        member = platform.identity.found_team("team", "person")
        files = {"purrflow.yaml": MANIFEST, "program.py": b"def main(event):\n    pass\n"}
        deployed = platform.projects.deploy(member.team.id, files, owner_id=member.user.id)
        assert deployed.project.deployment_id is not None
        await platform.committed()
        beside = open_store(tmp / "purrflow.db", durability="normal", cipher=SecretBox.load(tmp).data_cipher())
        session_id = beside.create_session(  # recorded only: no orchestrator drives it here
            project_id=deployed.project.id,
            deployment_id=deployed.project.deployment_id,
            entrypoint="program.py:main",
            event={},
        )
        beside.close()
        session = platform.sessions.lookup(session_id)
        assert session is not None
        services = HostServices(
            sessions=platform.sessions,
            events=platform.events,
            values=platform.values,
            config=platform.config,
            secrets=platform.secrets,
            identity=platform.identity,
            analytics=platform.analytics,
        )
        self.server: HostOps = SessionOps(services, session, member.team.id)
        return platform

    def perform(self, host: HostOps, op: HostOp[Any]) -> Any:
        async def run() -> Any:
            result = op.perform(host)
            await self.platform.committed()
            return result

        return self.loop.run_until_complete(run())

    def outcome(self, host: HostOps, op: HostOp[Any]) -> tuple[str, Any]:
        try:
            return "ok", self.perform(host, op)
        except PurrflowError as err:
            return type(err).__name__, (err.message, err.hint)

    def close(self) -> None:
        self.loop.run_until_complete(self.platform.close())
        self.loop.close()


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[Sides]:
    both = Sides(tmp_path)
    try:
        yield both
    finally:
        both.close()


REFUSED: list[HostOp[Any]] = [
    SetValue("", b"x"),
    SetValue("k" * 257, b"x"),
    SetValue("k", BIG),
    GetValue(""),
    DelValue("missing"),
    CheckAndSetValue("k", None, BIG),
    AddValues("k", pickle.dumps("three")),
    ConfigSet("no spaces", "v"),
    ConfigSet("k", 5),  # type: ignore[arg-type]
    ConfigSet("k", "v" * (64 * 1024 + 1)),
    ConfigGet("a/b"),
    ConfigDelete(""),
    SecretSet("a/b", "v"),
    SecretSet("k", 5),  # type: ignore[arg-type]
    SecretGet("no spaces"),
    SecretExists(""),
    Track("deploy", "deployment", {}),
    Track([], 5, {}),
    Track([], "e" * 201, None),
    Track([], "deployment", {"tags": 1}),
    Track([], "deployment", {"when": object()}),
    Track([], "deployment", {"blob": "x" * 70_000}),
    QueryEvents("yesterday", None),
    QueryEvents("2026-01-02", "2026-01-01"),
]


@pytest.mark.parametrize("op", REFUSED, ids=lambda op: f"{type(op).__name__}")
def test_the_same_mistake_is_refused_alike(sides: Sides, op: HostOp[Any]) -> None:
    server, local = sides.outcome(sides.server, op), sides.outcome(sides.local, op)
    assert server[0] != "ok", f"the server accepted {op}"
    assert server == local


def test_the_value_count_limit_is_the_same(sides: Sides) -> None:
    for host in (sides.server, sides.local):
        for i in range(64):
            sides.perform(host, SetValue(f"k{i}", pickle.dumps(i)))
    one_more = SetValue("one-more", b"x")
    assert sides.outcome(sides.server, one_more) == sides.outcome(sides.local, one_more)
    assert sides.outcome(sides.server, one_more)[0] == "ValueLimitError"


def test_accepted_calls_answer_alike(sides: Sides) -> None:
    calls: list[HostOp[Any]] = [
        SetValue("n", pickle.dumps(40)),
        AddValues("n", pickle.dumps(2)),
        GetValue("n"),
        CheckAndSetValue("n", pickle.dumps(41), pickle.dumps(0)),
        CheckAndSetValue("n", pickle.dumps(42), pickle.dumps(0)),
        DelValue("n"),
        GetValue("n"),
        ConfigSet("REGION", "eu"),
        ConfigGet("REGION"),
        ConfigDelete("REGION"),
        ConfigDelete("REGION"),
        SecretExists("TOKEN"),
        SecretSet("TOKEN", "s3cret"),
        SecretGet("TOKEN"),
        SecretGet("OTHER"),
    ]
    for op in calls:
        assert sides.outcome(sides.server, op) == sides.outcome(sides.local, op), op
