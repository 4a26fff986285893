"""`autokitteh.connections`: connection names, and the two calls AutoKitteh's runner answers for its
helpers (a GitHub App's JWT, a fresh OAuth token), answered from the connection's fields."""

from __future__ import annotations

from datetime import datetime

from purrflow.compat.autokitteh._native import autokitteh_errors
from purrflow.integrations import access_token, check_name, fields, require


def check_connection_name(connection: str) -> None:
    """ValueError unless `connection` is a valid connection name (an identifier)."""
    check_name(connection)


def encode_jwt(payload: dict[str, int], connection: str, algorithm: str) -> str:
    """`payload` as a JWT signed with the connection's `private_key` (a GitHub App's)."""
    # PyJWT comes with PyGithub (the integrations extra); only GitHub App programs get here.
    import jwt

    with autokitteh_errors():
        key = require(connection, fields(connection), "private_key")
    return jwt.encode(payload, key, algorithm=algorithm)


def refresh_oauth(integration: str, connection: str) -> tuple[str, datetime]:
    """The connection's current OAuth token and its expiry (naive UTC), as its fields hold them."""
    with autokitteh_errors():
        return access_token(connection, fields(connection))


__all__ = ["check_connection_name", "encode_jwt", "refresh_oauth"]
