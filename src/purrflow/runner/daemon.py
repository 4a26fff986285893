"""CTO.ai's SDK daemon protocol, served for one session so that `cto-ai` programs run unmodified.

The real clients (`cto-ai` on PyPI, and the JS, Go and Bash SDKs) POST JSON to
`http://127.0.0.1:$SDK_SPEAK_PORT/<endpoint>` and expect one of three answers: nothing, `{"value": …}`,
or `{"replyFilename": path}` whose file holds the answer. Every request becomes the purrflow SDK call
that means the same thing (`purrflow.compat.ctoai`), so it is a journaled step like any other: after
a crash the command runs again and its requests are answered from the journal, prompts included.

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

from purrflow.compat import ctoai
from purrflow.errors import InvalidInputError, NonDeterminismError, PurrflowError, SessionSuspended
from purrflow.runner.channel import ChannelClosed

MAX_BODY = 1024 * 1024


class SdkDaemon:
    """One session's daemon endpoint."""

    def __init__(self, *, on_error: Callable[[str], None]) -> None:
        self._server = _Server(self)
        self._reply_dir = Path(tempfile.mkdtemp(prefix="purrflow-sdk-"))  # mkdtemp makes it 0700
        self._replies = 0
        self._on_error = on_error
        self.fatal: BaseException | None = None

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
        if not ctoai.serves(method, endpoint):
            return 404, _error(InvalidInputError(f"the SDK daemon has no {method} /{endpoint}"))
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise InvalidInputError(f"/{endpoint}: the body must be a JSON object")
            style, value = ctoai.handle(endpoint, body)
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


def _error(err: PurrflowError) -> dict[str, Any]:
    return {"error": {"type": type(err).__name__, "message": err.message, "hint": err.hint}}
