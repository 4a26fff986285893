"""What a runner sets up around itself before it runs a line of user code: its sandbox and its limits.

The host decides (`purrflow.engine.sandbox`), the runner applies (`purrflow.runner.sandbox`), in the
forked process, while it still has the privileges to: a mount namespace of its own in which only what is
listed here is visible, then an unprivileged uid of the session's team.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Per runner process; None is no limit."""

    memory_bytes: int | None = None
    cpu_seconds: int | None = None
    open_files: int | None = None


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """The runner's view of the filesystem and who it runs as. Every path is absolute and resolved."""

    uid: int
    gid: int
    #: Covered by an empty, read-only view: the data folder, the server user's home.
    hidden: tuple[str, ...]
    #: Covered by a fresh writable folder of the session's own: /tmp, /var/tmp, /dev/shm.
    private: tuple[str, ...]
    #: Bound back read-only at their own paths, in this order: the interpreter and packages, then the
    #: deployment's files.
    read_only: tuple[str, ...]
    #: Bound back writable: the run's state folder, paths the operator allowed (`--sandbox-allow`).
    read_write: tuple[str, ...]
