"""CTO.ai's SDK requests, translated into purrflow SDK calls with the same meaning.

CTO.ai's clients speak to a daemon: `POST /<endpoint>` with a JSON body, answered with nothing
("simple"), `{"value": …}` ("sync"), or a reply file holding the answer ("reply"). `handle` gives the
answer's style and value for one request. The runner serves it over HTTP to ops.yml commands
(`purrflow.runner.daemon`); `purrflow.compat.ctoai_loader` calls it in-process when a handler imports
the `cto-ai` package. Each request is one or more journaled SDK steps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from purrflow import sdk
from purrflow.errors import InvalidInputError
from purrflow.rules.prompts import check_answer, check_spec
from purrflow.sdk import _runtime
from purrflow.wire import PromptWait, StepName

Style = Literal["simple", "sync", "reply"]
Answer = tuple[Style, Any]
#: Endpoints the clients reach with GET; every other one is a POST.
GET_ENDPOINTS = frozenset({"user", "team"})


def serves(method: str, endpoint: str) -> bool:
    return endpoint in _ROUTES and (method == "GET") == (endpoint in GET_ENDPOINTS)


def handle(endpoint: str, body: dict[str, Any]) -> Answer:
    """Perform one request; PurrflowError when it is malformed (the caller reports it)."""
    route = _ROUTES.get(endpoint)
    if route is None:
        raise InvalidInputError(f"the SDK daemon has no endpoint /{endpoint}")
    return route(body)


def _progress_start(body: dict[str, Any]) -> Answer:
    sdk.ux.progress_bar_start(int(body.get("length") or 0), int(body.get("initial") or 0), body.get("text"))
    return "simple", None


def _prompt(body: dict[str, Any]) -> Answer:
    spec = {k: v for k, v in body.items() if v is not None and k != "flag"}
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInputError("/prompt: the prompt needs a name")
    spec.setdefault("message", name)
    given = _argument_answer(name, body.get("flag"), spec.get("type") == "confirm")
    if given is not None:  # the same arguments give the same answer on replay: no step needed
        check_spec(spec)
        try:
            return "reply", {name: check_answer(spec, given)}
        except InvalidInputError as err:
            raise InvalidInputError(
                f"the command's argument for {err.message}", hint="fix the argument, or leave it out to be asked"
            ) from None
    answer = _runtime.current().wait(PromptWait(spec))
    return "reply", {name: answer}


#: The running command's arguments. As with CTO.ai's CLI, they may answer its prompts: `--base-branch
#: main` (or `--base-branch=main`) for a prompt named `baseBranch`, `-b main` for one whose flag is `b`.
_arguments: list[str] = []


def use_arguments(arguments: Sequence[str]) -> None:
    _arguments[:] = [str(argument) for argument in arguments]


def _argument_answer(name: str, flag: object, is_confirm: bool) -> str | None:
    options = {"--" + re.sub(r"(?<!^)(?=[A-Z])", "-", name).replace("_", "-").lower()}
    if isinstance(flag, str) and flag:
        options.add("-" + flag.lstrip("-"))
    for index, token in enumerate(_arguments):
        option, equals, value = token.partition("=")
        if option not in options:
            continue
        if equals:
            return value
        following = _arguments[index + 1] if index + 1 < len(_arguments) else None
        if is_confirm and (following is None or following.startswith("-")):
            return "true"  # a bare flag confirms
        return following
    return None


def _secret_get(body: dict[str, Any]) -> Answer:
    key = _key(body)
    return "reply", {key: sdk.get_secret(key, hidden=bool(body.get("hidden")))}


def _secret_set(body: dict[str, Any]) -> Answer:
    return "reply", {"key": sdk.set_secret(_key(body), _string(body, "value"))}


def _events(body: dict[str, Any]) -> Answer:
    end = body.get("end")  # missing: the host's now
    return "sync", sdk.events(_string(body, "start"), str(end) if end else None)


def _track(body: dict[str, Any]) -> Answer:
    if body.get("trigger") is True:  # sdk.start(workflowName) rides on /track
        return _simple(sdk.start, _string(body, "workflowName"))
    metadata = {k: v for k, v in body.items() if k not in ("tags", "event")}
    sdk.track(body.get("tags") or [], body.get("event") or "", metadata)  # a string or a list, each
    return "simple", None


def _increment(body: dict[str, Any]) -> int:
    """`progress_bar_advance(0)` advances by 0; only a missing increment means the clients' default, 1."""
    increment = body.get("increment")
    if increment is None:
        return 1
    if isinstance(increment, bool) or not isinstance(increment, int | float):
        raise InvalidInputError(f"/progress-bar/advance: increment must be a number, not {increment!r}")
    return int(increment)


def _simple(fn: Callable[..., object], *args: Any) -> Answer:
    """Endpoints whose answer the clients ignore."""
    fn(*args)
    return "simple", None


def _text(body: dict[str, Any]) -> str:
    return str(body.get("text") or "")


def _key(body: dict[str, Any]) -> str:
    return _string(body, "key")


def _string(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str):
        raise InvalidInputError(f"the request needs {field!r} as a string, got {type(value).__name__}")
    return value


_STATE_STEPS = {"get": StepName.STATE_GET, "get-all": StepName.STATE_GET_ALL, "set": StepName.STATE_SET}


def _state_step(action: str, key: str | None = None, value: Any = None) -> Any:
    """CTO.ai's per-run state: `state.json` in the run's state folder, each access a journaled step."""

    def act() -> Any:
        path = Path(sdk.get_state_path()) / "state.json"
        state = json.loads(path.read_text()) if path.exists() else {}
        if action == "get":
            return state.get(key)
        if action == "get-all":
            return state
        state[str(key)] = value
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps(state))
        scratch.replace(path)
        return None

    return _runtime.current().run_step(_STATE_STEPS[action], act, (), {})


_ROUTES: dict[str, Callable[[dict[str, Any]], Answer]] = {
    "print": lambda b: _simple(sdk.ux.print, _text(b)),
    "start-spinner": lambda b: _simple(sdk.ux.spinner_start, _text(b)),
    "stop-spinner": lambda b: _simple(sdk.ux.spinner_stop, _text(b)),
    "progress-bar/start": _progress_start,
    "progress-bar/advance": lambda b: _simple(sdk.ux.progress_bar_advance, _increment(b)),
    "progress-bar/stop": lambda b: _simple(sdk.ux.progress_bar_stop, b.get("text")),
    "prompt": _prompt,
    "secret/get": _secret_get,
    "secret/set": _secret_set,
    "state/get": lambda b: ("sync", _state_step("get", _key(b))),
    "state/get-all": lambda b: ("sync", _state_step("get-all")),
    "state/set": lambda b: _simple(_state_step, "set", _key(b), b.get("value")),
    "config/get": lambda b: ("sync", sdk.config.get(_key(b))),
    "config/get-all": lambda b: ("sync", sdk.config.get_all()),
    "config/set": lambda b: _simple(sdk.config.set, _key(b), _string(b, "value")),
    "config/delete": lambda b: ("sync", sdk.config.delete(_key(b))),
    "events": _events,
    "track": _track,
    "user": lambda b: ("sync", sdk.user()),
    "team": lambda b: ("sync", sdk.team()),
}
