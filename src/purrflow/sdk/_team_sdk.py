"""CTO.ai's run-time helpers: the workflow's state folder, home, host OS, a private log line.

- `get_state_path()`: a folder that persists through one workflow run — the session and every session
  it starts share it — across suspensions and server restarts.
- `home_dir()`: the home folder programs should use; `get_host_os()`: the user's OS for `purr run`,
  "unknown" on a server (the user's machine is not where it runs).
- `log(text)`: a line in the session log only; the person following the session does not see it
  (use `ux.print` for them).
"""

from __future__ import annotations

import os
from pathlib import Path

from purrflow.sdk import _runtime


def get_state_path() -> str:
    path = os.environ.get("SDK_STATE_DIR")
    if not path:
        path = str(Path.cwd() / ".purrflow-state")
    Path(path).mkdir(parents=True, exist_ok=True)
    return path


def home_dir() -> str:
    return os.environ.get("SDK_HOME_DIR") or str(Path.home())


def get_host_os() -> str:
    return os.environ.get("OPS_HOST_PLATFORM") or "unknown"


def log(*parts: object) -> None:
    _runtime.current().emit_line("log", " ".join(str(part) for part in parts))
