"""Prompts: ask the session's person a question and wait (durably) for the answer.

On a server the question waits in `purr prompts list` / the API until someone answers; in `purr run` it
is asked in the terminal. Each answer is checked against the prompt's type and bounds before the
session sees it. The functions mirror CTO.ai's prompt types and options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from purrflow.sdk import _runtime
from purrflow.wire import PromptWait


def _ask(kind: str, name: str, message: str | None, **options: Any) -> Any:
    spec = {"type": kind, "name": name, "message": message or name}
    spec.update({key: value for key, value in options.items() if value is not None})
    return _runtime.current().wait(PromptWait(spec))


def input(name: str, message: str | None = None, *, default: str | None = None, allow_empty: bool = False) -> str:
    return str(_ask("input", name, message, default=default, allowEmpty=allow_empty))


def number(
    name: str, message: str | None = None, *, default: int | None = None, minimum: int | None = None,
    maximum: int | None = None,
) -> int:  # fmt: skip
    return int(_ask("number", name, message, default=default, minimum=minimum, maximum=maximum))


def secret(name: str, message: str | None = None) -> str:
    return str(_ask("secret", name, message))


def password(name: str, message: str | None = None, *, confirm: bool = False) -> str:
    return str(_ask("password", name, message, confirm=confirm))


def confirm(name: str, message: str | None = None, *, default: bool = False) -> bool:
    return bool(_ask("confirm", name, message, default=default))


def list(name: str, message: str | None, choices: Sequence[str], *, default: str | int | None = None) -> str:
    return str(_ask("list", name, message, choices=[str(c) for c in choices], default=default))


def autocomplete(name: str, message: str | None, choices: Sequence[str], *, default: str | int | None = None) -> str:
    return str(_ask("autocomplete", name, message, choices=[str(c) for c in choices], default=default))


def checkbox(
    name: str, message: str | None, choices: Sequence[str], *, default: Sequence[str] | None = None
) -> list[str]:  # type: ignore[valid-type]
    answer = _ask("checkbox", name, message, choices=[str(c) for c in choices], default=default)
    return [str(item) for item in answer]


def editor(name: str, message: str | None = None, *, default: str | None = None) -> str:
    return str(_ask("editor", name, message, default=default))


def datetime(
    name: str, message: str | None = None, *, variant: str = "datetime", default: str | None = None,
    minimum: str | None = None, maximum: str | None = None,
) -> str:  # fmt: skip
    return str(_ask("datetime", name, message, variant=variant, default=default, minimum=minimum, maximum=maximum))
