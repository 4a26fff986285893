"""Who a session runs for: `user()` → {id, username, email}, `team()` → {id, name}.

A session runs for whoever started it (the CLI or API caller, or the parent session's user); sessions
started by webhooks and schedules run for the project's owner, the user who first deployed it.
"""

from __future__ import annotations

from purrflow.sdk import _runtime
from purrflow.wire import GetTeam, GetUser


def user() -> dict[str, str]:
    return _runtime.current().call_host(GetUser())


def team() -> dict[str, str]:
    return _runtime.current().call_host(GetTeam())
