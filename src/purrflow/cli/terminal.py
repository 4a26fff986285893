"""Asking a session's prompts in the terminal (`purr run`): the interface is the person at the keyboard."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import tempfile
from typing import Any

from rich.console import Console

console = Console(stderr=True)


def _line(label: str) -> str:
    console.print(label, end="", markup=False, highlight=False)
    return sys.stdin.readline().rstrip("\n")


def ask(spec: dict[str, Any]) -> Any:
    """One answer for a prompt; the engine checks it and asks again when it does not fit."""
    kind = spec["type"]
    message = str(spec.get("message") or spec["name"])
    default = spec.get("default")
    hint = f" [{default}]" if default not in (None, "", []) else ""
    if kind in ("secret", "password"):
        if spec.get("stored"):
            console.print(f"  (or type the name of a stored secret: {', '.join(spec['stored'])})", markup=False)
        if not sys.stdin.isatty():
            return _line(f"{message} ")
        value = getpass.getpass(f"{message} ")
        if kind == "password" and spec.get("confirm") and getpass.getpass("again: ") != value:
            console.print("the two entries differ", style="red")
            return ask(spec)
        return value
    if kind == "confirm":
        return _line(f"{message} ({'Y/n' if default else 'y/N'}) ")
    if kind in ("list", "autocomplete", "checkbox"):
        for index, choice in enumerate(spec["choices"]):
            console.print(f"  {index}) {choice}", markup=False, highlight=False)
        raw = _line(f"{message}{' (several: a,b)' if kind == 'checkbox' else ''}{hint} ")
        return int(raw) if raw.isdigit() and kind != "checkbox" else raw
    if kind == "editor":
        return _edit(message, str(default or ""))
    return _line(f"{message}{hint} ")


def _edit(message: str, text: str) -> str:
    editor = os.environ.get("EDITOR") or os.environ.get("VISUAL")
    if not editor or not sys.stdin.isatty():
        console.print(f"{message} (end with a line holding only '.')", markup=False, highlight=False)
        lines = []
        for line in sys.stdin:
            if line.rstrip("\n") == ".":
                break
            lines.append(line.rstrip("\n"))
        return "\n".join(lines)
    with tempfile.NamedTemporaryFile("w+", suffix=".txt", delete=False) as handle:
        handle.write(text)
    try:
        subprocess.run([*editor.split(), handle.name], check=False)
        with open(handle.name) as edited:
            return edited.read()
    finally:
        os.unlink(handle.name)
