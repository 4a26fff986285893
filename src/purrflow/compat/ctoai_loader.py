"""Makes the PyPI `cto-ai` package work inside a handler session, with no daemon process.

An ops.yml command reaches purrflow through the SDK daemon over HTTP. A Python handler that imports
`cto_ai` runs inside the runner itself, so its requests are answered in-process: the request functions
of `cto_ai.daemon_request` (which `cto_ai.sdk`, `.ux` and `.prompt` look up at call time) are replaced
by ones that call `purrflow.compat.ctoai.handle` directly. Outside a runner nothing is changed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from purrflow.compat import ctoai

#: `cto_ai.daemon_request`'s functions and the endpoints they call.
_FUNCTIONS = {
    "print": "print",
    "start_spinner": "start-spinner",
    "stop_spinner": "stop-spinner",
    "start_progress": "progress-bar/start",
    "advance_progress": "progress-bar/advance",
    "stop_progress": "progress-bar/stop",
    "track": "track",
    "start_op": "track",
    "set_state": "state/set",
    "set_config": "config/set",
    "get_state": "state/get",
    "get_all_state": "state/get-all",
    "get_config": "config/get",
    "get_all_config": "config/get-all",
    "delete_config": "config/delete",
    "events": "events",
    "get_user": "user",
    "get_team": "team",
    "prompt": "prompt",
    "get_secret": "secret/get",
    "set_secret": "secret/set",
}


def install() -> None:
    try:
        spec = importlib.util.find_spec("cto_ai")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return
    module = importlib.import_module("cto_ai.daemon_request")
    for name, endpoint in _FUNCTIONS.items():
        if hasattr(module, name):
            setattr(module, name, _requester(endpoint))


def _requester(endpoint: str) -> Callable[[dict[str, Any]], Any]:
    def request(body: dict[str, Any]) -> Any:
        style, value = ctoai.handle(endpoint, dict(body or {}))
        return None if style == "simple" else value

    request.__name__ = f"daemon_{endpoint.replace('/', '_').replace('-', '_')}"
    return request
