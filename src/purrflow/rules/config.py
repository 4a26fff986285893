"""Rules of the team configuration store: sessions (`sdk.config`), the API (`purr config`), `purr run`'s
`--config` and the SDK's local stand-in check the same."""

from __future__ import annotations

import re

from purrflow.errors import InvalidInputError

MAX_CONFIG_VALUE = 64 * 1024
_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


def check_config(key: str, value: str | None = None) -> None:
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidInputError(
            f"config key {key!r} must be 1–128 letters, digits, '.', '_' or '-'",
            hint="e.g. AWS_REGION or deploy.branch",
        )
    if value is not None:
        if not isinstance(value, str):
            raise InvalidInputError(f"config {key!r}: values are strings, not {type(value).__name__}")
        if len(value.encode()) > MAX_CONFIG_VALUE:
            raise InvalidInputError(f"config {key!r}: the value is larger than {MAX_CONFIG_VALUE // 1024} KiB")
