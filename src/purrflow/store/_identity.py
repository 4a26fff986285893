"""Teams, users and API tokens (tokens are stored as SHA-256 hashes, never in clear)."""

from __future__ import annotations

import hashlib
import time

from purrflow.store._db import Database, new_id
from purrflow.store.records import Team, TokenInfo, User

_USER_COLS = "id, team_id, username, email, role"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class IdentityStore(Database):
    def create_team(self, name: str) -> Team:
        team = Team(id=new_id("team"), name=name)
        self._exec("INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)", team.id, name, time.time())
        return team

    def ensure_team(self, name: str) -> Team:
        """The team of this name, made if there is none: of servers that start at once on one new database,
        each finds the one team the first made (the insert waits for the other's, then does nothing)."""
        self._exec(
            "INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
            new_id("team"), name, time.time(),
        )  # fmt: skip
        team = self.get_team_by_name(name)
        assert team is not None  # inserted, or there already
        return team

    def get_team_by_name(self, name: str) -> Team | None:
        row = self._one("SELECT id, name FROM teams WHERE name = ?", name)
        return Team(*row) if row else None

    def get_team(self, team_id: str) -> Team | None:
        row = self._one("SELECT id, name FROM teams WHERE id = ?", team_id)
        return Team(*row) if row else None

    def create_user(self, team_id: str, username: str, *, email: str = "", role: str = "member") -> User:
        user = User(id=new_id("usr"), team_id=team_id, username=username, email=email, role=role)
        self._exec(
            "INSERT INTO users (id, team_id, username, email, role, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            user.id, team_id, username, email, role, time.time(),
        )  # fmt: skip
        return user

    def get_user(self, user_id: str) -> User | None:
        row = self._one("SELECT id, team_id, username, email, role FROM users WHERE id = ?", user_id)
        return User(*row) if row else None

    def add_token(self, user_id: str, token: str, *, name: str = "") -> str:
        token_id = new_id("tok")
        self._exec(
            "INSERT INTO tokens (id, user_id, token_hash, name, created_at) VALUES (?, ?, ?, ?, ?)",
            token_id, user_id, hash_token(token), name, time.time(),
        )  # fmt: skip
        return token_id

    def user_for_token(self, token: str) -> User | None:
        row = self._one(
            "SELECT u.id, u.team_id, u.username, u.email, u.role FROM tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash = ? AND t.revoked_at IS NULL",
            hash_token(token),
        )
        return User(*row) if row else None

    def revoke_token_value(self, token: str) -> bool:
        """Revoke the token with this value (a web login's, at logout); False if it was not live."""
        sql = "UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL"
        return self._exec(sql, time.time(), hash_token(token)).rowcount > 0

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._exec("UPDATE users SET password_hash = ? WHERE id = ?", password_hash, user_id)

    def password_hash(self, user_id: str) -> str | None:
        """The user's password hash (`services.identity` makes and checks it); None when none was set."""
        row = self._one("SELECT password_hash FROM users WHERE id = ?", user_id)
        return str(row[0]) if row and row[0] is not None else None

    def get_user_by_username(self, username: str) -> User | None:
        row = self._one(f"SELECT {_USER_COLS} FROM users WHERE username = ?", username)
        return User(*row) if row else None

    def list_users(self, team_id: str) -> list[User]:
        return [
            User(*row)
            for row in self._all(f"SELECT {_USER_COLS} FROM users WHERE team_id = ? ORDER BY username", team_id)
        ]

    def team_run_uid(self, team_id: str, *, first: int) -> int:
        """The unprivileged uid the team's sessions run as; allocated (from `first` up) on first use."""
        row = self._one("SELECT run_uid FROM teams WHERE id = ?", team_id)
        if row is None:
            raise KeyError(team_id)
        if row[0] is not None:
            return int(row[0])
        top = self._one("SELECT MAX(run_uid) FROM teams")
        uid = max(first, int(top[0]) + 1 if top and top[0] is not None else first)
        self._exec("UPDATE teams SET run_uid = ? WHERE id = ?", uid, team_id)
        return uid

    def list_teams(self) -> list[Team]:
        return [Team(*row) for row in self._all("SELECT id, name FROM teams ORDER BY name")]

    def list_tokens(self, team_id: str, *, user_id: str | None = None) -> list[TokenInfo]:
        sql = (
            "SELECT t.id, t.name, u.username, t.created_at, t.revoked_at FROM tokens t JOIN users u ON u.id = t.user_id"
            " WHERE u.team_id = ?"
        )
        params: list[object] = [team_id]
        if user_id is not None:
            sql += " AND u.id = ?"
            params.append(user_id)
        return [TokenInfo(*row) for row in self._all(sql + " ORDER BY t.created_at", *params)]

    def revoke_token(self, token_id: str, team_id: str, *, user_id: str | None = None) -> bool:
        """Revoke a token of this team (of this user, when given); False if there is no such live token."""
        sql = (
            "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
            " AND user_id IN (SELECT id FROM users WHERE team_id = ?)"
        )
        params: list[object] = [time.time(), token_id, team_id]
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        return self._exec(sql, *params).rowcount > 0
