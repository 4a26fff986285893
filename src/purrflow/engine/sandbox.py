"""Where each runner runs: the host's half of the sandbox (the runner's half is `purrflow.runner.sandbox`).

When the server runs as root, every session runs as an unprivileged uid of its team's own, in a mount
namespace that shows only: the deployment's files (read-only), its run's state folder, private /tmp,
/var/tmp and /dev/shm, the interpreter and the packages it imports (read-only), and the folders the
operator allowed (`--sandbox-allow`, writable). The data folder — database, WAL, keys, admin token, other
deployments, other runs' state — and the server user's home are covered. Its environment is made anew
(`environment_base`): nothing of the server's passes unless the operator names it (`--pass-env`).

Without root the server cannot do this (a same-uid runner could read the server through /proc whatever
the mounts showed). It says so when it starts, and runs only the operator team's code unless started
with `--trust-all-code`.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import purrflow
from purrflow.errors import ForbiddenError, InvalidInputError
from purrflow.wire import SandboxFrame, SandboxSpec

#: Teams' uids are allocated from here up, clear of the machine's own users.
FIRST_TEAM_UID = 610_000
SandboxMode = Literal["auto", "on", "off"]
#: What every runner's environment holds besides its session's own variables.
_BASE_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
#: Loopback never goes through a proxy: CTO.ai's client would otherwise send its daemon calls to one.
NO_PROXY = "127.0.0.1,localhost,::1"
_PRIVATE = ("/tmp", "/var/tmp", "/dev/shm")


@dataclass(frozen=True)
class SandboxSettings:
    mode: SandboxMode = "auto"
    #: Folders every sandbox may read and write (tests observe side effects through them).
    allow: tuple[Path, ...] = ()
    #: Run every team's code even where it cannot be sandboxed.
    trust_all_code: bool = False
    #: The server's environment variables that runners also get.
    pass_env: tuple[str, ...] = ()


class SandboxPolicy:
    def __init__(self, data_dir: Path, settings: SandboxSettings, *, environ: Mapping[str, str] = os.environ) -> None:
        self._data_dir = data_dir.resolve()
        self._settings = settings
        self._environ = environ
        self._allow = tuple(self._allowed(path) for path in settings.allow)
        capable = sys.platform == "linux" and os.geteuid() == 0
        if settings.mode == "on" and not capable:
            raise InvalidInputError(
                "--sandbox on needs a server running as root on Linux",
                hint="start it as root, or use --sandbox auto (the default) to run unsandboxed",
            )
        self.enabled = capable and settings.mode != "off"
        self._system = self._interpreter_folders() if self.enabled else ()

    # -- what the server says at start ---------------------------------------------------------
    def describe(self) -> str:
        if self.enabled:
            allowed = f"; also writable: {', '.join(map(str, self._allow))}" if self._allow else ""
            return f"sandbox: on (each team's sessions as a uid of their own, data folder hidden{allowed})"
        why = "--sandbox off" if self._settings.mode == "off" else "the server does not run as root"
        trust = (
            "every team's code runs unsandboxed (--trust-all-code)"
            if self._settings.trust_all_code
            else "only the default team's projects may run; start with --trust-all-code to run every team's"
        )
        return f"sandbox: OFF ({why}): sessions can read what the server can read; {trust}"

    @property
    def runs_any_team(self) -> bool:
        """Every team's code may run here (sandboxed, or the operator trusts it all)."""
        return self.enabled or self._settings.trust_all_code

    def check_team(self, team_name: str, operator_team: str) -> None:
        """Refuse a team's code where it would run unsandboxed and the operator did not trust all code."""
        if self.runs_any_team or team_name == operator_team:
            return
        raise ForbiddenError(
            f"this server cannot sandbox sessions, so it runs only the {operator_team!r} team's code",
            hint="the operator can run it as root to sandbox every team, or start it with --trust-all-code",
        )

    # -- a runner's start ----------------------------------------------------------------------
    def frame(self) -> SandboxFrame | None:
        """What every runner of this server hides and shows (the launcher hands it to its runners)."""
        if not self.enabled:
            return None
        hidden = [self._data_dir]
        home = Path(self._environ.get("HOME") or Path.home()).resolve()
        if home != Path("/"):
            hidden.append(home)
        return SandboxFrame(
            data_dir=str(self._data_dir),
            hidden=tuple(str(path) for path in hidden),
            private=tuple(path for path in _PRIVATE if os.path.isdir(path)),
            read_only=tuple(str(path) for path in self._system),
            read_write=tuple(str(path) for path in self._allow),
        )

    def spec(
        self, uid: int, deployment: Path, writable: Iterable[Path], *, read_only: Iterable[Path] = ()
    ) -> SandboxSpec | None:
        """One runner's part, for the team running as `uid`; None when sandboxing is off. `read_only`:
        more folders of the data folder it reads (its deployment's installed requirements)."""
        if not self.enabled:
            return None
        for folder in writable:
            os.chown(folder, uid, uid)
            folder.chmod(0o700)
        deployment.chmod(0o755)  # its files are 0644 already; only the top folder is made 0700
        return SandboxSpec(  # the paths lie in the data folder, resolved when the server started
            uid=uid,
            gid=uid,
            read_only=(str(deployment), *(str(path) for path in read_only)),
            read_write=tuple(str(path) for path in writable),
        )

    def environment_base(self) -> dict[str, str]:
        """The part of every runner's environment that is not its session's own."""
        env = {name: self._environ[name] for name in _BASE_VARIABLES if name in self._environ}
        env.setdefault("PATH", os.defpath)
        for name in self._settings.pass_env:
            if name in self._environ:
                env[name] = self._environ[name]
        for name in ("NO_PROXY", "no_proxy"):
            given = env.get(name)
            env[name] = f"{NO_PROXY},{given}" if given else NO_PROXY
        return env

    def secure_data_dir(self) -> None:
        """The data folder is the server user's alone (a second line behind the mount namespace)."""
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._data_dir.chmod(0o700)

    # -- checks ---------------------------------------------------------------------------------
    def _allowed(self, path: Path) -> Path:
        folder = path.resolve()
        if not folder.is_dir():
            raise InvalidInputError(f"--sandbox-allow {path}: not a folder", hint="create it first, or fix the path")
        if self._data_dir.is_relative_to(folder) or folder.is_relative_to(self._data_dir):
            raise InvalidInputError(
                f"--sandbox-allow {path} would open the data folder to every session",
                hint="allow a folder that neither holds the data folder nor lies inside it",
            )
        return folder

    def _interpreter_folders(self) -> tuple[Path, ...]:
        """What sessions must read: the interpreter, the standard library and every package folder."""
        paths = sysconfig.get_paths()
        candidates = [
            sys.prefix,
            sys.base_prefix,
            sys.exec_prefix,
            sys.base_exec_prefix,
            paths["stdlib"],
            paths["platstdlib"],
            paths["purelib"],
            paths["platlib"],
            str(Path(purrflow.__file__).resolve().parent.parent),  # an editable install's source folder
            *(entry for entry in sys.path if entry and entry != os.getcwd()),
        ]
        folders: list[Path] = []
        for candidate in candidates:
            folder = Path(candidate).resolve()
            if folder.is_dir() and folder not in folders:
                folders.append(folder)
        outermost = [f for f in folders if not any(f != other and f.is_relative_to(other) for other in folders)]
        for folder in outermost:
            if self._data_dir.is_relative_to(folder):
                raise InvalidInputError(
                    f"the data folder {self._data_dir} lies inside {folder}, which every session must read",
                    hint="choose a data folder outside the Python installation and its packages (--data-dir)",
                )
        return tuple(sorted(outermost))
