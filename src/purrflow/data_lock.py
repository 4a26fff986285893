"""One server per data folder: an advisory lock on a file in it, held for as long as the server runs.

A second `purr up` on the same folder would run a second engine on the same database — two drivers of one
session, two schedulers — so it refuses to start and names the process that holds the folder. The lock is
the kernel's (`flock`): it goes away with the holder, even after `kill -9`, so a crash never leaves a
stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from purrflow.errors import PurrflowError

LOCK_FILE = "server.lock"


class DataDirInUse(PurrflowError):
    """Another live server holds the data folder."""


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirInUse(
                f"another purrflow server (pid {holder}) is running on the data folder {self.path.parent}",
                hint="stop it first, or start this one with another --data-dir",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
