"""The runner's end of the host connection: blocking, framed, one message at a time."""

from __future__ import annotations

import socket
import threading
from typing import Protocol

from purrflow.wire import HEADER, MAX_MESSAGE_BYTES, decode, encode


class ChannelClosed(BaseException):
    """The host went away; the runner has nothing left to do.

    A BaseException, like `SessionSuspended`: a handler's `except Exception:` around an SDK call must not
    swallow it and carry on talking to a host that is gone."""


class HostLink(Protocol):
    """What a session's runtime talks to the host through."""

    def send(self, message: object) -> None: ...
    def recv(self) -> object: ...


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._send_lock = threading.Lock()  # user threads may print while the main thread sends a step

    def send(self, message: object) -> None:
        data = encode(message)
        with self._send_lock:
            try:
                self._sock.sendall(data)
            except OSError as err:
                raise ChannelClosed(str(err)) from None

    def recv(self) -> object:
        header = self._read_exactly(HEADER.size)
        (size,) = HEADER.unpack(header)
        if size > MAX_MESSAGE_BYTES:
            raise ChannelClosed(f"host sent an oversized message ({size} bytes)")
        return decode(self._read_exactly(size))

    def _read_exactly(self, size: int) -> bytes:
        chunks: list[bytes] = []
        remaining = size
        while remaining:
            try:
                chunk = self._sock.recv(min(remaining, 1 << 20))
            except OSError as err:
                raise ChannelClosed(str(err)) from None
            if not chunk:
                raise ChannelClosed("host closed the connection")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
