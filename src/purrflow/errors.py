"""The exception hierarchy shared by every layer.

Every error a person can see derives from `PurrflowError` and carries a message that names the thing
that was wrong (the session, the step, the file and line) and says how to fix it. Control-flow signals
derive from `BaseException` so that a user's `except Exception:` cannot swallow them.
"""

from __future__ import annotations


class PurrflowError(Exception):
    """Base of every purrflow error. `hint` says how to fix it, when we know."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message}\n  hint: {hint}" if hint else message)

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross the host/runner pipe pickled; keep the keyword-only hint.
        return (_rebuild_error, (type(self), self.message, self.hint))


def _rebuild_error(cls: type[PurrflowError], message: str, hint: str | None) -> PurrflowError:
    err = cls.__new__(cls)
    PurrflowError.__init__(err, message, hint=hint)
    return err


class ManifestError(PurrflowError):
    """A manifest file is malformed; the message names the file, line and field."""


class NotFoundError(PurrflowError):
    """A project, session, trigger, deployment or value does not exist (or is not visible)."""


class InvalidInputError(PurrflowError):
    """A request or SDK call got an argument it cannot use."""


class TooLargeError(InvalidInputError):
    """A request body, or a part of one, over its limit (the API answers 413)."""


class FilterError(InvalidInputError):
    """A CEL filter that does not compile. The message names where it came from, the expression and the
    position; the fields carry the same facts for callers that re-word it (the manifest loader does).
    After crossing a process boundary only the message and hint survive; the fields fall back to these
    class defaults."""

    expression: str = ""
    line: int | None = None
    column: int | None = None
    problem: str = ""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        expression: str = "",
        line: int | None = None,
        column: int | None = None,
        problem: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.expression = expression
        self.line = line
        self.column = column
        self.problem = problem or message


class ValueLimitError(InvalidInputError):
    """The project value store refused a value (too large, too many keys, not picklable)."""


class FolderLimitError(PurrflowError):
    """A session's state or config folder grew past what a scaled platform carries between workers."""


class AuthError(PurrflowError):
    """A missing, unknown or revoked API token."""


class ForbiddenError(PurrflowError):
    """The caller's role does not allow this within their own team."""


class DeploymentError(PurrflowError):
    """A project cannot be deployed as it is (unknown call target, broken filter, …)."""


class RequirementsError(DeploymentError):
    """A project's requirements.txt could not be installed; the message ends with the installer's last
    lines. The deploy is refused and the project's current deployment keeps running."""


class NonDeterminismError(PurrflowError):
    """Replay found a different call than the journal recorded at the same step."""


class SessionStateError(PurrflowError):
    """An operation does not fit the session's state (e.g. stopping a finished session)."""


class InternalError(PurrflowError):
    """purrflow itself failed while serving a session (a bug of ours, or a database that refused a write).

    The handler sees it raised by the SDK call that was being served, or the session ends with it; the
    server logs the cause once, with its traceback, and goes on serving everyone else."""


class RemoteError(PurrflowError):
    """Stands in for an exception that could not be carried across processes as itself."""

    def __init__(self, message: str, *, type_name: str = "Exception", hint: str | None = None) -> None:
        self.type_name = type_name
        super().__init__(message, hint=hint)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_remote, (self.message, self.type_name, self.hint))


def _rebuild_remote(message: str, type_name: str, hint: str | None) -> RemoteError:
    return RemoteError(message, type_name=type_name, hint=hint)


class SessionSuspended(BaseException):
    """Raised inside a runner to unwind user code when the host asks it to give up its process."""
