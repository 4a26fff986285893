"""A pre-warmed parent of runners: one runner is always forked and waiting, so a session starts in
~0.1 ms instead of a fork (~4 ms), or a cold interpreter (25–200 ms).

The zygote keeps one *spare*: a child forked in advance that has already set up the server's sandbox frame
(`purrflow.runner.sandbox`) and waits for a session. The host sends `FORK_REQUEST` with the runner's
socket attached (SCM_RIGHTS); the zygote hands the socket to the spare (or, when none is ready, forks a
runner there and then), answers with the runner's pid, and only then forks the next spare — off the
session's critical path. It reaps its runners and tells the host how each ended (its exit code or signal,
and its CPU time), so that a dead runner's session is replayed with the reason known. Runners die with the
zygote (PR_SET_PDEATHSIG), which dies with the host (its control socket closes), so a `kill -9` of the
server leaves no runner behind writing side effects.

A SHAPE_REQUEST makes a *shape zygote*: a child that reads a `Prime` from the socket it came with, shuts
itself in as that prime says (limits, sandbox, the team's uid, the environment) and imports the
deployment's entry module, rewritten. It then serves that socket the same way, so that its runners —
forked after the import, each a copy-on-write image of it — start a session with nothing left to
import. A shape zygote runs the team's code (the module's top level) as the team's uid, so the host
trusts nothing it says beyond its own runners: it checks each pid it announces (see `launchers`).

Everything a runner needs is imported in `main()`, in the zygote's own process: importing this module
preloads nothing, so no host process ever runs the runner's import-time patches.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from purrflow.linux import die_with_parent, name_process
from purrflow.wire import EXITED, FORKED, PRIMED, REFUSED, SHAPE_REQUEST, ZYGOTE_NOTE

#: What a forked runner runs: the session on this socket, in the sandbox frame it has set up.
Runner = Callable[[socket.socket, Any], int]
PrepareFrame = Callable[[], Any]
#: What a shape zygote becomes: given its control socket and the frame, it primes itself and serves.
ShapeZygote = Callable[[socket.socket, Any], int]
_HANDOVER = b"G"


@dataclass
class _Spare:
    pid: int
    handover: socket.socket


def preload() -> tuple[Runner, PrepareFrame, ShapeZygote]:
    """Import what every forked runner would otherwise import itself; return the runner's entry point,
    what sets up the server's sandbox frame in a forked runner (a no-op without one), and what a shape
    zygote runs."""
    import json  # noqa: F401
    import pickle  # noqa: F401

    import purrflow.runner.main as runner_main
    import purrflow.sdk  # noqa: F401
    from purrflow.compat import autokitteh_loader, ctoai_loader
    from purrflow.runner.sandbox import frame_from_environment, set_up_frame

    # `import autokitteh` costs milliseconds (the PyPI package and its submodules): pay it once, here.
    autokitteh_loader.install()
    ctoai_loader.install()  # imports `requests`: once, here
    frame = frame_from_environment()
    return runner_main.serve, (lambda: set_up_frame(frame) if frame is not None else None), _shape_zygote


def _shape_zygote(control: socket.socket, shell: Any) -> int:
    """Prime this process for one shape of sessions, say whether that worked, then fork its runners."""
    from purrflow.runner.channel import Channel, ChannelClosed
    from purrflow.runner.main import prime_runner, serve, warm_up
    from purrflow.wire import Prime

    name_process("purr-warm")
    try:
        prime = Channel(control).recv()
    except ChannelClosed:
        return 0
    try:
        if not isinstance(prime, Prime) or prime.entry_file is None:
            raise TypeError("a shape zygote needs a Prime with an entry file")
        primed = prime_runner(prime, shell)
        warm_up(primed)
    except BaseException:
        with contextlib.suppress(OSError):
            control.sendall(ZYGOTE_NOTE.pack(PRIMED, 1, 0, 0.0))
        return 1
    control.sendall(ZYGOTE_NOTE.pack(PRIMED, 0, 0, 0.0))
    _Zygote(control, lambda sock, _: serve(sock, primed=primed), lambda: None).serve()
    return 0


class _Zygote:
    def __init__(
        self, control: socket.socket, run: Runner, prepare: PrepareFrame, shape: ShapeZygote | None = None
    ) -> None:
        self._control = control
        self._run = run
        self._prepare = prepare
        self._shape = shape
        self._wake_read, self._wake_write = os.pipe()
        self._spare: _Spare | None = None
        #: Runners handed to the host: only their ends are its business (an unused spare's is not).
        self._runners: set[int] = set()

    def serve(self) -> None:
        """Hand a runner to each request; tell the host when each one ends."""
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        signal.set_wakeup_fd(self._wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the select below through the pipe
        gc.freeze()  # keep the collector off the preloaded objects, so forked children share their pages
        self._spare = self._fork_spare()
        while True:
            ready, _, _ = select.select([self._control.fileno(), self._wake_read], [], [])
            if self._wake_read in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_read, 4096)
                if not self._report_exits():
                    return
            if self._control.fileno() not in ready:
                continue
            try:
                message, fds, _flags, _addr = socket.recv_fds(self._control, 16, 1)
            except OSError:
                return
            if not message or not fds:
                return
            if message == SHAPE_REQUEST and self._shape is not None:
                self._start_shape(fds[0])
                continue
            self._hand_out(fds[0])
            if self._spare is None:
                self._spare = self._fork_spare()  # off the critical path: the host has its runner

    def _hand_out(self, runner_fd: int) -> None:
        pid = self._from_spare(runner_fd)
        if pid is None:
            try:
                pid = self._fork(lambda: self._run_on(runner_fd))
            except OSError as err:  # out of processes or memory: the host tries again later
                os.close(runner_fd)
                self._control.sendall(ZYGOTE_NOTE.pack(REFUSED, err.errno or 0, 0, 0.0))
                return
        os.close(runner_fd)
        self._runners.add(pid)
        self._control.sendall(ZYGOTE_NOTE.pack(FORKED, pid, 0, 0.0))

    def _start_shape(self, control_fd: int) -> None:
        """Fork a shape zygote on `control_fd` (it reports to the host there, not through this zygote)."""
        shape = self._shape
        assert shape is not None
        try:
            pid = self._fork(lambda: shape(socket.socket(fileno=control_fd), self._prepare()))
        except OSError as err:
            os.close(control_fd)
            self._control.sendall(ZYGOTE_NOTE.pack(REFUSED, err.errno or 0, 0, 0.0))
            return
        os.close(control_fd)
        self._control.sendall(ZYGOTE_NOTE.pack(FORKED, pid, 0, 0.0))

    def _from_spare(self, runner_fd: int) -> int | None:
        spare, self._spare = self._spare, None
        if spare is None:
            return None
        try:
            socket.send_fds(spare.handover, [_HANDOVER], [runner_fd])
        except OSError:  # it died meanwhile: fork one the usual way
            with contextlib.suppress(ProcessLookupError):
                os.kill(spare.pid, signal.SIGKILL)
            return None
        finally:
            spare.handover.close()
        return spare.pid

    def _fork_spare(self) -> _Spare | None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            pid = self._fork(lambda: self._wait_as_spare(theirs), keep=theirs)
        except OSError:  # no process to spare now; a request forks its own
            ours.close()
            theirs.close()
            return None
        theirs.close()
        return _Spare(pid, ours)

    def _fork(self, child: Callable[[], int], keep: socket.socket | None = None) -> int:
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:  # the child: nothing of the zygote's but what it is given
            self._control.close()
            signal.set_wakeup_fd(-1)
            os.close(self._wake_read)
            os.close(self._wake_write)
            if self._spare is not None and self._spare.handover is not keep:
                self._spare.handover.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            die_with_parent()
            code = child()
        finally:
            os._exit(code)

    def _wait_as_spare(self, handover: socket.socket) -> int:
        name_process("purr-spare")
        frame = self._prepare()  # the slow part of the sandbox, before any session asks
        try:
            message, fds, _flags, _addr = socket.recv_fds(handover, 16, 1)
        except OSError:
            return 0
        handover.close()
        if not message or not fds:
            return 0  # the zygote ended without handing it a session
        return self._run(socket.socket(fileno=fds[0]), frame)

    def _run_on(self, runner_fd: int) -> int:
        return self._run(socket.socket(fileno=runner_fd), self._prepare())

    def _report_exits(self) -> bool:
        """Reap every ended runner and send its note; False when the host has gone."""
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return True
            if pid not in self._runners:
                continue  # a spare that never served: nobody is waiting for it
            self._runners.discard(pid)
            cpu = usage.ru_utime + usage.ru_stime
            try:
                self._control.sendall(ZYGOTE_NOTE.pack(EXITED, pid, os.waitstatus_to_exitcode(status), cpu))
            except OSError:
                return False


def main() -> None:
    die_with_parent()
    name_process("purr-zygote")
    control = socket.socket(fileno=int(sys.argv[1]))
    run, prepare, shape = preload()
    _Zygote(control, run, prepare, shape).serve()


if __name__ == "__main__":
    main()
