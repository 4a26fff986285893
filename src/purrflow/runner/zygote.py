"""A pre-warmed parent that forks one runner per session (≈4 ms instead of a cold interpreter).

The host sends `FORK_REQUEST` with the runner's socket attached (SCM_RIGHTS); the zygote forks, the child
serves that session, and the zygote answers with the child's pid (`FORKED_PID`). Children are reaped
automatically (SIGCHLD ignored) and die with the zygote (PR_SET_PDEATHSIG), which dies with the host
(its control socket closes), so a `kill -9` of the server leaves no runner behind writing side effects.

Everything a runner needs is imported in `main()`, in the zygote's own process: importing this module
preloads nothing, so no host process ever runs the runner's import-time patches.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
from collections.abc import Callable

from purrflow.linux import die_with_parent
from purrflow.wire import FORKED_PID


def preload() -> Callable[[socket.socket], int]:
    """Import what every forked runner would otherwise import itself; return the runner's entry point."""
    import json  # noqa: F401
    import pickle  # noqa: F401

    import purrflow.runner.main as runner_main
    import purrflow.sdk  # noqa: F401
    from purrflow.compat import autokitteh_loader, ctoai_loader

    # `import autokitteh` costs milliseconds (the PyPI package and its submodules): pay it once, here.
    autokitteh_loader.install()
    ctoai_loader.install()  # imports `requests`: once, here
    return runner_main.serve


def serve(control: socket.socket, run: Callable[[socket.socket], int]) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    gc.freeze()  # keep the collector off the preloaded objects, so forked children share their pages
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, 16, 1)
        except OSError:
            return
        if not message or not fds:
            return
        pid = os.fork()
        if pid == 0:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            die_with_parent()
            code = 1
            try:
                code = run(socket.socket(fileno=fds[0]))
            finally:
                os._exit(code)
        os.close(fds[0])
        control.sendall(FORKED_PID.pack(pid))


def main() -> None:
    die_with_parent()
    control = socket.socket(fileno=int(sys.argv[1]))
    serve(control, preload())


if __name__ == "__main__":
    main()
