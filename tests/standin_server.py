"""A local stand-in for a SaaS API (Slack, GitHub, Google, an OAuth provider): a real HTTP server on
127.0.0.1 in a thread, answering with routes a test writes as functions, and recording every request so
a test can see what a client really sent.

Routes are one function for every request, or a `{(method, path): function}` table; a function answers
with a `Reply` (any status, body and headers: a 302 with its Location) or a `(status, JSON body)` pair.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    #: Header names in lower case.
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Answer = Reply | tuple[int, Any]
Route = Callable[[Request], Answer]


def _reply(answer: Answer) -> Reply:
    return answer if isinstance(answer, Reply) else Reply(answer[0], answer[1])


class StandIn:
    def __init__(self, routes: Route | dict[tuple[str, str], Route]) -> None:
        self.requests: list[Request] = []
        self._routes = routes
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                form: dict[str, str] = {}
                if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                    form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
                query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
                request = Request(self.command, unquote(split.path), query, headers, body, form)
                standin.requests.append(request)
                reply = _reply(standin._answer(request))
                out = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else b""
                    if reply.body is None
                    else json.dumps(reply.body).encode()
                )
                self.send_response(reply.status)
                for key, value in ({"Content-Type": "application/json"} | reply.headers).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def _answer(self, request: Request) -> Answer:
        if not isinstance(self._routes, dict):
            return self._routes(request)
        route = self._routes.get((request.method, request.path))
        return route(request) if route else Reply(404, {"error": f"no route {request.method} {request.path}"})

    def calls(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running(routes: Route | dict[tuple[str, str], Route]) -> Iterator[StandIn]:
    standin = StandIn(routes)
    try:
        yield standin
    finally:
        standin.close()
