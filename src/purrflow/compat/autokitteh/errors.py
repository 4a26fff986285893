"""AutoKitteh's error types, for programs that catch them."""

from __future__ import annotations


class AutoKittehError(Exception):
    """Generic base class for all errors in the AutoKitteh SDK."""


class ConnectionInitError(AutoKittehError):
    """A connection's variables are missing or wrong."""

    def __init__(self, connection: str) -> None:
        super().__init__(f"connection {connection!r} is not initialized")


class EnvVarError(AutoKittehError):
    """A required environment variable is missing."""

    def __init__(self, env_var: str, desc: str = "") -> None:
        super().__init__(f"environment variable {env_var!r} is {desc or 'missing'}")
