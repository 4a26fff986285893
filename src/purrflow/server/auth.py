"""Bearer-token authentication. The first start creates a team, an admin and a token saved beside the
database (mode 0600) so that the CLI on the same machine works with no set-up."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fastapi import Request

from purrflow.config import ADMIN_TOKEN_FILE
from purrflow.errors import AuthError
from purrflow.store import Store, User


def bootstrap_admin(store: Store, data_dir: Path) -> str:
    """Make sure an admin exists and its token is in `<data dir>/admin-token`; return the token."""
    token_file = data_dir / ADMIN_TOKEN_FILE
    if token_file.exists():
        token = token_file.read_text().strip()
        if store.user_for_token(token) is not None:
            return token
    with store.transaction():
        team = store.get_team_by_name("default") or store.create_team("default")
        user = store.create_user(team.id, f"admin-{secrets.token_hex(3)}", role="admin")
        token = f"purr_{secrets.token_urlsafe(32)}"
        store.add_token(user.id, token, name="admin (created on first start)")
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def current_user(request: Request) -> User:
    """FastAPI dependency: the user behind the request's bearer token (401 otherwise)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(
            "this API needs a bearer token (Authorization: Bearer <token>)",
            hint="set PURRFLOW_TOKEN, or run the CLI on the server's machine where it reads <data dir>/admin-token",
        )
    user = request.app.state.engine.store.user_for_token(token.strip())
    if user is None:
        raise AuthError(
            "the token is unknown or revoked",
            hint="check PURRFLOW_TOKEN; the server's admin token is in <data dir>/admin-token",
        )
    assert isinstance(user, User)
    return user
