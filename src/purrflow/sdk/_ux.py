"""`ux`: output meant for the session's person, shown through the session's interface.

On a server it is the session's `ux` log stream (the CLI and API show it); in `purr run` it is the
terminal. `bold` and `italic` format for the interface in `SDK_INTERFACE_TYPE` (terminal: ANSI; slack:
*bold* and _italic_; anything else: Markdown).
"""

from __future__ import annotations

import os

from purrflow.sdk import _runtime


def print(text: object) -> None:
    _runtime.current().emit_line("ux", str(text))


def bold(text: str) -> str:
    interface = os.environ.get("SDK_INTERFACE_TYPE", "terminal")
    if interface == "terminal":
        return f"\033[1m{text}\033[0m"
    return f"*{text}*" if interface == "slack" else f"**{text}**"


def italic(text: str) -> str:
    interface = os.environ.get("SDK_INTERFACE_TYPE", "terminal")
    if interface == "terminal":
        return f"\033[3m{text}\033[23m"
    return f"_{text}_"


def spinner_start(text: str = "") -> None:
    print(f"… {text}".rstrip())


def spinner_stop(text: str = "") -> None:
    print(f"✔ {text}".rstrip())


class _Progress:
    def __init__(self) -> None:
        self.length, self.done, self.text = 0, 0, ""

    def start(self, length: int, initial: int = 0, message: str | None = None) -> None:
        self.length, self.done, self.text = int(length), int(initial), message or ""
        self._show()

    def advance(self, increment: int = 1) -> None:
        self.done = min(self.length, self.done + int(increment))
        self._show()

    def stop(self, message: str | None = None) -> None:
        print(f"[{self.length}/{self.length}] {message or self.text}".rstrip())

    def _show(self) -> None:
        print(f"[{self.done}/{self.length}] {self.text}".rstrip())


_progress = _Progress()


def progress_bar_start(length: int, initial: int = 0, message: str | None = None) -> None:
    _progress.start(length, initial, message)


def progress_bar_advance(increment: int = 1) -> None:
    _progress.advance(increment)


def progress_bar_stop(message: str | None = None) -> None:
    _progress.stop(message)
