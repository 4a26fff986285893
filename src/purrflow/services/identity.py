"""Teams, users and tokens, and who may do what with them.

Roles: a team's `admin` adds users and manages every token of the team; a `member` manages their own
tokens. Admins of the `default` team — the one the server creates on first start — also create teams.
Token values are shown once, when created; only their hashes are stored. Everything is scoped to the
actor's team: other teams are invisible.

The web UI logs in with a token, or with a username and the password its user set (a salted scrypt
hash). Either way the browser holds a real token of that user, minted at login and revoked at logout, so
a stolen cookie dies with the session it belonged to; its forms carry a CSRF token derived from that
token with the server's key, so nothing needs to be stored to check one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from purrflow.engine.commit import GroupCommitter
from purrflow.errors import AuthError, ForbiddenError, InvalidInputError, NotFoundError
from purrflow.services import ids
from purrflow.store import Store, Team, TokenInfo, User

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: The team the server creates on first start; its admins operate the server.
OPERATOR_TEAM = "default"
#: The name of the token a web login mints (listed with the user's other tokens; revoked at logout).
WEB_LOGIN = "web login"
#: scrypt's cost: ~50 ms and 16 MiB a check on a laptop, so a stolen hash is slow to guess at.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_PASSWORD_LENGTH = (8, 1024)
#: Failed logins a username gets before each further attempt must wait (doubling, up to the cap).
_FREE_FAILURES = 3
_MAX_BACKOFF_SECONDS = 60.0
_MAX_TRACKED = 10_000
_WRONG_LOGIN = "unknown user or wrong password"


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


def hash_password(password: str) -> str:
    """`scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`: the parameters travel with the hash so they can grow."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != "scrypt":
        return False
    found = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(found, bytes.fromhex(digest))


class IdentityService:
    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        *,
        session_key: bytes,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._committer = committer
        self._session_key = session_key  # keys the web UI's CSRF tokens (derived from the server's key)
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # username → (failed logins in a row, when the last was)

    # -- who is asking -------------------------------------------------------------------------
    def authenticate(self, authorization: str) -> User:
        """The user behind an `Authorization: Bearer <token>` header."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(
                "this API needs a bearer token (Authorization: Bearer <token>)",
                hint="set PURRFLOW_TOKEN, or run the CLI on the server's machine where it reads <data dir>/admin-token",
            )
        return self.user_of_token(token.strip())

    def user_of_token(self, token: str) -> User:
        """The user a token (an API token, or the web UI's cookie) belongs to, while it is live."""
        user = self._store.user_for_token(token)
        if user is None:
            raise AuthError(
                "the token is unknown or revoked",
                hint="check PURRFLOW_TOKEN; the server's admin token is in <data dir>/admin-token",
            )
        return user

    # -- the web UI's logins ------------------------------------------------------------------
    def login(self, username: str, password: str) -> str:
        """A new token of the user whose password this is (a web login); one generic error for any mismatch.

        Failures are counted per username: after a few, each further attempt must wait, twice as long
        each time, so guessing a password through the form is slow while the rightful user barely notices.
        """
        wait = self._backoff_left(username)
        if wait > 0:
            raise AuthError(
                f"too many failed logins for {username!r}; try again in {wait:.0f} s",
                hint="or log in with a token",
            )
        user = self._store.get_user_by_username(username)
        stored = self._store.password_hash(user.id) if user else None
        if user is None or stored is None or not password_matches(password, stored):
            if stored is None:
                hash_password(password)  # as slow as a real check: the answer's time tells no username apart
            self._count_failure(username)
            raise AuthError(_WRONG_LOGIN, hint="check the username and password, or log in with a token")
        self._failures.pop(username, None)
        return self.mint_login(user)

    def _count_failure(self, username: str) -> None:
        now = self._clock()
        if len(self._failures) >= _MAX_TRACKED:  # names made up by the thousand must not grow this forever
            stale = [name for name, (_, last) in self._failures.items() if now - last > _MAX_BACKOFF_SECONDS]
            for name in stale:
                del self._failures[name]
        count, _ = self._failures.get(username, (0, 0.0))
        self._failures[username] = (count + 1, now)

    def _backoff_left(self, username: str) -> float:
        count, last = self._failures.get(username, (0, 0.0))
        if count < _FREE_FAILURES:
            return 0.0
        backoff = min(2.0 ** (count - _FREE_FAILURES), _MAX_BACKOFF_SECONDS)
        return max(0.0, last + backoff - self._clock())

    def mint_login(self, user: User) -> str:
        """A fresh token of `user` for one browser (a token login mints one too, so logout can revoke it)."""
        token = new_token()
        with self._committer.write(atomic=False):
            self._store.add_token(user.id, token, name=WEB_LOGIN)
        return token

    def logout(self, token: str) -> None:
        """Revoke a web login's token: the cookie that carried it stops working everywhere."""
        with self._committer.write(atomic=False):
            self._store.revoke_token_value(token)

    def csrf_token(self, token: str) -> str:
        """The CSRF token of the browser holding `token`: an HMAC, so checking one needs no stored state."""
        return hmac.new(self._session_key, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()

    def csrf_matches(self, token: str, presented: str) -> bool:
        return hmac.compare_digest(self.csrf_token(token), presented)

    def has_password(self, user: User) -> bool:
        return self._store.password_hash(user.id) is not None

    def set_password(self, actor: User, new: str, *, current: str | None = None) -> None:
        """Set the actor's own password; when one is set already, the current one must be given."""
        low, high = _PASSWORD_LENGTH
        if not low <= len(new) <= high:
            raise InvalidInputError(
                f"a password must be {low}–{high} characters (this one has {len(new)})",
                hint="a few words in a row make a long password that is easy to remember",
            )
        stored = self._store.password_hash(actor.id)
        if stored is not None and (current is None or not password_matches(current, stored)):
            raise ForbiddenError(
                "the current password is wrong" if current else "changing a password needs the current one",
                hint="give the current password along with the new one",
            )
        with self._committer.write(atomic=False):
            self._store.set_password_hash(actor.id, hash_password(new))

    def bootstrap_admin(self, token_file: Path) -> str:
        """Make sure an admin of the operator team exists and its token is in `token_file` (0600)."""
        if token_file.exists():
            token = token_file.read_text().strip()
            if self._store.user_for_token(token) is not None:
                return token
        token = new_token()
        with self._store.transaction():
            team = self._store.ensure_team(OPERATOR_TEAM)
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

    def revoke_token(self, actor: User, token_id: str) -> str:
        """Revoke the live token `token_id`, or the one whose id starts with it (`services/ids.py`), of
        the team for its admins, one's own for members; the id revoked."""
        owner = None if actor.role == "admin" else actor.id
        token_id = ids.resolve(self._store, ids.TOKEN, actor.team_id, token_id, user_id=owner)
        with self._committer.write(atomic=False):
            revoked = self._store.revoke_token(token_id, actor.team_id, user_id=owner)
        if not revoked:  # revoked between the two statements
            raise NotFoundError(f"no live token {token_id!r}", hint=ids.TOKEN.listing)
        return token_id
