"""Commands a runner starts, in a process group that ends with the runner."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from purrflow.linux import die_with_parent


class GuardedProcess:
    """A command in a process group of its own, watched by a guard that ends the whole group if the
    runner dies — `kill -9` included — so no grandchild of a shell script outlives its session.

    The guard is a fork of the runner (no interpreter start-up): it leads a new session, asks for
    SIGTERM when the runner dies, runs the command and exits with its status (128 + n for signal n).
    """

    def __init__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        runner = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(out_read)
            os.close(err_read)
            _guard(runner, list(argv), cwd, dict(env), out_write, err_write)
        os.close(out_write)
        os.close(err_write)
        self.pid = pid
        self.stdout_fd, self.stderr_fd = out_read, err_read
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        """End the command and everything it started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.wait()

    def close(self) -> None:
        for fd in (self.stdout_fd, self.stderr_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _guard(runner: int, argv: list[str], cwd: Path, env: dict[str, str], out: int, err: int) -> None:
    """The guard's whole life (in the forked child); never returns."""
    try:
        for name in os.listdir("/proc/self/fd"):  # the runner's channel and daemon socket stay with it
            if int(name) > 2 and int(name) not in (out, err):
                with contextlib.suppress(OSError):
                    os.close(int(name))
        os.setsid()
        signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the zygote ignores it; the guard needs the status
        die_with_parent(signal.SIGTERM)
        if os.getppid() != runner:  # the runner died before the request took effect
            os.killpg(0, signal.SIGKILL)
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        except OSError as error:
            os.write(err, f"could not start {argv[0]}: {error}\n".encode())
            os._exit(127)
        os.close(out)
        os.close(err)
        code = proc.wait()
        os._exit(code if code >= 0 else 128 - code)
    except BaseException:
        os._exit(126)
