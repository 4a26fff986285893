"""Starting runner processes: forked from a zygote (fast), or spawned cold (the fallback).

A runner is reached through a Unix socket pair; the host keeps one end as asyncio streams. The runner's
code runs only in those processes: they are started by module name, never imported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from typing import Literal, TypeVar

from purrflow.engine.seams import Launcher, RunnerExit
from purrflow.linux import die_with_parent
from purrflow.wire import EXITED, FORK_REQUEST, FORKED, FRAME_VARIABLE, REFUSED, ZYGOTE_NOTE, SandboxFrame


@dataclass(frozen=True)
class ChildRunner:
    """A runner process of ours (implements `RunnerProcess`)."""

    pid: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ended: asyncio.Future[RunnerExit]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)

    async def exited(self) -> RunnerExit:
        return await asyncio.shield(self.ended)


RunnerKind = Literal["zygote", "spawn"]
#: Errors that mean "not now": the session waits and tries again, it does not fail.
RESOURCE_ERRORS = frozenset({errno.EAGAIN, errno.ENOMEM, errno.EMFILE, errno.ENFILE})


def make_launcher(kind: str, frame: SandboxFrame | None = None) -> Launcher:
    """`spawn`: a fresh interpreter per session; anything else: forks of a zygote. With a `frame`, every
    runner sets up the server's sandbox frame as soon as it is forked."""
    return SpawnLauncher(frame) if kind == "spawn" else ZygoteLauncher(frame)


#: What a runner process starts with; its session's environment is set in it later (`StartSession.env`).
_KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "PYTHONHASHSEED")


def _child_env(frame: SandboxFrame | None) -> dict[str, str]:
    """Nothing of the server's environment but what an interpreter needs to start as the server's did,
    and the sandbox frame of its runners."""
    env = {name: os.environ[name] for name in _KEPT_VARIABLES if name in os.environ}
    if frame is not None:
        env[FRAME_VARIABLE] = frame.encode()
    env["PYTHONUNBUFFERED"] = "1"
    # Fewer malloc arenas: each thread's arena reserves 64 MiB of address space, which the memory limit
    # (RLIMIT_AS) counts.
    env["MALLOC_ARENA_MAX"] = "2"
    return env


class SpawnLauncher:
    """A fresh interpreter per session: slow (25–200 ms) but needs nothing running."""

    def __init__(self, frame: SandboxFrame | None = None) -> None:
        self._frame = frame

    async def launch(self) -> ChildRunner:
        loop = asyncio.get_running_loop()
        host_end, runner_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "purrflow.runner.main", str(runner_end.fileno())],
            pass_fds=[runner_end.fileno()],
            stdin=subprocess.DEVNULL,
            env=_child_env(self._frame),
            cwd="/",
            preexec_fn=die_with_parent,
        )
        runner_end.close()
        ended = loop.create_future()
        waiting = loop.run_in_executor(None, proc.wait)  # reaps it
        waiting.add_done_callback(lambda done: _settle(ended, RunnerExit(done.result(), None)))
        reader, writer = await asyncio.open_unix_connection(sock=host_end)
        return ChildRunner(pid=proc.pid, reader=reader, writer=writer, ended=ended)

    async def close(self) -> None:
        return None


class _Zygote:
    """One zygote process, and the notes it sends: runners forked, runners ended."""

    def __init__(self, loop: asyncio.AbstractEventLoop, frame: SandboxFrame | None) -> None:
        host_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "purrflow.runner.zygote", str(zygote_end.fileno())],
            pass_fds=[zygote_end.fileno()],
            stdin=subprocess.DEVNULL,
            env=_child_env(frame),
            cwd="/",
            preexec_fn=die_with_parent,
        )
        zygote_end.close()
        host_end.setblocking(False)
        self.control = host_end
        self._loop = loop
        self._forked: asyncio.Future[int] | None = None
        self._ends: dict[int, asyncio.Future[RunnerExit]] = {}
        self._reader = loop.create_task(self._read())

    @property
    def alive(self) -> bool:
        return not self._reader.done() and self.proc.poll() is None

    async def fork(self, runner_end: socket.socket) -> int:
        """Hand the zygote a runner's socket; the forked runner's pid (callers take turns)."""
        self._forked = self._loop.create_future()
        socket.send_fds(self.control, [FORK_REQUEST], [runner_end.fileno()])
        return await self._forked

    def ended(self, pid: int) -> asyncio.Future[RunnerExit]:
        """How runner `pid` ends; kept here only until whoever launched it holds it."""
        future = self._ends.get(pid)
        if future is None:
            future = self._ends[pid] = self._loop.create_future()
        if future.done():
            del self._ends[pid]
        else:
            future.add_done_callback(lambda _: self._ends.pop(pid, None))
        return future

    async def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = await self._loop.sock_recv(self.control, 4096)
                if not chunk:
                    return
                buffer += chunk
                while len(buffer) >= ZYGOTE_NOTE.size:
                    kind, pid, code, cpu = ZYGOTE_NOTE.unpack_from(buffer)
                    buffer = buffer[ZYGOTE_NOTE.size :]
                    if kind == FORKED and self._forked is not None:
                        _settle(self._forked, pid)
                    elif kind == REFUSED and self._forked is not None and not self._forked.done():
                        self._forked.set_exception(OSError(pid, f"the zygote could not fork: {os.strerror(pid)}"))
                    elif kind == EXITED:
                        ending = self._ends.get(pid)
                        if ending is None:  # it ended before its launch asked: keep it for that
                            ending = self._ends[pid] = self._loop.create_future()
                        _settle(ending, RunnerExit(int(code), cpu))
        except OSError:
            return
        finally:  # the zygote is gone, and its runners with it: nobody can say how they ended
            if self._forked is not None and not self._forked.done():
                self._forked.set_exception(ConnectionError("the zygote closed its control socket"))
            for future in list(self._ends.values()):
                _settle(future, RunnerExit())

    async def close(self) -> None:
        self.control.close()
        self.proc.kill()
        await self._loop.run_in_executor(None, self.proc.wait)
        self._reader.cancel()


class ZygoteLauncher:
    """Forks runners from one pre-warmed zygote process; restarts the zygote if it dies."""

    def __init__(self, frame: SandboxFrame | None = None) -> None:
        self._frame = frame
        self._zygote: _Zygote | None = None
        self._lock = asyncio.Lock()

    async def launch(self) -> ChildRunner:
        loop = asyncio.get_running_loop()
        host_end, runner_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            async with self._lock:
                zygote, pid = await self._fork(loop, runner_end)
        finally:
            runner_end.close()
        reader, writer = await asyncio.open_unix_connection(sock=host_end)
        return ChildRunner(pid=pid, reader=reader, writer=writer, ended=zygote.ended(pid))

    async def _fork(self, loop: asyncio.AbstractEventLoop, runner_end: socket.socket) -> tuple[_Zygote, int]:
        for attempt in range(2):
            if self._zygote is None or not self._zygote.alive:
                if self._zygote is not None:
                    await self._zygote.close()
                self._zygote = _Zygote(loop, self._frame)
            try:
                return self._zygote, await self._zygote.fork(runner_end)
            except OSError as err:
                if err.errno in RESOURCE_ERRORS:
                    raise  # the zygote is fine; the machine is short of processes or memory
                await self._zygote.close()
                self._zygote = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._zygote is not None:
            await self._zygote.close()
            self._zygote = None


T = TypeVar("T")


def _settle(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)
