"""Starting runner processes: forked from a zygote (fast), or spawned cold (the fallback).

A runner is reached through a Unix socket pair; the host keeps one end as asyncio streams. The runner's
code runs only in those processes: they are started by module name, never imported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from purrflow.engine.seams import Launcher, RunnerExit
from purrflow.linux import die_with_parent
from purrflow.orchestrators.warm import WarmPolicy, WarmShapes
from purrflow.wire import (
    EXITED,
    FORK_REQUEST,
    FORKED,
    FRAME_VARIABLE,
    PRIMED,
    REFUSED,
    SHAPE_REQUEST,
    ZYGOTE_NOTE,
    Prime,
    SandboxFrame,
    encode,
)

log = logging.getLogger("purrflow.orchestrators.launchers")
#: How long a shape zygote may take to import its project before its sessions start cold instead.
PRIME_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ChildRunner:
    """A runner process of ours (implements `RunnerProcess`)."""

    pid: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ended: asyncio.Future[RunnerExit]
    warm: bool = False

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)

    async def exited(self) -> RunnerExit:
        return await asyncio.shield(self.ended)


RunnerKind = Literal["zygote", "spawn"]
#: Errors that mean "not now": the session waits and tries again, it does not fail.
RESOURCE_ERRORS = frozenset({errno.EAGAIN, errno.ENOMEM, errno.EMFILE, errno.ENFILE})


def make_launcher(kind: str, frame: SandboxFrame | None = None, warm: WarmPolicy | None = None) -> Launcher:
    """`spawn`: a fresh interpreter per session; anything else: forks of a zygote, and warm runners as
    `warm` allows. With a `frame`, every runner sets up the server's sandbox frame as soon as it is forked."""
    return SpawnLauncher(frame) if kind == "spawn" else ZygoteLauncher(frame, warm)


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

    async def launch(self, prime: Prime | None = None) -> ChildRunner:
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

    @property
    def warm_shapes(self) -> int:
        return 0  # a fresh interpreter each time: nothing is kept warm

    async def close(self) -> None:
        return None


class _Zygote:
    """One zygote process, and the notes it sends: runners forked, runners ended.

    The server's own zygote runs no user code; a shape zygote (`trusted=False`) has imported a team's
    project, so the pids it announces are checked to be its own children before the host ever signals
    them.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, control: socket.socket, pid: int, *, trusted: bool) -> None:
        control.setblocking(False)
        self.control = control
        self.pid = pid
        self.trusted = trusted
        self._loop = loop
        self._turn = asyncio.Lock()
        self._forked: asyncio.Future[int] | None = None
        self._primed: asyncio.Future[bool] = loop.create_future()
        self._ends: dict[int, asyncio.Future[RunnerExit]] = {}
        #: Runners forked and not yet ended (a shape zygote forked by the server's is not one).
        self.running = 0
        self._asked = FORK_REQUEST
        self._reader = loop.create_task(self._read())

    @property
    def alive(self) -> bool:
        return not self._reader.done()

    async def fork(self, runner_end: socket.socket) -> int:
        """Hand the zygote a runner's socket; the forked runner's pid."""
        return await self._request(FORK_REQUEST, runner_end)

    async def fork_shape(self, control_end: socket.socket) -> int:
        """Ask the server's zygote for a shape zygote on `control_end`; its pid."""
        return await self._request(SHAPE_REQUEST, control_end)

    async def primed(self) -> bool:
        """Whether this shape zygote has primed itself (False: it could not, or it died first)."""
        return await asyncio.shield(self._primed)

    async def _request(self, kind: bytes, end: socket.socket) -> int:
        async with self._turn:
            self._forked = self._loop.create_future()
            self._asked = kind
            socket.send_fds(self.control, [kind], [end.fileno()])
            pid = await self._forked
        if kind == FORK_REQUEST and not self.trusted and _parent_of(pid) != self.pid:
            raise ConnectionError(f"the shape zygote {self.pid} announced a process {pid} that is not its runner")
        return pid

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
                    self._note(kind, pid, code, cpu)
        except OSError:
            return
        finally:  # the zygote is gone, and its runners with it: nobody can say how they ended
            if self._forked is not None and not self._forked.done():
                self._forked.set_exception(ConnectionError("the zygote closed its control socket"))
            _settle(self._primed, False)
            for future in list(self._ends.values()):
                _settle(future, RunnerExit())

    def _note(self, kind: bytes, pid: int, code: int, cpu: float) -> None:
        if kind == FORKED and self._forked is not None:
            if self._asked == FORK_REQUEST:
                self.running += 1
            _settle(self._forked, pid)
        elif kind == REFUSED and self._forked is not None and not self._forked.done():
            self._forked.set_exception(OSError(pid, f"the zygote could not fork: {os.strerror(pid)}"))
        elif kind == PRIMED:
            _settle(self._primed, pid == 0)
        elif kind == EXITED:
            self.running = max(0, self.running - 1)
            ending = self._ends.get(pid)
            if ending is None:  # it ended before its launch asked: keep it for that
                ending = self._ends[pid] = self._loop.create_future()
            _settle(ending, RunnerExit(int(code), cpu))

    async def close(self) -> None:
        self.control.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)
        self._reader.cancel()


async def _handed(request: Callable[[socket.socket], Awaitable[int]]) -> tuple[socket.socket, int]:
    """A socket pair whose other end `request` hands to a zygote: our end, and the pid that got theirs."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        pid = await request(theirs)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return ours, pid


def _parent_of(pid: int) -> int | None:
    """The parent of process `pid` (None if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


class _ServerZygote(_Zygote):
    """The server's zygote: a child of this process, started from the runner's module."""

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
        super().__init__(loop, host_end, self.proc.pid, trusted=True)

    @property
    def alive(self) -> bool:
        return super().alive and self.proc.poll() is None

    async def close(self) -> None:
        await super().close()
        await self._loop.run_in_executor(None, self.proc.wait)


class ZygoteLauncher:
    """Forks runners from a pre-warmed zygote process (restarted if it dies), and warm runners from shape
    zygotes that `WarmShapes` keeps for the deployments sessions start often."""

    def __init__(self, frame: SandboxFrame | None = None, warm: WarmPolicy | None = None) -> None:
        self._frame = frame
        self._zygote: _ServerZygote | None = None
        self._lock = asyncio.Lock()
        self._warm = WarmShapes(self._shape_zygote, warm or WarmPolicy())

    async def launch(self, prime: Prime | None = None) -> ChildRunner:
        if prime is not None:
            shape = self._warm.take(prime)
            if shape is not None:
                try:
                    return await self._launch_from(shape, warm=True)
                except (OSError, ConnectionError) as err:
                    if isinstance(err, OSError) and err.errno in RESOURCE_ERRORS:
                        raise
                    log.warning("a shape zygote failed (%s); the session starts cold", err)
                    await self._warm.discard(shape)
        for attempt in range(2):
            async with self._lock:
                zygote = await self._server_zygote()
            try:
                return await self._launch_from(zygote, warm=False)
            except OSError as err:  # ConnectionError too: the zygote has gone
                if err.errno in RESOURCE_ERRORS or attempt:
                    raise  # the machine is short of processes or memory; or a new zygote failed as well
                await zygote.close()
        raise AssertionError("unreachable")

    @property
    def warm_shapes(self) -> int:
        return self._warm.warm

    async def _launch_from(self, zygote: _Zygote, *, warm: bool) -> ChildRunner:
        host_end, pid = await _handed(zygote.fork)
        reader, writer = await asyncio.open_unix_connection(sock=host_end)
        return ChildRunner(pid=pid, reader=reader, writer=writer, ended=zygote.ended(pid), warm=warm)

    async def _server_zygote(self) -> _ServerZygote:
        """The server's zygote, started again if it has died."""
        if self._zygote is None or not self._zygote.alive:
            if self._zygote is not None:
                await self._zygote.close()
            self._zygote = _ServerZygote(asyncio.get_running_loop(), self._frame)
        return self._zygote

    async def _shape_zygote(self, prime: Prime) -> _Zygote | None:
        """A zygote primed for `prime`'s shape, or None when it could not prime itself (its sessions then
        start cold, and show why)."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            server = await self._server_zygote()
        host_end, pid = await _handed(server.fork_shape)
        shape = _Zygote(loop, host_end, pid, trusted=False)
        try:
            await loop.sock_sendall(host_end, encode(prime))
            if await asyncio.wait_for(shape.primed(), timeout=PRIME_TIMEOUT_SECONDS):
                return shape
        except (OSError, TimeoutError):
            pass
        await shape.close()
        return None

    async def close(self) -> None:
        await self._warm.close()
        if self._zygote is not None:
            await self._zygote.close()
            self._zygote = None


T = TypeVar("T")


def _settle(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)
