"""A pre-warmed parent that forks one runner per session (≈4 ms instead of a cold interpreter).

The host sends `FORK_REQUEST` with the runner's socket attached (SCM_RIGHTS); the zygote forks, the child
serves that session, and the zygote answers with the child's pid. It reaps its children and tells the host
how each ended (its exit code or signal, and its CPU time), so that a dead runner's session is replayed
with the reason known. Children die with the zygote (PR_SET_PDEATHSIG), which dies with the host (its
control socket closes), so a `kill -9` of the server leaves no runner behind writing side effects.

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

from purrflow.linux import die_with_parent
from purrflow.wire import EXITED, FORKED, REFUSED, ZYGOTE_NOTE


def preload() -> Callable[[socket.socket], int]:
    """Import what every forked runner would otherwise import itself; return the runner's entry point
    (with the server's sandbox frame, when it has one)."""
    import json  # noqa: F401
    import pickle  # noqa: F401

    import purrflow.runner.main as runner_main
    import purrflow.sdk  # noqa: F401
    from purrflow.compat import autokitteh_loader, ctoai_loader
    from purrflow.runner.sandbox import frame_from_environment

    # `import autokitteh` costs milliseconds (the PyPI package and its submodules): pay it once, here.
    autokitteh_loader.install()
    ctoai_loader.install()  # imports `requests`: once, here
    frame = frame_from_environment()
    return lambda sock: runner_main.serve(sock, frame)


def serve(control: socket.socket, run: Callable[[socket.socket], int]) -> None:
    """Fork a runner per request; tell the host when each one ends, and how (its status, its CPU time)."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the select below through the pipe
    gc.freeze()  # keep the collector off the preloaded objects, so forked children share their pages
    while True:
        ready, _, _ = select.select([control.fileno(), wake_read], [], [])
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 4096)
            if not _report_exits(control):
                return
        if control.fileno() not in ready:
            continue
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, 16, 1)
        except OSError:
            return
        if not message or not fds:
            return
        try:
            pid = os.fork()
        except OSError as err:  # out of processes or memory: the host tries again later; the zygote lives on
            os.close(fds[0])
            control.sendall(ZYGOTE_NOTE.pack(REFUSED, err.errno or 0, 0, 0.0))
            continue
        if pid == 0:
            control.close()
            signal.set_wakeup_fd(-1)
            os.close(wake_read)
            os.close(wake_write)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            die_with_parent()
            code = 1
            try:
                code = run(socket.socket(fileno=fds[0]))
            finally:
                os._exit(code)
        os.close(fds[0])
        control.sendall(ZYGOTE_NOTE.pack(FORKED, pid, 0, 0.0))


def _report_exits(control: socket.socket) -> bool:
    """Reap every ended runner and send its note; False when the host has gone."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return True
        cpu = usage.ru_utime + usage.ru_stime
        try:
            control.sendall(ZYGOTE_NOTE.pack(EXITED, pid, os.waitstatus_to_exitcode(status), cpu))
        except OSError:
            return False


def main() -> None:
    die_with_parent()
    control = socket.socket(fileno=int(sys.argv[1]))
    serve(control, preload())


if __name__ == "__main__":
    main()
