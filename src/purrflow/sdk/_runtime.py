"""The channel every SDK call goes through, and its stand-in outside a session.

The SDK defines this interface; the runner implements it (`purrflow.runner.runtime`) and installs it
for its process. The runtime is process-wide rather than a context variable on purpose: a runner
process serves exactly one session, and threads that user code starts must see it too.
"""

from __future__ import annotations

import getpass
import itertools
import pickle
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from purrflow.errors import InvalidInputError
from purrflow.rules import analytics, config, secrets, values
from purrflow.wire import (
    NO_RETRIES,
    AddValues,
    CheckAndSetValue,
    ConfigDelete,
    ConfigGet,
    ConfigGetAll,
    ConfigSet,
    DelValue,
    GetTeam,
    GetUser,
    GetValue,
    HostOp,
    HttpOutcome,
    ListValueKeys,
    QueryEvents,
    RecordOutcome,
    RetryPolicy,
    SecretExists,
    SecretGet,
    SecretSet,
    SendSignal,
    SetValue,
    SleepUntil,
    StartChild,
    StartWorkflow,
    Subscribe,
    Track,
    Unsubscribe,
    WaitSpec,
)

R = TypeVar("R")


class Runtime(Protocol):
    """What the SDK needs from whoever runs the session."""

    @property
    def session_id(self) -> str | None: ...

    def run_step(
        self,
        name: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        retry: RetryPolicy | None = None,
    ) -> Any:
        """Run `fn` as one durable step (or return its journaled outcome on replay), tried again under
        `retry` (None: the session's default)."""

    def call_host(self, op: HostOp[R]) -> R:
        """Ask the host to perform `op` durably and return its result."""

    def sleep(self, seconds: float) -> None:
        """A durable sleep."""

    def wait(self, wait: WaitSpec) -> Any:
        """A durable wait (signals, events, prompts) answered by the host."""

    def run_inhibited(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run `fn` with no automatic steps inside it."""

    def notify(self, text: str) -> None:
        """Tell the session's person something through its interface (once, not again on replay)."""

    def emit_line(self, stream: str, text: str) -> None:
        """One line of the session's output on `stream` ("ux" for its person, "log" for its log only)."""

    def register_no_activity(self, items: Any) -> None:
        """Calls to these functions, classes or modules never become steps."""


class _Values:
    """The stand-in's value table (the rules in `purrflow.rules.values` run over it)."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self._blobs = blobs

    def get(self, key: str) -> bytes | None:
        return self._blobs.get(key)

    def keys(self) -> list[str]:
        return sorted(self._blobs)

    def put(self, key: str, blob: bytes) -> None:
        self._blobs[key] = blob

    def delete(self, key: str) -> bool:
        return self._blobs.pop(key, None) is not None


class LocalRuntime:
    """Outside a session (plain `python`, unit tests): calls behave sensibly, in memory, with the
    server's limits and checks.

    Values live in a dict, `start` records the call and returns a made-up id, `http_outcome` records the
    response, sleeps really sleep, and steps simply run. `started` and `responses` let tests assert.
    """

    project = "local"

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.started: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.outcomes: list[Any] = []
        self.config: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        self.tracked: list[dict[str, Any]] = []  # what track() stored, as events() answers it
        self.limits = values.ValueLimits()
        self._ids = itertools.count(1)

    @property
    def session_id(self) -> str | None:
        return None

    def run_step(
        self,
        name: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        retry: RetryPolicy | None = None,
    ) -> Any:
        """Run `fn`, and under `retry` again after each retried failure, really sleeping in between."""
        policy = retry or NO_RETRIES
        attempt = 1
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as err:
                if not policy.retries_after(err, attempt):
                    raise
                time.sleep(policy.delay(attempt))
                attempt += 1

    def call_host(self, op: HostOp[R]) -> R:
        return op.perform(self)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait(self, wait: WaitSpec) -> Any:
        """Outside a session nothing can arrive: a wait with a deadline times out, one without is refused."""
        if isinstance(wait, SleepUntil):
            time.sleep(max(0.0, wait.until - time.time()))
            return None
        if wait.deadline is None:
            raise InvalidInputError(f"{wait.step.label}() without a timeout would wait forever here")
        time.sleep(max(0.0, wait.deadline - time.time()))
        return None

    def run_inhibited(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return fn(*args, **kwargs)

    def notify(self, text: str) -> None:
        print(text, file=sys.stderr)

    def emit_line(self, stream: str, text: str) -> None:
        print(text, file=sys.stderr if stream == "log" else sys.stdout)

    def register_no_activity(self, items: Any) -> None:
        return None

    def value(self, key: str) -> Any:
        """Test helper: the unpickled value stored under `key`."""
        return pickle.loads(self.values[key])

    # -- HostOps: sessions ---------------------------------------------------------------------
    def start(self, op: StartChild) -> str:
        self.started.append({"loc": op.loc, "data": op.data, "memo": op.memo})
        return f"local_session_{next(self._ids)}"

    def start_workflow(self, op: StartWorkflow) -> str:
        self.started.append({"workflow": op.name, "data": op.data})
        return f"local_session_{next(self._ids)}"

    def signal(self, op: SendSignal) -> int:
        raise InvalidInputError("signal() needs a running purrflow session (no other session runs here)")

    def outcome(self, op: RecordOutcome) -> None:
        self.outcomes.append(pickle.loads(op.value))

    def http_outcome(self, op: HttpOutcome) -> None:
        self.responses.append({"status_code": op.status_code, "headers": op.headers, "body": op.body, "more": op.more})

    def subscribe(self, op: Subscribe) -> str:
        raise InvalidInputError("subscribe() needs a running purrflow session (it has the triggers)")

    def unsubscribe(self, op: Unsubscribe) -> None:
        raise InvalidInputError("unsubscribe() needs a running purrflow session")

    # -- HostOps: config and secrets -----------------------------------------------------------
    def config_get(self, op: ConfigGet) -> str | None:
        config.check_config(op.key)
        return self.config.get(op.key)

    def config_get_all(self, op: ConfigGetAll) -> dict[str, str]:
        return dict(self.config)

    def config_set(self, op: ConfigSet) -> dict[str, str]:
        config.check_config(op.key, op.value)
        self.config[op.key] = op.value
        return dict(self.config)

    def config_delete(self, op: ConfigDelete) -> bool:
        config.check_config(op.key)
        return self.config.pop(op.key, None) is not None

    def secret_get(self, op: SecretGet) -> dict[str, Any]:
        secrets.check_secret_key(op.key)
        if op.key in self.secrets:
            return {"found": True, "value": self.secrets[op.key]}
        return {"found": False, "keys": sorted(self.secrets)}

    def secret_exists(self, op: SecretExists) -> bool:
        secrets.check_secret_key(op.key)
        return op.key in self.secrets

    def secret_set(self, op: SecretSet) -> str:
        secrets.check_secret_key(op.key)
        self.secrets[op.key] = secrets.check_secret_value(op.key, op.value)
        return op.key

    # -- HostOps: identity ---------------------------------------------------------------------
    def user(self, op: GetUser) -> dict[str, str]:
        return {"id": "local", "username": getpass.getuser(), "email": ""}

    def team(self, op: GetTeam) -> dict[str, str]:
        return {"id": "local", "name": "local"}

    # -- HostOps: values -----------------------------------------------------------------------
    def get_value(self, op: GetValue) -> bytes | None:
        values.check_key(op.key)
        return self.values.get(op.key)

    def set_value(self, op: SetValue) -> None:
        values.set_value(_Values(self.values), self.limits, self.project, op.key, op.value)

    def del_value(self, op: DelValue) -> None:
        values.delete_value(_Values(self.values), self.project, op.key)

    def list_values_keys(self, op: ListValueKeys) -> list[str]:
        return sorted(self.values)

    def check_and_set_value(self, op: CheckAndSetValue) -> bool:
        return values.check_and_set(_Values(self.values), self.limits, self.project, op.key, op.expected, op.new)

    def add_values(self, op: AddValues) -> bytes:
        return values.add(_Values(self.values), self.limits, self.project, op.key, op.amount)

    # -- HostOps: analytics --------------------------------------------------------------------
    def track(self, op: Track) -> None:
        body = analytics.check_track(op.tags, op.event, op.metadata)
        self.tracked.append({**body, "timestamp": analytics.iso(time.time())})

    def events(self, op: QueryEvents) -> list[dict[str, Any]]:
        low, high = analytics.parse_window(op.start, op.end, now=time.time())
        found = [dict(e) for e in self.tracked if low <= analytics.parse_instant(e["timestamp"]) < high]
        analytics.check_session_events(len(found))
        return found


_local = LocalRuntime()
_runtime: Runtime = _local


def current() -> Runtime:
    return _runtime


def install(runtime: Runtime | None) -> None:
    """Make `runtime` the process's runtime (None restores the local stand-in)."""
    global _runtime
    _runtime = runtime if runtime is not None else _local


def local() -> LocalRuntime:
    """The in-memory stand-in used outside sessions (for assertions in unit tests)."""
    return _local
