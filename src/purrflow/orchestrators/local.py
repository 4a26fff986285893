"""The `local` orchestrator: sessions driven by asyncio in this process, runners as its children.

`run_once` is `purr run`: one session of a project folder with no server, in a throw-away data folder,
its output handed to the caller line by line as it happens.
"""

from __future__ import annotations

import asyncio
import getpass
import math
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purrflow.engine.deploy import collect_files
from purrflow.engine.engine import Engine, EngineConfig
from purrflow.engine.logs import SessionEnded
from purrflow.errors import InvalidInputError, PurrflowError
from purrflow.orchestrators.runners import Launcher, SpawnLauncher, ZygoteLauncher
from purrflow.store import PromptRecord, SessionError, open_store


def make_launcher(kind: str) -> Launcher:
    return SpawnLauncher() if kind == "spawn" else ZygoteLauncher()


@dataclass(frozen=True)
class RunOutcome:
    session_id: str
    state: str
    result_repr: str
    failure: SessionError | None


async def run_once(
    project_dir: Path,
    entrypoint: str | None,
    data: dict[str, Any],
    *,
    on_log: Callable[[str, str], None],
    ask: Callable[[dict[str, Any]], Any] | None = None,
) -> RunOutcome:
    """One session of `project_dir`, output to `on_log`; prompts are answered by `ask` (the terminal)."""
    files = collect_files(project_dir)
    with tempfile.TemporaryDirectory(prefix="purr-run-") as tmp:
        store = open_store(Path(tmp) / "purrflow.db", durability="normal")
        config = EngineConfig(
            data_dir=Path(tmp),
            hot_wait_seconds=math.inf,
            interface="terminal",
            host_platform=platform.system().lower(),
        )
        engine = Engine(store, SpawnLauncher(), config)
        try:
            await engine.start()
            with engine.committer.write():
                team = store.create_team("local")
                user = store.create_user(team.id, getpass.getuser(), role="admin")
            deployed = engine.deploy(team.id, files, owner_id=user.id)
            if ask is not None:
                engine.prompts.on_prompt = _answer_with(engine, team.id, ask, on_log)
            calls = sorted({t.call for t in deployed.triggers if t.call})
            target = entrypoint or _only(calls)
            session_id = engine.create_session(deployed.project, target, data)
            queue = engine.logs.subscribe(session_id)
            await engine.committer.flushed()
            while True:
                item = await queue.get()
                if isinstance(item, SessionEnded):
                    break
                on_log(item.stream, item.text)
            session = engine.get_session(session_id)
            return RunOutcome(session.id, session.state, session.result_repr, session.error)
        finally:
            await engine.close()
            store.close()


def _answer_with(
    engine: Engine, team_id: str, ask: Callable[[dict[str, Any]], Any], on_log: Callable[[str, str], None]
) -> Callable[[PromptRecord], None]:
    """A prompt handler that asks `ask` (in a thread: it blocks on the keyboard) until the answer fits."""
    tasks: set[asyncio.Task[None]] = set()

    async def answer(prompt: PromptRecord) -> None:
        loop = asyncio.get_running_loop()
        while True:
            raw = await loop.run_in_executor(None, ask, prompt.spec)
            try:
                with engine.committer.write():
                    engine.prompts.answer(prompt.id, team_id, raw)
            except PurrflowError as err:
                on_log("system", err.message)
                continue
            await engine.committer.flushed()
            return

    def on_prompt(prompt: PromptRecord) -> None:
        task = asyncio.get_running_loop().create_task(answer(prompt))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return on_prompt


def _only(calls: list[str]) -> str:
    if len(calls) == 1:
        return calls[0]
    if not calls:
        raise InvalidInputError(
            "the project's triggers call no function, so there is nothing to run by default",
            hint="name one: purr run DIR file.py:function",
        )
    raise InvalidInputError(
        f"the project's triggers call {len(calls)} functions: {', '.join(calls)}",
        hint="name the one to run: purr run DIR file.py:function",
    )
