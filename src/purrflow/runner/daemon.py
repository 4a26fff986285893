"""CTO.ai's SDK daemon protocol, served for one session so that `cto-ai` programs run unmodified.

The real clients (`cto-ai` on PyPI, and the JS, Go and Bash SDKs) POST JSON to
`http://127.0.0.1:$SDK_SPEAK_PORT/<endpoint>` and expect one of three answers: nothing, `{"value": …}`,
or `{"replyFilename": path}` whose file holds the answer. Every request becomes the purrflow SDK call
that means the same thing, so it is a journaled step like any other: after a crash the command runs
again and its requests are answered from the journal, prompts included.

Trust model. The clients send no credentials, so the endpoint is guarded by where it lives: it listens
on 127.0.0.1 only, on a port chosen by the kernel, for exactly as long as its session's process runs,
and reply files sit in a directory only the runner's user can read (0700, files 0600). Any process of
the same machine that learns the port during that time can speak for the session — run untrusted code
on its own machine or account, as you would with CTO.ai's own daemon.

Requests are served on the runner's main thread, one at a time, between reads of the command's output:
the runner's connection to the host is never used from two threads at once.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from purrflow import sdk
from purrflow.errors import InvalidInputError, NonDeterminismError, PurrflowError, SessionSuspended
from purrflow.runner.channel import ChannelClosed
from purrflow.sdk import _runtime

#: The endpoints and what each answers: "simple" (nothing), "sync" ({"value"}), "reply" (a reply file).
Answer = tuple[str, Any]
MAX_BODY = 1024 * 1024


class SdkDaemon:
    """One session's daemon endpoint."""

    def __init__(self, *, on_error: Callable[[str], None]) -> None:
        self._server = _Server(self)
        self._reply_dir = Path(tempfile.mkdtemp(prefix="purrflow-sdk-"))  # mkdtemp makes it 0700
        self._replies = 0
        self._on_error = on_error
        self.fatal: BaseException | None = None
        self._routes: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "print": lambda b: _simple(sdk.ux.print, _text(b)),
            "start-spinner": lambda b: _simple(sdk.ux.spinner_start, _text(b)),
            "stop-spinner": lambda b: _simple(sdk.ux.spinner_stop, _text(b)),
            "progress-bar/start": self._progress_start,
            "progress-bar/advance": lambda b: _simple(sdk.ux.progress_bar_advance, int(b.get("increment") or 1)),
            "progress-bar/stop": lambda b: _simple(sdk.ux.progress_bar_stop, b.get("text")),
            "prompt": self._prompt,
            "secret/get": self._secret_get,
            "secret/set": self._secret_set,
            "state/get": lambda b: ("sync", _state_step("get", _key(b))),
            "state/get-all": lambda b: ("sync", _state_step("get-all")),
            "state/set": lambda b: _simple(_state_step, "set", _key(b), b.get("value")),
            "config/get": lambda b: ("sync", sdk.config.get(_key(b))),
            "config/get-all": lambda b: ("sync", sdk.config.get_all()),
            "config/set": lambda b: _simple(sdk.config.set, _key(b), _string(b, "value")),
            "config/delete": lambda b: ("sync", sdk.config.delete(_key(b))),
            "events": self._events,
            "track": self._track,
            "user": lambda b: ("sync", sdk.user()),
            "team": lambda b: ("sync", sdk.team()),
        }

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def fileno(self) -> int:
        return self._server.fileno()

    def environment(self) -> dict[str, str]:
        return {"SDK_SPEAK_PORT": str(self.port)}

    def handle_one(self) -> None:
        """Serve one waiting request; re-raise a suspension or a lost host that happened inside it."""
        self._server.handle_request()
        if self.fatal is not None:
            raise self.fatal

    def close(self) -> None:
        self._server.server_close()
        shutil.rmtree(self._reply_dir, ignore_errors=True)

    # -- answering -----------------------------------------------------------------------------
    def answer(self, method: str, endpoint: str, raw: bytes) -> tuple[int, dict[str, Any] | None]:
        """(HTTP status, JSON body) for one request; errors are reported to the session's log too."""
        route = self._routes.get(endpoint)
        if route is None or (method == "GET") != (endpoint in ("user", "team")):
            return 404, _error(InvalidInputError(f"the SDK daemon has no {method} /{endpoint}"))
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise InvalidInputError(f"/{endpoint}: the body must be a JSON object")
            style, value = route(body)
        except (SessionSuspended, ChannelClosed, NonDeterminismError) as err:  # these end the session
            self.fatal = err
            return 503, None
        except json.JSONDecodeError as err:
            return 400, self._report(endpoint, InvalidInputError(f"/{endpoint}: the body is not JSON ({err})"))
        except PurrflowError as err:
            return 400, self._report(endpoint, err)
        except Exception as err:  # a bug of ours must reach the session's log, not kill the runner
            return 500, self._report(endpoint, PurrflowError(f"{type(err).__name__}: {err}"))
        if style == "simple":
            return 200, {}
        if style == "sync":
            return 200, {"value": value}
        return 200, {"replyFilename": self._reply_file(value)}

    def _report(self, endpoint: str, err: PurrflowError) -> dict[str, Any]:
        self._on_error(f"SDK daemon /{endpoint}: {err.message}" + (f" (hint: {err.hint})" if err.hint else ""))
        return _error(err)

    def _reply_file(self, value: Any) -> str:
        self._replies += 1
        path = self._reply_dir / f"reply-{self._replies}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(value, out)
        return str(path)

    # -- endpoints -----------------------------------------------------------------------------
    def _progress_start(self, body: dict[str, Any]) -> Answer:
        sdk.ux.progress_bar_start(int(body.get("length") or 0), int(body.get("initial") or 0), body.get("text"))
        return "simple", None

    def _prompt(self, body: dict[str, Any]) -> Answer:
        spec = {k: v for k, v in body.items() if v is not None and k != "flag"}
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidInputError("/prompt: the prompt needs a name")
        spec.setdefault("message", name)
        answer = _runtime.current().wait("purrflow.prompt", "prompt", spec)
        return "reply", {name: answer}

    def _secret_get(self, body: dict[str, Any]) -> Answer:
        key = _key(body)
        return "reply", {key: sdk.get_secret(key, hidden=bool(body.get("hidden")))}

    def _secret_set(self, body: dict[str, Any]) -> Answer:
        return "reply", {"key": sdk.set_secret(_key(body), _string(body, "value"))}

    def _events(self, body: dict[str, Any]) -> Answer:
        end = body.get("end")  # missing: the host's now
        return "sync", sdk.events(_string(body, "start"), str(end) if end else None)

    def _track(self, body: dict[str, Any]) -> Answer:
        if body.get("trigger") is True:  # sdk.start(workflowName) rides on /track
            return _simple(sdk.start, _string(body, "workflowName"))
        metadata = {k: v for k, v in body.items() if k not in ("tags", "event")}
        tags = body.get("tags") or []
        sdk.track(list(tags) if isinstance(tags, list | tuple) else [str(tags)], str(body.get("event") or ""), metadata)
        return "simple", None


class _Server(HTTPServer):
    """Loopback only, one request at a time, on the caller's thread."""

    def __init__(self, daemon: SdkDaemon) -> None:
        self.daemon = daemon
        super().__init__(("127.0.0.1", 0), _Handler)
        self.timeout = 1.0

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        super().server_bind()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection, as the clients use it

    def do_GET(self) -> None:
        self._serve("GET", b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, _error(InvalidInputError(f"the request body is over {MAX_BODY} bytes")))
            return
        self._serve("POST", self.rfile.read(length))

    def _serve(self, method: str, raw: bytes) -> None:
        status, body = self.server.daemon.answer(method, self.path.strip("/").split("?")[0], raw)
        self._send(status, body)

    def _send(self, status: int, body: dict[str, Any] | None) -> None:
        data = json.dumps(body if body is not None else {}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client went away; nothing to tell it
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are steps in the session's journal; no access log on stderr."""


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


def _error(err: PurrflowError) -> dict[str, Any]:
    return {"error": {"type": type(err).__name__, "message": err.message, "hint": err.hint}}


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

    return _runtime.current().run_step(f"purrflow.state_{action}", act, (), {})
