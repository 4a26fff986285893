"""Starting runner processes: forked from a zygote (fast), or spawned cold (the fallback).

A runner is reached through a Unix socket pair; the host keeps one end as asyncio streams.
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
from typing import Protocol

from purrflow.runner.zygote import PID


@dataclass
class RunnerProcess:
    pid: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)


class Launcher(Protocol):
    async def launch(self) -> RunnerProcess: ...
    async def close(self) -> None: ...


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _die_with_parent() -> None:
    from purrflow.runner.process import die_with_parent  # runs in the forked child before exec

    die_with_parent()


class SpawnLauncher:
    """A fresh interpreter per session: slow (25–200 ms) but needs nothing running."""

    async def launch(self) -> RunnerProcess:
        host_end, runner_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        proc = subprocess.Popen(
            [sys.executable, "-m", "purrflow.runner.main", str(runner_end.fileno())],
            pass_fds=[runner_end.fileno()],
            stdin=subprocess.DEVNULL,
            env=_child_env(),
            preexec_fn=_die_with_parent,
        )
        runner_end.close()
        asyncio.get_running_loop().run_in_executor(None, proc.wait)  # reap it
        reader, writer = await asyncio.open_unix_connection(sock=host_end)
        return RunnerProcess(pid=proc.pid, reader=reader, writer=writer)

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
            [sys.executable, "-m", "purrflow.runner.zygote", str(zygote_end.fileno())],
            pass_fds=[zygote_end.fileno()],
            stdin=subprocess.DEVNULL,
            env=_child_env(),
            preexec_fn=_die_with_parent,
        )
        zygote_end.close()
        host_end.setblocking(False)
        return host_end

    async def launch(self) -> RunnerProcess:
        loop = asyncio.get_running_loop()
        host_end, runner_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            async with self._lock:
                pid = await self._fork(loop, runner_end)
        finally:
            runner_end.close()
        reader, writer = await asyncio.open_unix_connection(sock=host_end)
        return RunnerProcess(pid=pid, reader=reader, writer=writer)

    async def _fork(self, loop: asyncio.AbstractEventLoop, runner_end: socket.socket) -> int:
        for attempt in range(2):
            if self._control is None or (self._proc is not None and self._proc.poll() is not None):
                self._control = self._start_zygote()
            try:
                socket.send_fds(self._control, [b"F"], [runner_end.fileno()])
                data = b""
                while len(data) < PID.size:
                    chunk = await loop.sock_recv(self._control, PID.size - len(data))
                    if not chunk:
                        raise ConnectionError("zygote closed its control socket")
                    data += chunk
                return int(PID.unpack(data)[0])
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
