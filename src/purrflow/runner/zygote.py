"""A pre-warmed parent of runners, and a supply of runners forked in advance, so that a session starts by
writing its start to a runner that is already waiting (~0.1 ms) instead of a fork (~4 ms), or a cold
interpreter (25–200 ms).

The zygote keeps the host supplied with *spares*: children forked in advance that have set up the server's
sandbox frame (`purrflow.runner.sandbox`) and wait, on a socket whose other end the zygote has handed the
host (SCM_RIGHTS, with the spare's pid), for a session's start. It offers one as it begins to serve, and
forks one more for each SPARE_REQUEST: the host asks once the session that took one has ended (or a
little later), so the fork happens off the session's critical path, and the host decides how many to
keep (more when launches find none; they wait for the next one). The zygote reaps its runners and
tells the host how each ended (its exit code or signal, and its CPU time), so that a dead runner's session
is replayed with the reason known. Runners die with the zygote (PR_SET_PDEATHSIG), which dies with the
host (its control socket closes), so a `kill -9` of the server leaves no runner behind writing side
effects.

A SHAPE_REQUEST makes a *shape zygote*: a child that reads a `Prime` from the socket it came with, shuts
itself in as that prime says (limits, sandbox, the team's uid, the environment) and imports the
deployment's entry module, rewritten. It then serves that socket the same way, so that its runners —
forked after the import, each a copy-on-write image of it — start a session with nothing left to
import; each makes its session's HOME and TMPDIR while it waits. A shape zygote runs the team's code (the
module's top level) as the team's uid, so the host trusts nothing it says beyond its own runners: it
checks each pid it announces (see `launchers`).

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
from typing import Any

from purrflow.linux import die_with_parent, name_process
from purrflow.wire import EXITED, FORKED, NO_SPARE, PRIMED, REFUSED, SHAPE_REQUEST, SPARE, SPARE_REQUEST, ZYGOTE_NOTE

#: What a forked runner runs: the session on this socket, in the sandbox frame it has set up.
Runner = Callable[[socket.socket, Any], int]
PrepareFrame = Callable[[], Any]
#: What a shape zygote becomes: given its control socket and the frame, it primes itself and serves.
ShapeZygote = Callable[[socket.socket, Any], int]


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
    from purrflow.runner.sandbox import private_home
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
    # Each spare makes its session's HOME and TMPDIR while it waits (it serves one session): milliseconds
    # off the start.
    _Zygote(control, lambda sock, home: serve(sock, primed=primed, home=home), private_home).serve()
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
        #: Spares offered and runners forked: how each ends is the host's business.
        self._runners: set[int] = set()

    def serve(self) -> None:
        """Offer spares, fork the runners asked for; tell the host when each one ends."""
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        signal.set_wakeup_fd(self._wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the select below through the pipe
        gc.freeze()  # keep the collector off the preloaded objects, so forked children share their pages
        if not self._offer_spare():
            return
        while True:
            ready, _, _ = select.select([self._control.fileno(), self._wake_read], [], [])
            if self._wake_read in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_read, 4096)
                if not self._report_exits():
                    return
            if self._control.fileno() not in ready:
                continue
            try:  # one request at a time: each is one byte, with at most one socket attached
                message, fds, _flags, _addr = socket.recv_fds(self._control, 1, 1)
            except OSError:
                return
            if not message:
                return
            if message == SPARE_REQUEST and not fds:
                if not self._offer_spare():
                    return
            elif message == SHAPE_REQUEST and self._shape is not None and fds:
                self._start_shape(fds[0])
            else:
                for fd in fds:
                    os.close(fd)
                return  # not our protocol: the host is confused or gone

    def _offer_spare(self) -> bool:
        """Fork a spare and hand the host its socket; False when the host has gone."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            pid = self._fork(lambda: self._wait_as_spare(theirs), close=ours)
        except OSError as err:  # out of processes or memory: the host's launch tries again later
            ours.close()
            try:
                self._control.sendall(ZYGOTE_NOTE.pack(NO_SPARE, err.errno or 0, 0, 0.0))
            except OSError:
                return False
            return True
        finally:
            theirs.close()
        self._runners.add(pid)
        try:
            socket.send_fds(self._control, [ZYGOTE_NOTE.pack(SPARE, pid, 0, 0.0)], [ours.fileno()])
        except OSError:
            return False
        finally:
            ours.close()
        return True

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

    def _fork(self, child: Callable[[], int], close: socket.socket | None = None) -> int:
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:  # the child: nothing of the zygote's but what it is given
            self._control.close()
            if close is not None:
                close.close()
            signal.set_wakeup_fd(-1)
            os.close(self._wake_read)
            os.close(self._wake_write)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            die_with_parent()
            code = child()
        finally:
            os._exit(code)

    def _wait_as_spare(self, session: socket.socket) -> int:
        name_process("purr-spare")
        frame = self._prepare()  # the slow part of the sandbox (or a warm runner's HOME), before any session
        return self._run(session, frame)  # it waits for its start there; the host may close it unused

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
                continue  # a shape zygote: it reports to the host itself
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
