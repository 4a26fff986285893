"""Plain HTTP APIs: an httpx client whose base URL and credentials come from a connection.

Fields: `base_url` (required); `token` (sent as `Authorization: Bearer …`), or `username` and `password`
(basic auth). For services without a client library of their own, so that their URL and secret live in
the connection and not in the code.
"""

from __future__ import annotations

from typing import Any

import httpx

from purrflow.integrations._connection import fields, first, redirect
from purrflow.integrations.errors import ConnectionInitError


def client(conn: str, **kwargs: Any) -> httpx.Client:
    """An `httpx.Client` for the connection's `base_url`; relative request paths resolve against it."""
    found = fields(conn)
    url = redirect(found)
    if not url:
        raise ConnectionInitError(conn, missing=["base_url"])
    token = first(found, "token")
    username, password = first(found, "username"), first(found, "password")
    if token:
        kwargs.setdefault("headers", {}).setdefault("Authorization", f"Bearer {token}")
    elif username or password:
        if not (username and password):
            raise ConnectionInitError(conn, missing=["password" if username else "username"])
        kwargs.setdefault("auth", httpx.BasicAuth(username, password))
    return httpx.Client(base_url=url, **kwargs)
