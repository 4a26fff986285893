"""Starting runner processes: forked from a zygote (fast), or spawned cold (the fallback).

A runner is reached through a Unix socket pair; the host keeps one end as asyncio streams. The runner's
code runs only in those processes: they are started by module name, never imported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass

from purrflow.engine.seams import Launcher
from purrflow.linux import die_with_parent
from purrflow.wire import FORK_REQUEST, FORKED_PID


@dataclass(frozen=True)
class ChildRunner:
    """A runner process of ours (implements `RunnerProcess`)."""

    pid: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)


def make_launcher(kind: str) -> Launcher:
    """`spawn`: a fresh interpreter per session; anything else: forks of a zygote."""
    return SpawnLauncher() if kind == "spawn" else ZygoteLauncher()


#: What a runner process starts with; its session's environment is set in it later (`StartSession.env`).
_KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "PYTHONHASHSEED")


def _child_env() -> dict[str, str]:
    """Nothing of the server's environment but what an interpreter needs to start as the server's did."""
    env = {name: os.environ[name] for name in _KEPT_VARIABLES if name in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    # Fewer malloc arenas: each thread's arena reserves 64 MiB of address space, which the memory limit
    # (RLIMIT_AS) counts.
    env["MALLOC_ARENA_MAX"] = "2"
    return env


class SpawnLauncher:
    """A fresh interpreter per session: slow (25–200 ms) but needs nothing running."""

    async def launch(self) -> ChildRunner:
        host_end, runner_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "purrflow.runner.main", str(runner_end.fileno())],
            pass_fds=[runner_end.fileno()],
            stdin=subprocess.DEVNULL,
            env=_child_env(),
            preexec_fn=die_with_parent,
        )
        runner_end.close()
        asyncio.get_running_loop().run_in_executor(None, proc.wait)  # reap it
        reader, writer = await asyncio.open_unix_connection(sock=host_end)
        return ChildRunner(pid=proc.pid, reader=reader, writer=writer)

    async def close(self) -> None:
        return None


class ZygoteLauncher:
    """Forks runners from one pre-warmed zygote process; restarts the zygote if it dies."""

    def __init__(self) -> None:
        self._control: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = asyncio.Lock()

    def _start_zygote(self) -> socket.socket:
        host_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "purrflow.runner.zygote", str(zygote_end.fileno())],
            pass_fds=[zygote_end.fileno()],
            stdin=subprocess.DEVNULL,
            env=_child_env(),
            preexec_fn=die_with_parent,
        )
        zygote_end.close()
        host_end.setblocking(False)
        return host_end

    async def launch(self) -> ChildRunner:
        loop = asyncio.get_running_loop()
        host_end, runner_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            async with self._lock:
                pid = await self._fork(loop, runner_end)
        finally:
            runner_end.close()
        reader, writer = await asyncio.open_unix_connection(sock=host_end)
        return ChildRunner(pid=pid, reader=reader, writer=writer)

    async def _fork(self, loop: asyncio.AbstractEventLoop, runner_end: socket.socket) -> int:
        for attempt in range(2):
            if self._control is None or (self._proc is not None and self._proc.poll() is not None):
                self._control = self._start_zygote()
            try:
                socket.send_fds(self._control, [FORK_REQUEST], [runner_end.fileno()])
                data = b""
                while len(data) < FORKED_PID.size:
                    chunk = await loop.sock_recv(self._control, FORKED_PID.size - len(data))
                    if not chunk:
                        raise ConnectionError("zygote closed its control socket")
                    data += chunk
                return int(FORKED_PID.unpack(data)[0])
            except OSError:
                self._control.close()
                self._control = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._proc is not None:
            self._proc.kill()
            await asyncio.get_running_loop().run_in_executor(None, self._proc.wait)
            self._proc = None
