"""Starting runner processes: forked from a zygote (fast), or spawned cold (the fallback).

A runner is reached through a Unix socket pair; the host keeps one end as asyncio streams. The runner's
code runs only in those processes: they are started by module name, never imported here.
"""

from __future__ import annotations

import asyncio
import collections
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
    FORKED,
    FRAME_VARIABLE,
    NO_SPARE,
    PRIMED,
    REFUSED,
    SHAPE_REQUEST,
    SPARE,
    SPARE_REQUEST,
    ZYGOTE_NOTE,
    Prime,
    SandboxFrame,
    encode,
)

log = logging.getLogger("purrflow.orchestrators.launchers")
#: How long a shape zygote may take to import its project before its sessions start cold instead.
PRIME_TIMEOUT_SECONDS = 30.0
#: Spares a zygote keeps ready: one to start with; a launch that finds none asks for one more, up to the
#: most. Sessions that find none wait for the next spares forked, with at most MOST_ASKED asked at once.
FIRST_SPARES = 1
MOST_SPARES = 4
MOST_ASKED = 8
#: A spare taken is replaced once its session's runner has ended, or this long after, whichever is first:
#: a fork while the session runs would take a core from it (and from the server) on a small machine.
REFILL_SECONDS = 0.1


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
    """One zygote process: the spares it has handed us, and the notes it sends (runners forked, ended).

    The server's own zygote runs no user code; a shape zygote (`trusted=False`) has imported a team's
    project, so the pids it announces are checked to be its own children before the host ever signals
    them (or writes a session's start to them).
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
        #: Spares ready for a session (pid → our end of its socket), oldest first.
        self._spares: dict[int, socket.socket] = {}
        #: Spares we closed unused: their end is nobody's business.
        self._dropped: set[int] = set()
        self._wanted = FIRST_SPARES
        self._asked = 1  # the zygote offers its first spare unasked
        #: Sockets that came with notes, in order; each SPARE note takes the next.
        self._fds: collections.deque[int] = collections.deque()
        #: Launches waiting for the next spare, first come first served.
        self._waiters: collections.deque[asyncio.Future[tuple[socket.socket, int]]] = collections.deque()
        #: Runners handed out and not yet ended (a shape zygote forked by the server's is not one).
        self.running = 0
        self._reader = loop.create_task(self._read())

    @property
    def alive(self) -> bool:
        return not self._reader.done()

    async def take(self) -> tuple[socket.socket, int]:
        """A runner waiting for its start on the socket returned, and its pid: a spare at hand, or the next
        one the zygote forks."""
        if self._spares:
            pid = next(iter(self._spares))
            self.running += 1
            self._loop.call_later(REFILL_SECONDS, self._refill)
            return self._spares.pop(pid), pid
        if not self.alive:
            raise ConnectionError("the zygote has gone")
        waiter: asyncio.Future[tuple[socket.socket, int]] = self._loop.create_future()
        self._waiters.append(waiter)
        self._wanted = min(MOST_SPARES, self._wanted + 1)
        self._refill()
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                sock, pid = waiter.result()  # handed to us as we were cancelled: back to the pool
                self.running -= 1
                self._spares[pid] = sock
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _refill(self) -> None:
        """Ask for as many spares as launches wait for, plus those to keep at hand."""
        want = min(len(self._waiters) + self._wanted - len(self._spares), MOST_ASKED)
        while self.alive and self._asked < want:
            try:
                self.control.send(SPARE_REQUEST)
            except OSError:  # full (it is busy forking) or gone: the next launch or end asks again
                return
            self._asked += 1

    async def fork_shape(self, control_end: socket.socket) -> int:
        """Ask the server's zygote for a shape zygote on `control_end`; its pid."""
        return await self._request(SHAPE_REQUEST, control_end)

    async def primed(self) -> bool:
        """Whether this shape zygote has primed itself (False: it could not, or it died first)."""
        return await asyncio.shield(self._primed)

    async def _request(self, kind: bytes, end: socket.socket) -> int:
        async with self._turn:
            self._forked = self._loop.create_future()
            socket.send_fds(self.control, [kind], [end.fileno()])
            return await self._forked

    def _own(self, pid: int) -> bool:
        return self.trusted or _parent_of(pid) == self.pid

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
        """Read notes as they come (each read takes all there are), until the zygote is gone."""
        gone: asyncio.Future[None] = self._loop.create_future()
        buffer = bytearray()

        def readable() -> None:
            try:
                chunk, fds, flags, _ = socket.recv_fds(self.control, 65536, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                _settle(gone, None)
                return
            self._fds.extend(fds)
            if not chunk or flags & socket.MSG_CTRUNC:  # gone, or a spare's socket lost: nothing is certain
                _settle(gone, None)
                return
            buffer.extend(chunk)
            whole = len(buffer) - len(buffer) % ZYGOTE_NOTE.size
            for kind, pid, code, cpu in ZYGOTE_NOTE.iter_unpack(bytes(buffer[:whole])):
                self._note(kind, pid, code, cpu)
            del buffer[:whole]

        self._loop.add_reader(self.control, readable)
        try:
            await gone
        finally:  # the zygote is gone, and its runners with it: nobody can say how they ended
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self.control)
            if self._forked is not None and not self._forked.done():
                self._forked.set_exception(ConnectionError("the zygote closed its control socket"))
            _settle(self._primed, False)
            for future in list(self._ends.values()):
                _settle(future, RunnerExit())
            self._drop_spares()
            while self._waiters:
                _fail(self._waiters.popleft(), ConnectionError("the zygote closed its control socket"))

    def _note(self, kind: bytes, pid: int, code: int, cpu: float) -> None:
        if kind == SPARE:
            self._asked = max(0, self._asked - 1)
            self._add_spare(pid, self._fds.popleft() if self._fds else None)
        elif kind == NO_SPARE:  # out of processes or memory: the first launch waiting hears why
            self._asked = max(0, self._asked - 1)
            if self._waiters:
                _fail(self._waiters.popleft(), OSError(pid, f"the zygote could not fork: {os.strerror(pid)}"))
        elif kind == FORKED and self._forked is not None:
            _settle(self._forked, pid)
        elif kind == REFUSED and self._forked is not None and not self._forked.done():
            self._forked.set_exception(OSError(pid, f"the zygote could not fork: {os.strerror(pid)}"))
        elif kind == PRIMED:
            _settle(self._primed, pid == 0)
        elif kind == EXITED:
            if pid in self._dropped or self._spares.get(pid) is not None:
                self._dropped.discard(pid)
                spare = self._spares.pop(pid, None)
                if spare is not None:  # it died waiting (killed, out of memory): no session had it
                    spare.close()
                    self._refill()
                return
            self.running = max(0, self.running - 1)
            ending = self._ends.get(pid)
            if ending is None:  # it ended before its launch asked: keep it for that
                ending = self._ends[pid] = self._loop.create_future()
            _settle(ending, RunnerExit(int(code), cpu))
            self._refill()

    def _add_spare(self, pid: int, fd: int | None) -> None:
        if fd is None:
            log.warning("zygote %d announced spare %d without its socket", self.pid, pid)
            return
        sock = socket.socket(fileno=fd)
        if not self._own(pid):
            log.warning("the shape zygote %d announced a process %d that is not its runner", self.pid, pid)
            sock.close()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.running += 1
                waiter.set_result((sock, pid))
                return
        self._spares[pid] = sock

    def _drop_spares(self) -> None:
        for pid, sock in self._spares.items():
            sock.close()  # the spare reads the end of its socket and exits
            self._dropped.add(pid)
        self._spares.clear()
        while self._fds:
            os.close(self._fds.popleft())

    async def close(self) -> None:
        self._drop_spares()
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self.control)  # before its descriptor is closed (and maybe reused)
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
        host_end, pid = await zygote.take()
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


def _fail(future: asyncio.Future[T], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
