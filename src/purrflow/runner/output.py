"""Turns a session's `print` and stderr output into log lines sent to the host."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable

_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """`text` as valid Unicode: a surrogate pair becomes its character, a lone surrogate U+FFFD.

    `print("\\ud800")` is legal Python, but such a string cannot be encoded (as UTF-8, JSON or SQLite
    text), so it would fail where the line is recorded.
    """
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class LineStream(io.TextIOBase):
    """A text stream that hands complete lines to `emit`; a trailing partial line waits for flush."""

    def __init__(self, stream: str, emit: Callable[[str, list[str]], None]) -> None:
        super().__init__()
        self._stream = stream
        self._emit = emit
        self._partial = ""
        self._lock = threading.Lock()

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            data = self._partial + text
            lines = data.split("\n")
            self._partial = lines.pop()
        if lines:
            self._emit(self._stream, [valid_text(line) for line in lines])
        return len(text)

    def flush(self) -> None:
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            self._emit(self._stream, [valid_text(rest)])
