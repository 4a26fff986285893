"""What a webhook session costs the database: its statements and commits, counted on the real platform
(a SQLite file, runners from the zygote), held to upper bounds so that a change that adds work shows."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from purrflow.engine.logs import SessionEnded
from purrflow.engine.webhooks import WebhookRequest
from purrflow.platform import Platform, PlatformConfig, build_platform
from purrflow.store import Trigger
from purrflow.store.sqlite import SQLiteStore

MANIFEST = b"""
version: v1
project:
  name: writes
  triggers:
    - name: hook
      type: webhook
      call: program.py:main
"""
PROGRAM = b"def main(event):\n    return event.data.body.json['n']\n"
SESSIONS = 10
#: Statements from a webhook's arrival to its event and session committed: the project, a savepoint
#: around the event and the session, both inserts, and the transaction's BEGIN and COMMIT.
FRONT_STATEMENTS = 7
#: Statements for a whole empty session, the front included: 23 today (32 before triggers were cached per
#: slug and the event's writes shared one savepoint), with room for a step or two of the driver's. Commits:
#: the front's, and the end's (the runner's start joins one or the other, or has one of its own).
SESSION_STATEMENTS = 26
SESSION_COMMITS = 3


class Counted:
    """The platform over a fresh data folder, every statement its store runs counted by kind."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.platform: Platform = self.loop.run_until_complete(self._build(tmp))
        store = self.platform._store  # the statements of this very store are what is counted
        assert isinstance(store, SQLiteStore)
        self.store = store
        self.statements: list[str] = []
        self.counting = False
        store.trace(self._count)

    async def _build(self, tmp: Path) -> Platform:
        platform = build_platform(PlatformConfig(data_dir=tmp))
        await platform.start()
        member = platform.identity.found_team("team", "person")
        deployed = platform.projects.deploy(
            member.team.id, {"purrflow.yaml": MANIFEST, "program.py": PROGRAM}, owner_id=member.user.id
        )
        await platform.committed()
        self.trigger: Trigger = deployed.triggers[0]
        return platform

    def _count(self, statement: str) -> None:
        if self.counting:
            self.statements.append(" ".join(statement.split()[:3]))

    def webhook(self, n: int) -> tuple[Counter[str], Counter[str], int]:
        """One webhook session from its request to its end: the statements until its event and session
        are committed, those of the whole session, and its commits."""
        return self.loop.run_until_complete(self._webhook(n))

    async def _webhook(self, n: int) -> tuple[Counter[str], Counter[str], int]:
        platform = self.platform
        request = WebhookRequest("POST", f"/webhooks/{self.trigger.slug}", "", [], f'{{"n": {n}}}'.encode())
        commits = platform.health().commits
        self.statements.clear()
        self.counting = True
        trigger = platform.triggers.by_slug(self.trigger.slug)
        assert trigger is not None
        with platform.admission():
            _, session_id = platform.events.receive_webhook(trigger, request)
        assert session_id is not None
        ends = platform.sessions.watch_all()  # before the commit that hands the session to the orchestrator
        async with asyncio.timeout(60):
            while True:
                ended_id, item = await ends.get()
                if ended_id == session_id and isinstance(item, SessionEnded):
                    break
        self.counting = False
        assert item.state == "completed"
        front = self.statements[: self.statements.index("COMMIT") + 1]  # up to the first commit
        return Counter(front), Counter(self.statements), platform.health().commits - commits

    def close(self) -> None:
        self.store.trace(None)
        self.loop.run_until_complete(self.platform.close())
        self.loop.close()


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[Counted]:
    platform = Counted(tmp_path)
    try:
        yield platform
    finally:
        platform.close()


def test_a_webhook_session_stays_within_its_statements_and_commits(counted: Counted) -> None:
    counted.webhook(0)  # the first also reads what every later one finds cached
    for n in range(1, SESSIONS + 1):
        front, whole, commits = counted.webhook(n)
        assert sum(front.values()) <= FRONT_STATEMENTS, front
        assert front["COMMIT"] == 1, front  # the event and the session it starts: one commit, one fsync
        assert not [s for s in front if "triggers" in s], front  # the trigger comes from the cache
        assert sum(whole.values()) <= SESSION_STATEMENTS, whole
        assert commits <= SESSION_COMMITS, whole
