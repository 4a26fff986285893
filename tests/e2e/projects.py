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


#: An ops.yml command that asks twice, with an effect outside the SDK between (a file in `OUT`): a command
#: that is run again instead of answered in place repeats its effect.
TWICE_OPS = """
version: "1"
commands:
  - name: twice
    description: two questions, an effect between them
    run: python3 twice.py
    env:
      static:
        - OUT={out}
"""

TWICE = """
import os
from cto_ai import prompt, ux
first = prompt.input(name="first", message="First?")
with open(os.path.join(os.environ["OUT"], first + ".effects"), "a") as out:  # an effect outside the SDK
    out.write("x")
second = prompt.input(name="second", message="Second?")
ux.print(f"ANSWERS {first} {second}")
"""
