"""`purr run`: one session of a project folder with no server, in a throw-away data folder, its output
handed to the caller line by line as it happens and its prompts asked in the terminal.

It is the same platform as a server's (`purrflow.platform`), with its own team and a runner spawned
fresh: the same rules, limits and journal, only with nobody else around.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import math
import os
import platform
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purrflow.engine.deploy import collect_files
from purrflow.engine.logs import SessionEnded
from purrflow.engine.sandbox import SandboxSettings
from purrflow.engine.webhooks import WebhookRequest, event_data
from purrflow.errors import InvalidInputError, PurrflowError
from purrflow.faults import Faults
from purrflow.manifest import project_name_for
from purrflow.platform import Platform, PlatformConfig, build_platform
from purrflow.rules.config import check_config
from purrflow.rules.secrets import check_secret_key
from purrflow.store import Project, PromptRecord, SessionError


@dataclass(frozen=True)
class LocalStores:
    """What a local run's team starts with: config values and secrets (it has nothing else)."""

    config: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(cls, config: list[str], secrets: list[str], environ: Mapping[str, str]) -> LocalStores:
        """Checked before anything runs, so a typo costs no session."""
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
    faults: Faults | None = None,
) -> RunOutcome:
    """One session of `project_dir`, output to `on_log`; prompts are answered by `ask` (the terminal)."""
    files = collect_files(project_dir)
    with tempfile.TemporaryDirectory(prefix="purr-run-") as tmp:
        config = PlatformConfig(
            data_dir=Path(tmp),
            durability="normal",
            runner="spawn",
            hot_wait_seconds=math.inf,
            interface="terminal",
            host_platform=platform.system().lower(),
            faults=faults if faults is not None else Faults.from_env(),
            # Your own code on your own machine: no sandbox, and it sees your whole environment.
            sandbox=SandboxSettings(mode="off", trust_all_code=True, pass_env=tuple(os.environ)),
            envs_dir=_envs_cache(),
        )
        purr = build_platform(config)
        reporter = _Reporter(on_log)
        host_log = logging.getLogger("purrflow")
        host_log.addHandler(reporter)
        host_log.propagate = False  # the terminal gets one line per problem, not a traceback
        try:
            await purr.start()
            member = purr.identity.found_team("local", _username())
            team_id = member.team.id
            for key, value in (stores.config if stores else {}).items():
                purr.config.set(team_id, key, value)
            for key, value in (stores.secrets if stores else {}).items():
                purr.secrets.set(team_id, key, value)
            deployed = purr.projects.deploy(team_id, files, name=project_name_for(project_dir), owner_id=member.user.id)
            if ask is not None:
                purr.prompts.listen(_answer_with(purr, team_id, ask, on_log))
            data = _as_webhook_request(purr, deployed.project, entrypoint, data)
            session_id = purr.sessions.start(deployed.project, entrypoint, data, user_id=member.user.id)
            queue = purr.sessions.watch_all()
            await purr.committed()
            main_ended = False
            while True:
                source, item = await queue.get()
                if isinstance(item, SessionEnded):
                    # Sessions the run started (sdk.start, child sessions) finish even after their caller
                    # returned: the throw-away platform closes only when none of them is left.
                    left = _unfinished(purr, team_id) if main_ended or source == session_id else []
                    if source == session_id and left:
                        on_log("system", f"purr run: waiting for {len(left)} session(s) the run started (Ctrl-C stops)")
                    main_ended = main_ended or source == session_id
                    if main_ended and not left:
                        break
                    continue
                on_log(item.stream, item.text if source == session_id else f"[{_label(purr, source)}] {item.text}")
            session = purr.sessions.get(team_id, session_id)
            return RunOutcome(session.id, session.state, session.result_repr, session.error)
        finally:
            await purr.close()
            host_log.removeHandler(reporter)
            host_log.propagate = True


def _envs_cache() -> Path:
    """Where `purr run` keeps requirements.txt environments between runs (shared by every project)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "purrflow" / "envs"


class _Reporter(logging.Handler):
    """The host's warnings and errors during a run, as one line each among the run's output."""

    def __init__(self, on_log: Callable[[str, str], None]) -> None:
        super().__init__(logging.WARNING)
        self._on_log = on_log

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            text += f": {type(error).__name__}: {error}"
        self._on_log("system", f"purrflow: {text}")


def _answer_with(
    purr: Platform, team_id: str, ask: Callable[[dict[str, Any]], Any], on_log: Callable[[str, str], None]
) -> Callable[[PromptRecord], None]:
    """A prompt listener that asks `ask` (in a thread: it blocks on the keyboard) until the answer fits."""
    tasks: set[asyncio.Task[None]] = set()

    async def answer(prompt: PromptRecord) -> None:
        loop = asyncio.get_running_loop()
        while True:
            raw = await loop.run_in_executor(None, ask, prompt.spec)
            try:
                purr.prompts.answer(team_id, prompt.id, raw)
            except PurrflowError as err:
                on_log("system", err.message)
                continue
            await purr.committed()
            return

    def on_prompt(prompt: PromptRecord) -> None:
        task = asyncio.get_running_loop().create_task(answer(prompt))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return on_prompt


def _unfinished(purr: Platform, team_id: str) -> list[str]:
    """Sessions of the run that have not ended yet."""
    return [s.id for s in purr.sessions.recent(team_id, limit=1000) if not s.is_final]


def _username() -> str:
    """The person at the terminal, as a purrflow username."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", getpass.getuser())[:64] or "local"


def _label(purr: Platform, session_id: str) -> str:
    """How a session the run started is named in its output: its ops.yml job, trigger or function."""
    session = purr.sessions.lookup(session_id)
    if session is None:
        return session_id
    return session.entrypoint.removeprefix("ops:").rpartition("/")[2] or session.entrypoint


def _as_webhook_request(
    purr: Platform, project: Project, entrypoint: str | None, data: dict[str, Any]
) -> dict[str, Any]:
    """`purr run` of a webhook trigger (named, or the project's only one): `--data` arrives as that
    webhook's POST with a JSON body, the event a handler gets from `curl -d`, unless it already is a
    webhook event (it has `method` and `url`); anything else gets `--data` as its event data as it is."""
    runnable = purr.triggers.runnable(project)
    if entrypoint is None:
        calls = {t.call for t in runnable.values()}
        trigger = next(iter(runnable.values())) if len(runnable) == 1 and len(calls) == 1 else None
    else:
        trigger = runnable.get(entrypoint)
    if trigger is None or trigger.kind != "webhook" or {"method", "url"} <= data.keys():
        return data
    request = WebhookRequest(
        method="POST",
        path=f"/webhooks/{trigger.slug}",
        query_string="",
        headers=[("Content-Type", "application/json"), ("User-Agent", "purr run")],
        body=json.dumps(data).encode(),
    )
    return event_data(request)
