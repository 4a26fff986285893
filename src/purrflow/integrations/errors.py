"""The one error a broken connection raises, whichever integration it is for.

Programs create their clients at import time, so this error is usually the first thing a person sees of
a new project: it names the connection, the fields that are missing (or why the service refused them)
and the command that fixes it. The AutoKitteh compat layer subclasses it, so that
`except autokitteh.errors.ConnectionInitError` and `except purrflow.integrations.errors.ConnectionInitError`
both catch what the autokitteh helpers raise.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from purrflow.errors import PurrflowError


class ConnectionInitError(PurrflowError):
    """A connection is missing fields, or the service refused the ones it has.

    `missing` lists alternatives for one need (any one of them would do) or several needs; `reason` is what
    the service said. Both also travel in the message, which is all that survives a process boundary."""

    connection: str = ""
    missing: tuple[str, ...] = ()
    reason: str = ""
    any_of: bool = False

    def __init__(
        self,
        connection: str,
        *,
        missing: Sequence[str] = (),
        reason: str = "",
        any_of: bool = False,
    ) -> None:
        self.connection = connection
        self.missing = tuple(missing)
        self.reason = reason
        self.any_of = any_of
        project = os.environ.get("PURRFLOW_PROJECT") or "PROJECT"
        if self.missing:
            if any_of and len(self.missing) > 1:
                what = f"field {self.missing[0]} (or {', '.join(self.missing[1:])})"
            else:
                what = f"field{'s' if len(self.missing) > 1 else ''} {', '.join(self.missing)}"
            problem = f"connection {connection!r} is not initialized: missing {what}"
            example = f"{self.missing[0]}=…"
        else:
            problem = f"connection {connection!r} is not initialized"
            example = "FIELD=VALUE"
        if reason:
            problem += f" ({reason})"
        hint = (
            f"run `purr connections init {project} {connection}`, "
            f"or `purr connections set {project} {connection} {example}`"
        )
        super().__init__(problem, hint=hint)


__all__ = ["ConnectionInitError"]
