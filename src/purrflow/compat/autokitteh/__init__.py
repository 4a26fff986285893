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
from purrflow.errors import InvalidInputError
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
from purrflow.sdk import wait_for_signal as _wait_for_signal
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


_TARGETED_KEYWORDS = frozenset({"session_id", "name", "payload"})
_NAMED_KEYWORDS = frozenset({"signal_name", "data"})


def signal(*args: Any, **kwargs: Any) -> None:
    """Both forms of `signal`, told apart by their arguments:

    - AutoKitteh's targeted `signal(session_id, name, payload=None)`, received with `next_signal(name)`
      by that one session: three positional arguments; or any of the keywords `session_id=`, `name=`,
      `payload=`; or two positional strings of which the first is a session id (`ses_…`);
    - the SDK reference's project-wide `signal(signal_name, data=None)`, received with
      `wait_for_signal(signal_name)` by whichever session waits on the name: one positional argument; or
      the keywords `signal_name=`, `data=`; or two positional arguments whose first is not a session id.
    """
    targeted = _TARGETED_KEYWORDS & kwargs.keys()
    named = _NAMED_KEYWORDS & kwargs.keys()
    if targeted and named:
        raise InvalidInputError(
            f"signal(): {', '.join(sorted(targeted))} belongs to the targeted form, "
            f"{', '.join(sorted(named))} to the named one",
            hint="use signal(session_id, name, payload) or signal(signal_name, data)",
        )
    try:
        if targeted or len(args) == 3 or (len(args) == 2 and _is_session_id(args[0]) and isinstance(args[1], str)):
            _targeted_signal(*args, **kwargs)
        else:
            _named_signal(*args, **kwargs)
    except TypeError as err:
        raise InvalidInputError(
            f"signal(): {err}", hint="use signal(session_id, name, payload) or signal(signal_name, data)"
        ) from None


def _is_session_id(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("ses_")


def _targeted_signal(session_id: str, name: str, payload: Any = None) -> None:
    if not _is_session_id(session_id):
        raise InvalidInputError(
            f"signal(session_id, name, payload): {session_id!r} is not a session id",
            hint="session ids start with ses_ (autokitteh.start returns one); signal(name, data) signals by name",
        )
    _signal(session_id, name, payload)


def _named_signal(signal_name: str, data: Any = None) -> None:
    _signal(signal_name, data)


def wait_for_signal(signal_name: str, timeout: timedelta | float | None = None) -> Any:
    """Wait for the project-wide signal `signal_name` (sent with `signal(signal_name, data)`); its data,
    or None when `timeout` passes first."""
    return _wait_for_signal(signal_name, timeout)


def next_signal(name: str | list[str], *, timeout: timedelta | float | None = None) -> Signal | None:
    """Wait for a signal sent to this session (`signal(session_id, name, payload)`)."""
    return _next_signal(name, timeout=timeout)


def get_value(key: str, default: Any = None) -> Any:
    """The value stored under `key`, or `default` (None) when there is none: the SDK reference's form."""
    return _get_value(key, default)


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
    "wait_for_signal",
]
