"""Project environments: a project's `requirements.txt`, installed once per distinct file.

An environment is a folder of installed packages (`pip install --target`, or `uv pip install --target`
when uv is on PATH) at `<data dir>/envs/<sha256 of requirements.txt>`: deployments whose file is the same
share it, and a second deploy of the same file installs nothing. Runners put the folder in front of
`sys.path` (the sandbox binds it read-only), so the project imports its packages from there, and
purrflow's own stay importable from the interpreter's site-packages.

An environment is only ever used whole: it is installed into a hidden temporary folder and renamed into
place when the installer succeeded, so a crash or a failed install leaves nothing a runner could import
half of. Installs of the same file are serialised by a lock (a second deploy waits for the first and
finds it done); different files install in parallel. This runs off the event loop (the deploy route runs
it in a thread): it touches no store and no loop.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from purrflow.errors import DeploymentError, RequirementsError

#: Where a deployment's dependencies are declared, at the root of its files.
REQUIREMENTS_FILE = "requirements.txt"
#: An install that takes longer than this is given up (the deploy is refused, naming the limit).
INSTALL_TIMEOUT_SECONDS = 30 * 60
#: How much of the installer's output a refused deploy shows.
ERROR_LINES = 25


@dataclass(frozen=True, slots=True)
class EnvReport:
    """What a deploy's requirements came to: the environment, and whether it was installed just now."""

    digest: str
    packages: int
    cached: bool
    seconds: float
    installer: str


def requirements_of(files: Mapping[str, bytes]) -> bytes | None:
    """The deployment's `requirements.txt` (at the root of its files), when it has one with a requirement."""
    content = files.get(REQUIREMENTS_FILE)
    if content is None or count_requirements(content) == 0:
        return None
    return content


def count_requirements(content: bytes) -> int:
    """The requirement lines of a requirements file: not blank, not a comment, not an option (`--…`)."""
    count = 0
    for raw in content.decode("utf-8", errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line.startswith(("-e ", "--editable")) or (line and not line.startswith(("#", "-"))):
            count += 1
    return count


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class ProjectEnvs:
    """The data folder's environments: installed on demand, shared by digest, never half-visible."""

    def __init__(self, root: Path, *, timeout: float = INSTALL_TIMEOUT_SECONDS) -> None:
        self.root = root
        self._timeout = timeout
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def folder(self, digest: str) -> Path:
        return self.root / digest

    def site_dir(self, digest: str) -> Path:
        """The installed environment `digest`; refused when it is gone (the data folder lost it)."""
        folder = self.folder(digest)
        if not folder.is_dir():
            raise DeploymentError(
                f"the environment {digest[:12]}… of this deployment's requirements.txt is missing from {self.root}",
                hint="deploy the project again: its requirements.txt is installed anew",
            )
        return folder

    def ensure(self, requirements: bytes, *, cwd: Path) -> EnvReport:
        """Install `requirements` unless an environment of the same file exists; `cwd` (the staged
        deployment) is where relative paths in the file point. Raises `RequirementsError` with the
        installer's last lines when it fails; nothing of a failed install remains."""
        digest = digest_of(requirements)
        packages = count_requirements(requirements)
        started = time.monotonic()
        with self._lock(digest):
            if self.folder(digest).is_dir():
                return EnvReport(digest, packages, True, time.monotonic() - started, "")
            installer = self._install(digest, requirements, cwd)
        return EnvReport(digest, packages, False, time.monotonic() - started, installer)

    def sweep(self) -> int:
        """Remove what installs cut short by a crash left behind (hidden folders older than any install
        may take: another process sharing the folder may be installing right now)."""
        if not self.root.is_dir():
            return 0
        removed = 0
        stale = time.time() - 2 * self._timeout
        with os.scandir(self.root) as entries:
            for entry in entries:
                hidden = entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)
                if hidden and entry.stat(follow_symlinks=False).st_mtime < stale:
                    shutil.rmtree(entry.path, ignore_errors=True)
                    removed += not os.path.lexists(entry.path)
        return removed

    # -- installing -------------------------------------------------------------------------------
    def _lock(self, digest: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(digest, threading.Lock())

    def _install(self, digest: str, requirements: bytes, cwd: Path) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # runners (their team's uid) read environments through the sandbox's bind
        staging = Path(tempfile.mkdtemp(prefix=f".{digest[:16]}-", dir=self.root))
        try:
            listing = staging / ".requirements.txt"
            listing.write_bytes(requirements)
            target = staging / "site"
            command, name = _installer_command(target, listing)
            try:
                done = subprocess.run(
                    command,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    timeout=self._timeout,
                    env=_installer_environment(),
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise RequirementsError(
                    f"installing requirements.txt with {name} took longer than {self._timeout:.0f} s; gave up",
                    hint="pin fewer or lighter packages, or prebuild wheels and point --find-links at them",
                ) from None
            if done.returncode != 0:
                output = done.stdout.decode("utf-8", errors="replace").rstrip().splitlines()
                last = "\n".join(output[-ERROR_LINES:]) or "(no output)"
                raise RequirementsError(
                    f"requirements.txt could not be installed ({name} exited with {done.returncode}):\n{last}",
                    hint="fix requirements.txt (a requirement that does not exist, a version no index has, a"
                    " typo) and deploy again; the project's current deployment keeps running meanwhile",
                )
            target.mkdir(exist_ok=True)  # a file of options only installs nothing
            _readable(target)
            try:
                os.rename(target, self.folder(digest))
            except OSError:
                # another process sharing the folder (`purr run`) may have installed the same file meanwhile:
                # theirs is as good as ours, which goes with the staging folder below
                if not self.folder(digest).is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return name


def _installer_command(target: Path, listing: Path) -> tuple[list[str], str]:
    """uv when it is on PATH (much faster), else this interpreter's pip; both install for this Python."""
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--python", sys.executable, "--target", str(target), "-r", str(listing)], "uv"
    pip = [sys.executable, "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]
    return [*pip, "--no-warn-script-location", "--target", str(target), "-r", str(listing)], "pip"


def _installer_environment() -> dict[str, str]:
    """The server's environment (its index settings, proxies, certificates), without what would make the
    installer write outside the target or pick another interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_TARGET", "PIP_PREFIX", "VIRTUAL_ENV")}
    env["PIP_NO_INPUT"] = "1"
    return env


def _readable(folder: Path) -> None:
    """Every file readable and every folder searchable by anyone: runners run as their team's uid."""
    for current, _dirs, filenames in os.walk(folder):
        os.chmod(current, 0o755)
        for name in filenames:
            path = os.path.join(current, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
