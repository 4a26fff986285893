"""Rules of the team's secret store, checked alike by the server and the SDK's local stand-in."""

from __future__ import annotations

import re

from purrflow.errors import InvalidInputError

_SECRET_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


def check_secret_key(key: str) -> None:
    if not isinstance(key, str) or not _SECRET_KEY.match(key):
        where = " (it holds a path separator)" if isinstance(key, str) and ("/" in key or "\\" in key) else ""
        raise InvalidInputError(
            f"secret key {key!r} is not allowed{where}",
            hint="use 1–128 letters, digits, '.', '_' or '-', e.g. GITHUB_TOKEN",
        )


def check_secret_value(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"set_secret({key!r}): the value must be a string, not {type(value).__name__}")
    return value


def is_secret_key(text: object) -> bool:
    """Whether `text` could name a stored secret (a prompt's answer may name one instead of a value)."""
    return isinstance(text, str) and _SECRET_KEY.match(text) is not None
