"""`autokitteh` on purrflow: the AutoKitteh SDK's functions, carried out by purrflow's runtime.

In a session, `import autokitteh` gives this module when the PyPI package is not installed; when it is,
its functions are replaced by these and its integration helpers (autokitteh.slack, …) keep working
(see `purrflow.compat.autokitteh_loader`).
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from purrflow.compat.autokitteh import errors
from purrflow.compat.autokitteh.errors import AutoKittehError
from purrflow.sdk import (
    AttrDict,
    Event,
    Signal,
    activity,
    add_values,
    check_and_set_value,
    del_value,
    get_webhook_url,
    http_outcome,
    list_values_keys,
    mutate_value,
    next_event,
    set_value,
    store,
    subscribe,
    unsubscribe,
)
from purrflow.sdk import get_value as _get_value
from purrflow.sdk import next_signal as _next_signal
from purrflow.sdk import signal as _signal
from purrflow.sdk import start as _start
from purrflow.sdk._runtime import current as _current
from purrflow.wire import RecordOutcome

F = TypeVar("F", bound=Callable[..., Any])


def inhibit_activities(fn: F) -> F:
    """Calls made inside `fn` never become activities (SDK calls still are durable)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _current().run_inhibited(fn, args, kwargs)

    return wrapper  # type: ignore[return-value]


def register_no_activity(items: Any) -> None:
    """Functions, classes or modules whose calls never become activities."""
    _current().register_no_activity(items)


def start(loc: str, data: dict[str, Any] | None = None, memo: dict[str, Any] | None = None, project: str = "") -> str:
    """Start a session at `loc` in this project (another project is not supported: say so)."""
    if project:
        raise AutoKittehError(f"start(project={project!r}): purrflow starts sessions in the caller's project only")
    return _start(loc, data, memo)


def signal(session_id: str, name: str, payload: Any = None) -> None:
    """Send signal `name` to session `session_id` (AutoKitteh's targeted form)."""
    _signal(session_id, name, payload)


def next_signal(name: str | list[str], *, timeout: timedelta | float | None = None) -> Signal | None:
    return _next_signal(name, timeout=timeout)


def get_value(key: str) -> Any:
    return _get_value(key)


def outcome(v: Any, *, event_id: str | None = None) -> None:
    """Record the session's outcome value (kept in its journal)."""
    _current().call_host(RecordOutcome(pickle.dumps(v)))


def get_store_public_url() -> str:
    raise AutoKittehError("published values are not supported on purrflow")


def publish_value(key: str) -> None:
    raise AutoKittehError("published values are not supported on purrflow")


def unpublish_value(key: str) -> None:
    raise AutoKittehError("published values are not supported on purrflow")


__all__ = [
    "AttrDict",
    "AutoKittehError",
    "Event",
    "Signal",
    "activity",
    "add_values",
    "check_and_set_value",
    "del_value",
    "errors",
    "get_store_public_url",
    "get_value",
    "get_webhook_url",
    "http_outcome",
    "inhibit_activities",
    "list_values_keys",
    "mutate_value",
    "next_event",
    "next_signal",
    "outcome",
    "publish_value",
    "register_no_activity",
    "set_value",
    "signal",
    "start",
    "store",
    "subscribe",
    "unpublish_value",
    "unsubscribe",
]
