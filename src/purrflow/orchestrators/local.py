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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purrflow.engine.deploy import check_entrypoint, collect_files
from purrflow.engine.engine import Engine, EngineConfig
from purrflow.engine.logs import SessionEnded
from purrflow.engine.secrets import check_secret_key
from purrflow.engine.team_config import check_config
from purrflow.errors import InvalidInputError, PurrflowError
from purrflow.manifest import project_name_for
from purrflow.orchestrators.runners import Launcher, SpawnLauncher, ZygoteLauncher
from purrflow.store import PromptRecord, SessionError, open_store


def make_launcher(kind: str) -> Launcher:
    return SpawnLauncher() if kind == "spawn" else ZygoteLauncher()


@dataclass(frozen=True)
class LocalStores:
    """What a local run's team starts with: config values and secrets (it has nothing else)."""

    config: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(cls, config: list[str], secrets: list[str], environ: Mapping[str, str]) -> LocalStores:
        values: dict[str, str] = {}
        for item in config:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise InvalidInputError(f"--config {item!r} is not KEY=VALUE", hint="e.g. --config REGION=eu-west-1")
            check_config(key, value)
            values[key] = value
        found: dict[str, str] = {}
        for key in secrets:
            check_secret_key(key)
            if key not in environ:
                raise InvalidInputError(
                    f"--secret {key}: the environment has no variable {key} to take its value from",
                    hint=f"export {key}=… first (values never go on the command line)",
                )
            found[key] = environ[key]
        return cls(config=values, secrets=found)


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
    stores: LocalStores | None = None,
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
                for key, value in (stores.config if stores else {}).items():
                    store.set_config(team.id, key, value)
                for key, value in (stores.secrets if stores else {}).items():
                    store.put_secret_ciphertext(team.id, key, engine.secrets.encrypt(value.encode()))
            deployed = engine.deploy(team.id, files, name=project_name_for(project_dir), owner_id=user.id)
            if ask is not None:
                engine.prompts.on_prompt = _answer_with(engine, team.id, ask, on_log)
            by_name = {t.name: t.call for t in deployed.triggers if t.call}
            target = by_name.get(entrypoint, entrypoint) if entrypoint else _only(by_name)
            _check_target(engine.deployments.ensure(deployed.deployment.id), target, by_name)
            session_id = engine.create_session(deployed.project, target, data)
            queue = engine.logs.subscribe_all()
            await engine.committer.flushed()
            while True:
                source, item = await queue.get()
                if isinstance(item, SessionEnded):
                    if source == session_id:
                        break
                    continue
                on_log(item.stream, item.text if source == session_id else f"[{_label(engine, source)}] {item.text}")
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


def _label(engine: Engine, session_id: str) -> str:
    """How a session the run started is named in its output: its ops.yml job, trigger or function."""
    session = engine.store.get_session(session_id)
    if session is None:
        return session_id
    return session.entrypoint.removeprefix("ops:").rpartition("/")[2] or session.entrypoint


def _only(by_name: dict[str, str]) -> str:
    if len(set(by_name.values())) == 1:
        return next(iter(by_name.values()))
    if not by_name:
        raise InvalidInputError(
            "the project's triggers call no function, so there is nothing to run by default",
            hint="name one: purr run DIR file.py:function",
        )
    listed = ", ".join(f"{name} ({call})" for name, call in sorted(by_name.items()))
    raise InvalidInputError(
        f"the project has {len(by_name)} triggers to run: {listed}",
        hint=f"name the one to run: purr run DIR {min(by_name)}",
    )


def _check_target(project_dir: Path, target: str, by_name: dict[str, str]) -> None:
    """A name that is no trigger must be a code location of the project: say so before running anything."""
    try:
        check_entrypoint(project_dir, target)
    except PurrflowError as err:
        names = ", ".join(sorted(by_name)) or "none"
        raise InvalidInputError(
            f"{target!r} is no trigger of the project, and not a function to run: {err.message}",
            hint=f"name a trigger ({names}) or a function as file.py:function",
        ) from None
