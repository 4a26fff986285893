"""CTO.ai's SDK daemon protocol, served for one session so that `cto-ai` programs run unmodified.

The real clients (`cto-ai` on PyPI, and the JS, Go and Bash SDKs) POST JSON to
`http://127.0.0.1:$SDK_SPEAK_PORT/<endpoint>` and expect one of three answers: nothing, `{"value": …}`,
or `{"replyFilename": path}` whose file holds the answer. Every request becomes the purrflow SDK call
that means the same thing (`purrflow.compat.ctoai`), so it is a journaled step like any other: after
a crash the command runs again and its requests are answered from the journal, prompts included.

Trust model. The clients send no credentials, so the endpoint is guarded by where it lives and by who
connects: it listens on 127.0.0.1 only, on a port chosen by the kernel, for exactly as long as its
session's process runs, and it answers only a client whose socket belongs to the runner's own uid (the
kernel's socket table, /proc/net/tcp and tcp6, names each socket's owner). Sessions of different teams
run as different uids, so another team's process that finds the port gets 403, and the attempt is
noted in the session's log. Reply files sit in a directory only the runner's user can read (0700,
files 0600). Processes of the same uid — the session's own, or another session of the same team —
are trusted alike, as with CTO.ai's own daemon.

Requests are served on the runner's main thread, one at a time, between reads of the command's output:
the runner's connection to the host is never used from two threads at once.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from purrflow.compat import ctoai
from purrflow.errors import ForbiddenError, InvalidInputError, NonDeterminismError, PurrflowError, SessionSuspended
from purrflow.runner.channel import ChannelClosed

MAX_BODY = 1024 * 1024
#: The kernel's TCP socket tables (of this process's network namespace): one row per socket, with its owner.
SOCKET_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Endpoint = tuple[IPAddress, int]


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

    def refusal(self, conn: socket.socket, endpoint: str) -> dict[str, Any] | None:
        """None when the client's socket belongs to this process's uid; else the 403 body (and a log line)."""
        own_uid = os.getuid()
        try:
            uid = peer_uid(conn)
        except OSError as err:
            problem = f"its client's user could not be found ({type(err).__name__}: {err})"
        else:
            if uid == own_uid:
                return None
            problem = (
                f"it came from a socket of uid {uid}"
                if uid is not None
                else "its client socket is not in /proc/net/tcp or tcp6, so its user is unknown"
            )
        return self._report(
            endpoint,
            ForbiddenError(
                f"refused a request: {problem}, and this daemon answers only processes of uid {own_uid}",
                hint="only the session's own processes may use its SDK daemon (SDK_SPEAK_PORT)",
            ),
        )

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
        if self._allowed():
            self._serve("GET", b"")

    def do_POST(self) -> None:
        if not self._allowed():
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, _error(InvalidInputError(f"the request body is over {MAX_BODY} bytes")))
            return
        self._serve("POST", self.rfile.read(length))

    def _allowed(self) -> bool:
        """Checked before the body is read: another user's request gets 403 and nothing else."""
        refusal = self.server.daemon.refusal(self.connection, self._endpoint())
        if refusal is None:
            return True
        self._send(403, refusal)
        return False

    def _endpoint(self) -> str:
        return self.path.strip("/").split("?")[0]

    def _serve(self, method: str, raw: bytes) -> None:
        status, body = self.server.daemon.answer(method, self._endpoint(), raw)
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


# -- who is on the other end -------------------------------------------------------------------------


def peer_uid(conn: socket.socket) -> int | None:
    """The uid owning the client's end of `conn`, a TCP connection on this machine; None if it has none.

    The client's socket is the row of /proc/net/tcp (or tcp6, for a dual-stack client) whose
    local_address is `conn`'s peer and whose rem_address is `conn`'s own address. A row with inode 0 is a
    socket no process holds any more (closed, in TIME_WAIT): it has no owner. The tables are read anew
    for every request: a port's owner changes as sockets come and go.
    """
    peer = _socket_endpoint(conn.getpeername())
    own = _socket_endpoint(conn.getsockname())
    port_suffix = f":{peer[1]:04X}"
    for table in SOCKET_TABLES:
        try:
            with open(table, encoding="ascii") as rows:
                uid = _find_owner(rows, port_suffix, peer, own)
        except FileNotFoundError:  # no IPv6 in this kernel
            continue
        if uid is not None:
            return uid
    return None


def _find_owner(rows: Iterable[str], port_suffix: str, peer: Endpoint, own: Endpoint) -> int | None:
    """Columns: sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …"""
    for row in rows:
        fields = row.split()
        if len(fields) < 10 or not fields[1].endswith(port_suffix):  # the header, and most rows, cheaply
            continue
        if _parse_endpoint(fields[1]) == peer and _parse_endpoint(fields[2]) == own and fields[9] != "0":
            return int(fields[7])
    return None


def _socket_endpoint(address: Any) -> Endpoint:
    """A socket address — (host, port) or IPv6's (host, port, flow, scope) — as an (IP, port) pair."""
    return _unmapped(ipaddress.ip_address(str(address[0]).split("%")[0])), int(address[1])


def _parse_endpoint(text: str) -> Endpoint:
    """`0100007F:1F90` → (127.0.0.1, 8080).

    The kernel prints an address as 32-bit words in the machine's byte order (`%08X` of each word of the
    address in network order, so 127.0.0.1 reads 0100007F on a little-endian machine); the port is a
    plain hexadecimal number.
    """
    hex_address, hex_port = text.split(":")
    raw = b"".join(int(hex_address[i : i + 8], 16).to_bytes(4, sys.byteorder) for i in range(0, len(hex_address), 8))
    return _unmapped(ipaddress.ip_address(raw)), int(hex_port, 16)


def _unmapped(address: IPAddress) -> IPAddress:
    """::ffff:127.0.0.1 (a dual-stack socket's view of an IPv4 peer) as 127.0.0.1."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
