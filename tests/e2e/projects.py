"""Small projects written by tests into temporary folders."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_project(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return folder


def manifest(name: str, triggers: str = "", vars: str = "") -> str:
    text = f"version: v1\nproject:\n  name: {name}\n"
    if vars:
        text += "  vars:\n" + textwrap.indent(textwrap.dedent(vars).strip(), "    ") + "\n"
    if triggers:
        text += "  triggers:\n" + textwrap.indent(textwrap.dedent(triggers).strip(), "    ") + "\n"
    return text
