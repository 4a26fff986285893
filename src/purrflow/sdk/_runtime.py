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
from typing import Any, Protocol

from purrflow.errors import InvalidInputError, NotFoundError


class Runtime(Protocol):
    """What the SDK needs from whoever runs the session."""

    @property
    def session_id(self) -> str | None: ...

    def run_step(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run `fn` as one durable step (or return its journaled outcome on replay)."""

    def call_host(self, op: str, args: dict[str, Any]) -> Any:
        """Ask the host to perform `op` durably and return its result."""

    def sleep(self, seconds: float) -> None:
        """A durable sleep."""

    def run_inhibited(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run `fn` with no automatic steps inside it."""

    def notify(self, text: str) -> None:
        """Tell the session's person something through its interface (once, not again on replay)."""

    def emit_line(self, stream: str, text: str) -> None:
        """One line of the session's output on `stream` ("ux" for its person, "log" for its log only)."""

    def register_no_activity(self, items: Any) -> None:
        """Calls to these functions, classes or modules never become steps."""

    def wait(self, name: str, kind: str, spec: dict[str, Any]) -> Any:
        """A durable wait of `kind` (signals, events) answered by the host."""


class LocalRuntime:
    """Outside a session (plain `python`, unit tests): calls behave sensibly, in memory.

    Values live in a dict, `start` records the call and returns a made-up id, `http_outcome` records the
    response, sleeps really sleep, and steps simply run. `started` and `responses` let tests assert.
    """

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.started: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.outcomes: list[Any] = []
        self.config: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        self.tracked: list[dict[str, Any]] = []  # what track() stored, as events() answers it
        self._ids = itertools.count(1)

    @property
    def session_id(self) -> str | None:
        return None

    def run_step(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return fn(*args, **kwargs)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def run_inhibited(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return fn(*args, **kwargs)

    def notify(self, text: str) -> None:
        print(text, file=sys.stderr)

    def emit_line(self, stream: str, text: str) -> None:
        print(text, file=sys.stderr if stream == "log" else sys.stdout)

    def register_no_activity(self, items: Any) -> None:
        return None

    def wait(self, name: str, kind: str, spec: dict[str, Any]) -> Any:
        """Outside a session nothing can arrive: a wait with a deadline times out, one without is refused."""
        deadline = spec.get("deadline")
        if deadline is None:
            raise InvalidInputError(f"{name.removeprefix('purrflow.')}() without a timeout would wait forever here")
        time.sleep(max(0.0, deadline - time.time()))
        return None

    def call_host(self, op: str, args: dict[str, Any]) -> Any:
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            raise InvalidInputError(f"{op}() needs a running purrflow session")
        return handler(**args)

    def _op_start(self, loc: str, data: dict[str, Any], memo: dict[str, Any]) -> str:
        self.started.append({"loc": loc, "data": data, "memo": memo})
        return f"local_session_{next(self._ids)}"

    def _op_start_workflow(self, name: str, data: dict[str, Any]) -> str:
        self.started.append({"workflow": name, "data": data})
        return f"local_session_{next(self._ids)}"

    def _op_http_outcome(self, **response: Any) -> None:
        self.responses.append(response)

    def _op_outcome(self, value: bytes) -> None:
        self.outcomes.append(pickle.loads(value))

    def _op_get_value(self, key: str) -> bytes | None:
        return self.values.get(key)

    def _op_set_value(self, key: str, value: bytes) -> None:
        self.values[key] = value

    def _op_del_value(self, key: str) -> None:
        if self.values.pop(key, None) is None:
            raise NotFoundError(f"no value named {key!r}")

    def _op_config_get(self, key: str) -> str | None:
        return self.config.get(key)

    def _op_config_get_all(self) -> dict[str, str]:
        return dict(self.config)

    def _op_config_set(self, key: str, value: str) -> dict[str, str]:
        self.config[key] = value
        return dict(self.config)

    def _op_config_delete(self, key: str) -> bool:
        return self.config.pop(key, None) is not None

    def _op_secret_get(self, key: str) -> dict[str, Any]:
        if key in self.secrets:
            return {"found": True, "value": self.secrets[key]}
        return {"found": False, "keys": sorted(self.secrets)}

    def _op_secret_exists(self, key: str) -> bool:
        return key in self.secrets

    def _op_secret_set(self, key: str, value: str) -> str:
        self.secrets[key] = value
        return key

    def _op_user(self) -> dict[str, str]:
        return {"id": "local", "username": getpass.getuser(), "email": ""}

    def _op_team(self) -> dict[str, str]:
        return {"id": "local", "name": "local"}

    def _op_list_values_keys(self) -> list[str]:
        return sorted(self.values)

    def _op_check_and_set_value(self, key: str, expected: bytes | None, new: bytes) -> bool:
        if self.values.get(key) != expected:
            return False
        self.values[key] = new
        return True

    def _op_add_values(self, key: str, amount: bytes) -> bytes:
        total = pickle.loads(self.values[key]) + pickle.loads(amount) if key in self.values else pickle.loads(amount)
        self.values[key] = pickle.dumps(total)
        return self.values[key]

    def _op_track(self, tags: Any, event: Any, metadata: dict[str, Any] | None) -> None:
        if not isinstance(tags, list) or not isinstance(event, str) or not isinstance(metadata, dict | None):
            raise InvalidInputError("track(tags, event, metadata): a list of strings, a string and a dict")
        from purrflow.sdk._analytics import iso_now  # it imports this module

        self.tracked.append({"tags": tags, "event": event, **(metadata or {}), "timestamp": iso_now()})

    def _op_events(self, start: str, end: str | None) -> list[dict[str, Any]]:
        from purrflow.sdk._analytics import instant  # it imports this module

        low, high = instant(start, "start"), time.time() if end is None else instant(end, "end")
        return [dict(e) for e in self.tracked if low <= instant(e["timestamp"], "timestamp") < high]

    def value(self, key: str) -> Any:
        """Test helper: the unpickled value stored under `key`."""
        return pickle.loads(self.values[key])


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
