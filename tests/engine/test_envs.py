"""Project environments: requirements.txt installed once per distinct file, never half-visible."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from purrflow.engine import envs as envs_module
from purrflow.engine.envs import ProjectEnvs, count_requirements, digest_of, requirements_of
from purrflow.errors import RequirementsError
from wheels import build_wheel


def test_requirements_are_counted_without_comments_options_or_blank_lines() -> None:
    text = b"# tools\n--no-index\n--find-links ./wheels\n\nrequests==2.31  # pinned\n-e ./local\nrich\n"
    assert count_requirements(text) == 3
    assert requirements_of({"requirements.txt": text}) == text
    assert requirements_of({"requirements.txt": b"# nothing\n--no-index\n"}) is None  # nothing to install
    assert requirements_of({"sub/requirements.txt": b"rich\n"}) is None  # only the project root's counts


@pytest.mark.slow
def test_an_install_is_shared_by_the_same_file_and_done_once_when_asked_twice_at_once(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "wheels", "purrtiny", "1.0", {"purrtiny/__init__.py": "VALUE = 42\n"})
    requirements = f"--no-index\n{wheel}\n".encode()
    envs = ProjectEnvs(tmp_path / "envs")
    runs: list[str] = []
    real = envs._install

    def counted(digest: str, content: bytes, cwd: Path) -> str:
        runs.append(digest)
        return real(digest, content, cwd)

    envs._install = counted  # type: ignore[method-assign]
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(envs.ensure(requirements, cwd=tmp_path))) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs == [digest_of(requirements)]  # the second waited for the first and found it done
    assert sorted(r.cached for r in reports) == [False, True]
    site = envs.site_dir(digest_of(requirements))
    assert site == tmp_path / "envs" / digest_of(requirements)
    assert (site / "purrtiny" / "__init__.py").read_text() == "VALUE = 42\n"
    assert [p.name for p in (tmp_path / "envs").iterdir()] == [site.name]  # no staging left behind


@pytest.mark.slow
def test_a_failed_install_says_why_and_leaves_nothing(tmp_path: Path) -> None:
    envs = ProjectEnvs(tmp_path / "envs")
    requirements = b"--no-index\nno-such-package-xyz==1.0\n"
    with pytest.raises(RequirementsError) as refused:
        envs.ensure(requirements, cwd=tmp_path)
    assert "no-such-package-xyz" in refused.value.message and "pip exited with" in refused.value.message
    assert refused.value.hint and "fix requirements.txt" in refused.value.hint
    assert list((tmp_path / "envs").iterdir()) == []
    with pytest.raises(Exception, match="missing"):
        envs.site_dir(digest_of(requirements))


def test_what_a_crash_left_behind_is_swept(tmp_path: Path) -> None:
    root = tmp_path / "envs"
    (root / ".abc-123" / "site").mkdir(parents=True)
    (root / ".in-progress").mkdir()  # another process's install, under way
    (root / ("f" * 64)).mkdir()
    long_ago = time.time() - 3 * envs_module.INSTALL_TIMEOUT_SECONDS
    os.utime(root / ".abc-123", (long_ago, long_ago))
    assert ProjectEnvs(root).sweep() == 1
    assert sorted(p.name for p in root.iterdir()) == [".in-progress", "f" * 64]


def test_uv_is_preferred_when_it_is_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(envs_module.shutil, "which", lambda name: "/usr/bin/uv" if name == "uv" else None)
    command, name = envs_module._installer_command(tmp_path / "site", tmp_path / "r.txt")
    assert name == "uv" and command[:3] == ["/usr/bin/uv", "pip", "install"] and "--target" in command
    monkeypatch.setattr(envs_module.shutil, "which", lambda name: None)
    command, name = envs_module._installer_command(tmp_path / "site", tmp_path / "r.txt")
    assert name == "pip" and command[1:4] == ["-m", "pip", "install"]
