"""Project vars: the manifest's, overridden from outside for sessions created afterwards; secret ones
encrypted and never shown."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from purrflow.errors import InvalidInputError, NotFoundError
from purrflow.platform import Platform, PlatformConfig, build_platform
from purrflow.rules.vars import MAX_VAR_VALUE
from purrflow.store import Project

MANIFEST = b"""
version: v1
project:
  name: shop
  vars:
    - name: BASE_URL
      value: https://httpbin.org/
    - name: API_KEY
      value: from-the-manifest
      secret: true
"""


async def _deployed(tmp: Path) -> tuple[Platform, Project]:
    platform = build_platform(PlatformConfig(data_dir=tmp, durability="normal", runner="spawn"))
    member = platform.identity.found_team("team", "person")
    files = {"purrflow.yaml": MANIFEST, "program.py": b"def main(event):\n    pass\n"}
    deployed = platform.projects.deploy(member.team.id, files, owner_id=member.user.id)
    await platform.committed()
    return platform, deployed.project


def test_a_var_set_applies_from_then_on_and_its_history_keeps_earlier_sessions_as_they_were(tmp_path: Path) -> None:
    async def scenario() -> None:
        platform, project = await _deployed(tmp_path)
        vars, manifest = platform.vars, [{"name": "BASE_URL", "value": "https://httpbin.org/"}]
        try:
            before = time.time()
            assert vars.environment(project.id, manifest, before) == {"BASE_URL": "https://httpbin.org/"}
            vars.set(project, "BASE_URL", "http://127.0.0.1:1234/")
            vars.set(project, "EXTRA", "not in the manifest")
            await platform.committed()
            after = time.time()
            assert vars.environment(project.id, manifest, before) == {"BASE_URL": "https://httpbin.org/"}
            assert vars.environment(project.id, manifest, after) == {
                "BASE_URL": "http://127.0.0.1:1234/",
                "EXTRA": "not in the manifest",
            }
            shown = {v.name: (v.value, v.secret, v.source) for v in vars.all(project)}
            assert shown == {
                "API_KEY": (None, True, "manifest"),  # the manifest's secret var is not shown either
                "BASE_URL": ("http://127.0.0.1:1234/", False, "set"),
                "EXTRA": ("not in the manifest", False, "set"),
            }
            store = platform._store  # a session under way, recorded only (nothing drives it here)
            assert project.deployment_id is not None
            live = store.create_session(
                project_id=project.id, deployment_id=project.deployment_id, entrypoint="program.py:main", event={}
            )
            started = store.get_session(live)
            assert started is not None
            restored = vars.delete(project, "BASE_URL")
            await platform.committed()
            assert restored is not None and restored.value == "https://httpbin.org/"
            assert vars.get(project, "BASE_URL").source == "manifest"
            then = vars.environment(project.id, manifest, started.created_at)
            assert then["BASE_URL"] == "http://127.0.0.1:1234/"  # kept: a session under way reads it
            assert vars.environment(project.id, manifest, time.time())["BASE_URL"] == "https://httpbin.org/"
            history = "SELECT COUNT(*) FROM project_vars WHERE name = 'BASE_URL'"
            assert store._one(history)[0] == 2
            store.set_session_state(live, "completed")
            vars.set(project, "BASE_URL", "http://127.0.0.1:5678/")
            await platform.committed()
            assert store._one(history)[0] == 1  # no session can read the older values any more
            vars.delete(project, "BASE_URL")
            with pytest.raises(NotFoundError, match="no var 'BASE_URL' set with"):
                vars.delete(project, "BASE_URL")
            with pytest.raises(NotFoundError, match="project 'shop' has no var 'NOPE'"):
                vars.get(project, "NOPE")
        finally:
            await platform.close()

    asyncio.run(scenario())


def test_a_secret_var_is_encrypted_at_rest_and_never_shown(tmp_path: Path) -> None:
    clear = "hunter2-very-secret-value"

    async def scenario() -> None:
        platform, project = await _deployed(tmp_path)
        try:
            shown = platform.vars.set(project, "TOKEN", clear, secret=True)
            platform.vars.set(project, "API_KEY", "another-secret-value")  # the manifest says it is secret
            await platform.committed()
            assert shown.value is None and shown.secret
            assert platform.vars.get(project, "TOKEN").value is None
            assert platform.vars.get(project, "API_KEY").secret
            assert all(v.value is None for v in platform.vars.all(project) if v.name in ("TOKEN", "API_KEY"))
            env = platform.vars.environment(project.id, [], time.time())
            assert env == {"TOKEN": clear, "API_KEY": "another-secret-value"}  # sessions get the value
        finally:
            await platform.close()

    asyncio.run(scenario())
    for path in tmp_path.glob("purrflow.db*"):
        data = path.read_bytes()
        assert clear.encode() not in data and b"another-secret-value" not in data, path


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("1ST", "x", "var name '1ST' is not allowed"),
        ("WITH-DASH", "x", "var name 'WITH-DASH' is not allowed"),
        ("A" * 129, "x", "is not allowed"),
        ("NUL", "a\x00b", "holds a NUL character"),
        ("BIG", "x" * (MAX_VAR_VALUE + 1), "the limit is 64 KiB"),
    ],
)
def test_names_are_identifiers_and_values_fit_an_environment(
    tmp_path: Path, name: str, value: str, problem: str
) -> None:
    async def scenario() -> None:
        platform, project = await _deployed(tmp_path)
        try:
            with pytest.raises(InvalidInputError, match=problem) as refused:
                platform.vars.set(project, name, value)
            assert refused.value.hint
        finally:
            await platform.close()

    asyncio.run(scenario())
