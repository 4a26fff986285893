"""What a runner sets up around itself before it runs a line of user code: its sandbox and its limits.

The host decides (`purrflow.engine.sandbox`), the runner applies (`purrflow.runner.sandbox`), in the
forked process, while it still has the privileges to. In two parts, so that the slow one overlaps with
the host's own work on the session:
- the *frame*, the same for every runner of a server — a mount namespace of its own in which the data
  folder and the server user's home are covered, /tmp, /var/tmp and /dev/shm are private, and the
  interpreter, its packages and the operator's allowed folders are bound back — is set up as soon as the
  runner is forked, before it knows its session;
- the *session's part* — its deployment and state folders bound back from inside the covered data
  folder, then its team's unprivileged uid — once `StartSession` arrives.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

#: The environment variable that hands a zygote (or a cold runner) its server's frame.
FRAME_VARIABLE = "PURRFLOW_SANDBOX_FRAME"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per runner process; None is no limit."""

    memory_bytes: int | None = None
    cpu_seconds: int | None = None
    open_files: int | None = None


@dataclass(frozen=True, slots=True)
class SandboxFrame:
    """What every runner of one server hides and shows. Every path is absolute and resolved."""

    #: Covered: sessions' own folders are bound back from inside it.
    data_dir: str
    #: Covered by an empty, read-only view: the data folder, the server user's home.
    hidden: tuple[str, ...]
    #: Covered by a fresh writable folder of the session's own: /tmp, /var/tmp, /dev/shm.
    private: tuple[str, ...]
    #: Bound back read-only at their own paths: the interpreter and the packages it imports.
    read_only: tuple[str, ...]
    #: Bound back writable: the folders the operator allowed (`--sandbox-allow`).
    read_write: tuple[str, ...]

    def encode(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def decode(cls, text: str) -> SandboxFrame:
        fields = json.loads(text)
        return cls(
            data_dir=str(fields["data_dir"]),
            hidden=tuple(fields["hidden"]),
            private=tuple(fields["private"]),
            read_only=tuple(fields["read_only"]),
            read_write=tuple(fields["read_write"]),
        )


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """One session's part: its team's uid, and its own folders inside the frame's data folder."""

    uid: int
    gid: int
    #: Bound back read-only: the deployment's files.
    read_only: tuple[str, ...]
    #: Bound back writable: the run's state folders.
    read_write: tuple[str, ...]
