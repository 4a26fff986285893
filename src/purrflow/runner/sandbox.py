"""The runner shuts itself in before it runs user code: limits, a mount namespace, an unprivileged uid.

Done in the forked runner, once it knows its session and before it imports the project, in this order:
1. its standard streams go to /dev/null (it must not read the terminal of whoever started the server);
2. resource limits (memory as address space, CPU time, open files), which need no privileges;
3. with a sandbox (the server runs as root): its frame, set up right after the fork while the host still
   prepares the session — a mount namespace of its own in which the data folder and the server user's
   home are covered by empty read-only views, /tmp, /var/tmp and /dev/shm by private ones, the
   interpreter and packages bound back read-only and the operator's allowed paths writable, and /proc a
   fresh instance that shows no other user's processes; then, once the session is known, its deployment
   (read-only) and state folders bound back from inside the covered data folder, no new privileges, and
   the team's uid/gid.

Python 3.11 has no `os.unshare` or `mount`, so they go through libc. A failure here ends the session with
`SandboxError`: a runner never goes on unsandboxed when it was meant to be sandboxed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import tempfile
from pathlib import Path

from purrflow.errors import PurrflowError
from purrflow.linux import die_with_parent
from purrflow.wire import FRAME_VARIABLE, Limits, SandboxFrame, SandboxSpec

CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_NO_NEW_PRIVS = 38
O_PATH = getattr(os, "O_PATH", 0o10000000)
#: A private /tmp is memory; this keeps one session from filling the machine's.
PRIVATE_TMP_SIZE = "512m"


class SandboxError(PurrflowError):
    """The runner could not shut itself in as the host asked; the session does not run."""


class CpuLimitExceeded(BaseException):
    """Raised in the runner when its CPU time limit is reached (SIGXCPU), so the session ends naming it.
    A BaseException: a handler's `except Exception:` cannot swallow it."""


def quiet_standard_streams() -> None:
    """fds 0, 1 and 2 to /dev/null: output goes through the host channel, input comes from nowhere."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def apply_limits(limits: Limits) -> None:
    """Lower the process's soft and hard limits (allowed without privileges); a child inherits them."""
    if limits.memory_bytes is not None:
        _lower(resource.RLIMIT_AS, limits.memory_bytes)
    if limits.cpu_seconds is not None:
        # The soft limit sends SIGXCPU (the runner ends the session naming the limit); the hard one kills.
        _lower(resource.RLIMIT_CPU, limits.cpu_seconds, hard=limits.cpu_seconds + 5)
    if limits.open_files is not None:
        _lower(resource.RLIMIT_NOFILE, limits.open_files)


def _lower(kind: int, soft: int, *, hard: int | None = None) -> None:
    _, current_hard = resource.getrlimit(kind)
    wanted_hard = hard if hard is not None else soft
    if current_hard != resource.RLIM_INFINITY:
        wanted_hard = min(wanted_hard, current_hard)
    resource.setrlimit(kind, (min(soft, wanted_hard), wanted_hard))


class Frame:
    """The frame set up in this process (a handle on the covered data folder, to bind sessions' folders
    from)."""

    def __init__(self, spec: SandboxFrame, data_fd: int) -> None:
        self.spec = spec
        self.data_fd = data_fd


def frame_from_environment() -> SandboxFrame | None:
    """The server's frame, handed to the zygote (or a cold runner) in its environment."""
    text = os.environ.get(FRAME_VARIABLE)
    return SandboxFrame.decode(text) if text else None


def set_up_frame(spec: SandboxFrame) -> Frame | SandboxError:
    """The part of the sandbox every session shares, done right after the fork (the failure is kept, to
    be reported once the session is known)."""
    try:
        return _set_up_frame(spec)
    except OSError as err:
        return SandboxError(f"the runner could not set up its sandbox: {err}")


def enter(frame: Frame | SandboxError | None, spec: SandboxSpec) -> None:
    """The session's part, and then its team's uid, for good."""
    if isinstance(frame, SandboxError):
        raise frame
    if frame is None:
        raise SandboxError("the host asked for a sandbox, but this runner was started without its frame")
    try:
        _enter(frame, spec)
    except OSError as err:
        raise SandboxError(f"the runner could not set up its sandbox: {err}") from None


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source.encode() if source is not None else None,
            target.encode(),
            fstype.encode() if fstype is not None else None,
            ctypes.c_ulong(flags),
            data.encode() if data is not None else None,
        ),
        f"mount {target}",
    )


def _set_up_frame(spec: SandboxFrame) -> Frame:
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host's mounts
    data_fd = os.open(spec.data_dir, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)  # sessions' folders, later
    binds = [(path, True) for path in spec.read_only] + [(path, False) for path in spec.read_write]
    sources = {path: os.open(path, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for path, _ in binds}
    covered: list[str] = []
    for path, private in sorted(
        [(p, False) for p in spec.hidden] + [(p, True) for p in spec.private], key=lambda item: len(item[0])
    ):
        if not os.path.isdir(path) or any(_within(path, done) for done in covered):
            continue
        options = f"mode=1777,size={PRIVATE_TMP_SIZE}" if private else "mode=0755,size=1m"
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, options)
        covered.append(path)
    for path, read_only in binds:
        if any(_within(path, done) for done in covered):  # else it is visible as it is
            _bind(sources[path], path, read_only=read_only)
    for fd in sources.values():
        os.close(fd)
    with contextlib.suppress(OSError):  # other users' processes out of sight (their /proc files stay unreadable)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
    return Frame(spec, data_fd)


def _enter(frame: Frame, spec: SandboxSpec) -> None:
    data_dir = frame.spec.data_dir
    for path, read_only in [(p, True) for p in spec.read_only] + [(p, False) for p in spec.read_write]:
        if not _within(path, data_dir):
            raise OSError(0, f"{path} is not inside the data folder")
        relative = os.path.relpath(path, data_dir)
        source = os.open(relative, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=frame.data_fd)
        try:
            _bind(source, path, read_only=read_only)
        finally:
            os.close(source)
    os.close(frame.data_fd)
    for path in frame.spec.hidden:  # the empty views stay empty: nothing more can be put there
        with contextlib.suppress(OSError):  # one covered by another is not a mount of its own
            _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    os.setgroups([])
    os.setresgid(spec.gid, spec.gid, spec.gid)
    os.setresuid(spec.uid, spec.uid, spec.uid)
    die_with_parent()  # again: changing the uid cleared it, and this process must not outlive its zygote


def _bind(source_fd: int, path: str, *, read_only: bool) -> None:
    os.makedirs(path, exist_ok=True)
    _mount(f"/proc/self/fd/{source_fd}", path, None, MS_BIND | MS_REC)
    if read_only:
        _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _within(path: str, folder: str) -> bool:
    return Path(path).is_relative_to(folder)


def private_home() -> tuple[str, str]:
    """(HOME, TMPDIR) of the session: in a sandbox its private /tmp; else a fresh folder of its own."""
    base = tempfile.mkdtemp(prefix="purrflow-session-")
    home = os.path.join(base, "home")
    os.mkdir(home, 0o700)
    return home, base
