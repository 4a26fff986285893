"""Teams, users and tokens, and who may do what with them.

Roles: a team's `admin` adds users and manages every token of the team; a `member` manages their own
tokens. Admins of the `default` team — the one the server creates on first start — also create teams.
Token values are shown once, when created; only their hashes are stored. Everything is scoped to the
actor's team: other teams are invisible.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from purrflow.engine.commit import GroupCommitter
from purrflow.errors import AuthError, ForbiddenError, InvalidInputError, NotFoundError
from purrflow.store import Store, Team, TokenInfo, User

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: The team the server creates on first start; its admins operate the server.
OPERATOR_TEAM = "default"


@dataclass(frozen=True, slots=True)
class NewMember:
    """A user just made, with their first token (shown once)."""

    team: Team
    user: User
    token: str


def new_token() -> str:
    return f"purr_{secrets.token_urlsafe(32)}"


def check_name(kind: str, name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInputError(f"{kind} name {name!r} must be 1–64 letters, digits, '.', '_' or '-'")


class IdentityService:
    def __init__(self, store: Store, committer: GroupCommitter) -> None:
        self._store = store
        self._committer = committer

    # -- who is asking -------------------------------------------------------------------------
    def authenticate(self, authorization: str) -> User:
        """The user behind an `Authorization: Bearer <token>` header."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(
                "this API needs a bearer token (Authorization: Bearer <token>)",
                hint="set PURRFLOW_TOKEN, or run the CLI on the server's machine where it reads <data dir>/admin-token",
            )
        user = self._store.user_for_token(token.strip())
        if user is None:
            raise AuthError(
                "the token is unknown or revoked",
                hint="check PURRFLOW_TOKEN; the server's admin token is in <data dir>/admin-token",
            )
        return user

    def bootstrap_admin(self, token_file: Path) -> str:
        """Make sure an admin of the operator team exists and its token is in `token_file` (0600)."""
        if token_file.exists():
            token = token_file.read_text().strip()
            if self._store.user_for_token(token) is not None:
                return token
        token = new_token()
        with self._store.transaction():
            team = self._store.get_team_by_name(OPERATOR_TEAM) or self._store.create_team(OPERATOR_TEAM)
            user = self._store.create_user(team.id, f"admin-{secrets.token_hex(3)}", role="admin")
            self._store.add_token(user.id, token, name="admin (created on first start)")
        token_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        return token

    def operator_admin(self) -> User:
        """The first admin of the operator team (the demo project is deployed for them)."""
        team = self._store.get_team_by_name(OPERATOR_TEAM)
        admin = next((u for u in self._store.list_users(team.id) if u.role == "admin"), None) if team else None
        if admin is None:
            raise NotFoundError("the server has no admin yet", hint="it creates one on first start")
        return admin

    def team(self, team_id: str) -> Team:
        team = self._store.get_team(team_id)
        if team is None:
            raise NotFoundError(f"no team {team_id!r}")
        return team

    def user(self, user_id: str) -> User | None:
        return self._store.get_user(user_id)

    def is_operator(self, user: User) -> bool:
        team = self._store.get_team(user.team_id)
        return user.role == "admin" and team is not None and team.name == OPERATOR_TEAM

    # -- teams and users -----------------------------------------------------------------------
    def teams(self, actor: User) -> list[Team]:
        """Every team for the server's operators; one's own team for everyone else."""
        return self._store.list_teams() if self.is_operator(actor) else [self.team(actor.team_id)]

    def create_team(self, actor: User, name: str, admin: str, email: str = "") -> NewMember:
        if not self.is_operator(actor):
            raise ForbiddenError("creating teams needs an admin of the default team")
        return self.found_team(name, admin, email)

    def found_team(self, name: str, admin: str, email: str = "") -> NewMember:
        """A new team with its first admin (no permission asked: the server's and `purr run`'s own use)."""
        check_name("team", name)
        check_name("user", admin)
        if self._store.get_team_by_name(name) is not None:
            raise InvalidInputError(f"a team named {name!r} already exists")
        self._check_free(admin)
        token = new_token()
        with self._committer.write():
            team = self._store.create_team(name)
            user = self._store.create_user(team.id, admin, email=email, role="admin")
            self._store.add_token(user.id, token, name="first token")
        return NewMember(team, user, token)

    def users(self, actor: User) -> list[User]:
        return self._store.list_users(actor.team_id)

    def create_user(self, actor: User, username: str, *, email: str = "", role: str = "member") -> NewMember:
        if actor.role != "admin":
            raise ForbiddenError("adding users needs a team admin", hint="ask an admin of your team")
        check_name("user", username)
        self._check_free(username)
        token = new_token()
        with self._committer.write():
            user = self._store.create_user(actor.team_id, username, email=email, role=role)
            self._store.add_token(user.id, token, name="first token")
        return NewMember(self.team(actor.team_id), user, token)

    def _check_free(self, username: str) -> None:
        if self._store.get_user_by_username(username) is not None:
            raise InvalidInputError(f"the username {username!r} is taken")

    # -- tokens --------------------------------------------------------------------------------
    def tokens(self, actor: User) -> list[TokenInfo]:
        """Every token of the team for its admins; one's own for members."""
        return self._store.list_tokens(actor.team_id, user_id=None if actor.role == "admin" else actor.id)

    def create_token(self, actor: User, name: str = "") -> tuple[str, str]:
        """(token id, token): the value is shown once."""
        token = new_token()
        with self._committer.write(atomic=False):
            token_id = self._store.add_token(actor.id, token, name=name)
        return token_id, token

    def revoke_token(self, actor: User, token_id: str) -> None:
        with self._committer.write(atomic=False):
            revoked = self._store.revoke_token(
                token_id, actor.team_id, user_id=None if actor.role == "admin" else actor.id
            )
        if not revoked:
            raise NotFoundError(f"no live token {token_id!r}", hint="list tokens with `purr tokens list`")
