"""The SDK's functions. Each one is a step: it goes through the runtime, which journals it."""

from __future__ import annotations

import functools
import json as jsonlib
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from purrflow.errors import InvalidInputError
from purrflow.sdk import _runtime
from purrflow.wire import HttpOutcome, RetryPolicy, StartChild, StartWorkflow
from purrflow.wire.retries import DEFAULT_MAX_BACKOFF

F = TypeVar("F", bound=Callable[..., Any])

_UNSET: Any = object()
_LOC = re.compile(r"^[^:]+\.py:[A-Za-z_][A-Za-z0-9_]*$")
_WORKFLOW = re.compile(r"^([A-Za-z0-9_-]+/)?[A-Za-z0-9_-]+(:[\w][\w.-]*)?$")


@overload
def activity(fn: F) -> F: ...
@overload
def activity(
    fn: None = None,
    *,
    name: str | None = None,
    retries: int | None = None,
    backoff: float = 1.0,
    max_backoff: float = DEFAULT_MAX_BACKOFF,
    non_retryable: tuple[type[BaseException], ...] = (),
) -> Callable[[F], F]: ...
def activity(
    fn: F | None = None,
    *,
    name: str | None = None,
    retries: int | None = None,
    backoff: float = 1.0,
    max_backoff: float = DEFAULT_MAX_BACKOFF,
    non_retryable: tuple[type[BaseException], ...] = (),
) -> F | Callable[[F], F]:
    """Make every call of `fn` one durable step: it runs once, its result is journaled, and replay
    returns that result without running it again. Nothing inside it is journaled separately.

    Arguments need not be picklable (they never leave the process); the result should be. A step in
    flight when a process dies runs again, so activities should be idempotent.

    `retries=N` tries a failing call again up to N times (N+1 attempts in all), waiting `backoff`
    seconds before the first retry and twice as long before each next one, at most `max_backoff`.
    An exception in `non_retryable` (or a subclass) fails at once. Every failed attempt is journaled and
    every wait is a durable sleep, so a restart in between neither repeats an attempt nor loses one.
    Without `retries` the session's trigger's `retries` default applies (none unless it sets one).
    """
    policy = _retry_policy(retries, backoff, max_backoff, non_retryable)

    def decorate(func: F) -> F:
        step_name = name or f"{func.__module__}.{func.__qualname__}"

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return _runtime.current().run_step(step_name, func, args, kwargs, policy)

        wrapper.__purrflow_activity__ = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate(fn) if fn is not None else decorate


def _retry_policy(
    retries: int | None, backoff: float, max_backoff: float, non_retryable: tuple[type[BaseException], ...]
) -> RetryPolicy | None:
    """The decorator's policy (None: the trigger's default), or a clear error for a bad argument."""
    if retries is None:
        if backoff != 1.0 or max_backoff != DEFAULT_MAX_BACKOFF or non_retryable:
            raise InvalidInputError(
                "@activity(): backoff=, max_backoff= and non_retryable= need retries= too",
                hint="say how many times to retry, e.g. @activity(retries=3, backoff=2)",
            )
        return None
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidInputError(
            f"@activity(): retries must be a whole number of retries, 0 or more, not {retries!r}",
            hint="retries=3 runs the activity at most 4 times",
        )
    for what, seconds in (("backoff", backoff), ("max_backoff", max_backoff)):
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < float("inf"):
            raise InvalidInputError(f"@activity(): {what} must be a number of seconds, 0 or more, not {seconds!r}")
    if not isinstance(non_retryable, tuple) or not all(
        isinstance(kind, type) and issubclass(kind, BaseException) for kind in non_retryable
    ):
        raise InvalidInputError(
            f"@activity(): non_retryable must be a tuple of exception classes, not {non_retryable!r}",
            hint="e.g. non_retryable=(ValueError, PermissionError)",
        )
    return RetryPolicy(retries, float(backoff), float(max_backoff), non_retryable)


def start(loc: str, data: Mapping[str, Any] | None = None, memo: Mapping[str, Any] | None = None) -> str:
    """Start a session and return its id. It is started once: replay returns the same id.

    Two forms, told apart by the first argument:
    - a code location, `"file.py:function"` (or `"ops:<command>"` of this project's ops.yml): a *child*
      session of this one, AutoKitteh's `start(loc, data, memo)`. It gets an event whose `data` is
      `data` and signals this session when it ends (`next_signal(child_id)`);
    - a workflow name, `"deploy"` or `"other-project/deploy"` (CTO.ai's `start(workflowName)`): a new,
      independent run of a trigger, command or pipeline of your team, run for this session's user.
      `data` becomes its event's data; `memo` is not allowed.
    """
    if isinstance(loc, str) and not _LOC.match(loc) and not loc.startswith("ops:"):
        if not _WORKFLOW.match(loc):
            raise InvalidInputError(
                f"start(): {loc!r} is neither a code location nor a workflow name",
                hint="use 'file.py:function' for a child session, or a trigger/command name such as 'deploy'",
            )
        if memo:
            raise InvalidInputError("start(): memo is for child sessions; a workflow started by name has none")
        _check_json("start() data", dict(data or {}))
        workflow = StartWorkflow(loc.split(":")[0], dict(data or {}))  # CTO.ai names may carry :version
        return _runtime.current().call_host(workflow)
    if not isinstance(loc, str):
        raise InvalidInputError(f"start(): the location must be a string, not {type(loc).__name__}")
    child = StartChild(loc, dict(data or {}), {str(k): str(v) for k, v in (memo or {}).items()})
    _check_json("start() data", child.data)
    return _runtime.current().call_host(child)


def http_outcome(
    status_code: int = 200,
    *positional: Any,
    body: Any = _UNSET,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    more: bool = False,
) -> None:
    """Answer the synchronous webhook that started this session. The first answer wins; the session
    may go on working after it. The body may be text or bytes (sent as they are), or a dict/list (JSON).

    Two argument orders are in use, and the positions tell them apart:
    - `http_outcome(status_code, body)`: AutoKitteh programs pass the body second, so
      `http_outcome(200, {"a": 1})` answers the JSON body `{"a": 1}`;
    - `http_outcome(status_code, headers, body)`: the AutoKitteh SDK reference's order, so a second
      positional argument is the headers when a third is present, or when `body=` is given by keyword.
    Keywords (`status_code=`, `headers=`, `body=`, `json=`, `more=`) mean what they say in either form.
    """
    body, headers = _outcome_parts(positional, body, headers)
    if not isinstance(status_code, int) or not 100 <= status_code <= 599:
        raise InvalidInputError(f"http_outcome(): status_code must be an int from 100 to 599, not {status_code!r}")
    out_headers = {str(k): str(v) for k, v in (headers or {}).items()}
    lower = {k.lower() for k in out_headers}
    if json is not None or isinstance(body, dict | list):
        content = jsonlib.dumps(json if json is not None else body).encode()
        if "content-type" not in lower:
            out_headers["Content-Type"] = "application/json"
    elif isinstance(body, str):
        content = body.encode()
        if "content-type" not in lower:
            out_headers["Content-Type"] = "text/plain; charset=utf-8"
    elif isinstance(body, bytes | bytearray):
        content = bytes(body)
    elif body is None:
        content = b""
    else:
        raise InvalidInputError(f"http_outcome(): body must be str, bytes, dict or list, not {type(body).__name__}")
    _runtime.current().call_host(HttpOutcome(status_code, out_headers, content, more))


def _outcome_parts(
    positional: tuple[Any, ...], body: Any, headers: Mapping[str, str] | None
) -> tuple[Any, Mapping[str, str] | None]:
    """(body, headers) of `http_outcome`'s arguments, by the rule in its docstring."""
    if len(positional) > 2:
        raise InvalidInputError(
            f"http_outcome(): at most 3 positional arguments (status_code, headers, body), got {len(positional) + 1}"
        )
    if len(positional) == 2 or (len(positional) == 1 and body is not _UNSET):  # (status_code, headers, body)
        if headers is not None:
            raise InvalidInputError(
                "http_outcome(): the headers are given twice (by position and as headers=)",
                hint="use http_outcome(status_code, headers, body) or http_outcome(status_code, body, headers=...)",
            )
        headers = positional[0]
        if len(positional) == 2:
            if body is not _UNSET:
                raise InvalidInputError("http_outcome(): the body is given twice (by position and as body=)")
            body = positional[1]
        if headers is not None and not isinstance(headers, Mapping):
            raise InvalidInputError(
                "http_outcome(): in (status_code, headers, body) the headers must be a dict, "
                f"not {type(headers).__name__}"
            )
    elif positional:  # (status_code, body)
        body = positional[0]
    return (None if body is _UNSET else body), headers


def sleep(seconds: float) -> None:
    """Sleep durably: the session survives restarts and holds no process while it waits long."""
    _runtime.current().sleep(float(seconds))


def get_webhook_url(trigger: str) -> str:
    """The public URL of this project's webhook trigger `trigger`."""
    url = os.environ.get(f"{trigger}__webhook_url")
    if not url:
        raise InvalidInputError(
            f"get_webhook_url(): this project has no webhook trigger named {trigger!r}",
            hint="check the trigger's name in purrflow.yaml (its type must be webhook)",
        )
    return url


def _check_json(what: str, value: Any) -> None:
    try:
        jsonlib.dumps(value)
    except (TypeError, ValueError) as err:
        raise InvalidInputError(f"{what} must be JSON-serialisable: {err}") from None
