"""Rules of project vars (`purr vars set`): sessions see each var as an environment variable, so its name
must be one a shell and `os.environ` take, and its value must fit in an environment."""

from __future__ import annotations

import re

from purrflow.errors import InvalidInputError
from purrflow.rules.sizes import describe_size

#: Environments are small: the whole of one (every var together) is bounded by the kernel (ARG_MAX).
MAX_VAR_VALUE = 64 * 1024
MAX_VAR_NAME = 128
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_var_name(name: object) -> str:
    """A var's name: an identifier (it becomes an environment variable's name)."""
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_VAR_NAME:
        raise InvalidInputError(
            f"var name {name!r} is not allowed: sessions read a var as an environment variable",
            hint=f"use an identifier of at most {MAX_VAR_NAME} ASCII letters, digits and '_'"
            " that does not start with a digit, e.g. HTTPBIN_BASE_URL",
        )
    return name


def check_var_value(name: str, value: object) -> str:
    """A var's value: text without NUL (an environment cannot hold one), of at most MAX_VAR_VALUE bytes."""
    if not isinstance(value, str):
        raise InvalidInputError(f"var {name!r}: the value must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInputError(
            f"var {name!r}: the value holds a NUL character, which no environment variable can hold",
            hint="remove it (base64-encode binary data)",
        )
    size = len(value.encode("utf-8", errors="surrogatepass"))
    if size > MAX_VAR_VALUE:
        raise InvalidInputError(
            f"var {name!r}: the value is {describe_size(size)}; the limit is {describe_size(MAX_VAR_VALUE)}",
            hint="keep large data in the project's value store or a file of the project",
        )
    return value
