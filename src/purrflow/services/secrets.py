"""The team's secrets: encrypted before they are stored, never handed out in clear except to a session
of the team (whose journal rests encrypted)."""

from __future__ import annotations

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.secretbox import SecretBox
from purrflow.errors import ForbiddenError, NotFoundError
from purrflow.rules.secrets import check_secret_key, check_secret_value
from purrflow.store import Store, User


class SecretService:
    def __init__(self, store: Store, committer: GroupCommitter, box: SecretBox) -> None:
        self._store = store
        self._committer = committer
        self._box = box

    def names(self, team_id: str) -> list[tuple[str, float]]:
        """(key, updated at) of each secret of the team."""
        return self._store.secret_names(team_id)

    def get(self, team_id: str, key: str) -> str | None:
        check_secret_key(key)
        token = self._store.get_secret_ciphertext(team_id, key)
        return self._box.decrypt(token).decode() if token is not None else None

    def exists(self, team_id: str, key: str) -> bool:
        check_secret_key(key)
        return self._store.get_secret_ciphertext(team_id, key) is not None

    def set(self, team_id: str, key: str, value: str) -> str:
        check_secret_key(key)
        token = self._box.encrypt(check_secret_value(key, value).encode())
        with self._committer.write(atomic=False):
            self._store.put_secret_ciphertext(team_id, key, token)
        return key

    def delete(self, team_id: str, key: str) -> None:
        with self._committer.write(atomic=False):
            deleted = self._store.delete_secret(team_id, key)
        if not deleted:
            raise NotFoundError(f"your team has no secret {key!r}", hint="list them with `purr secrets list`")

    def rotate(self, actor: User) -> int:
        """Re-encrypt the actor's team's secrets with the first key of PURRFLOW_SECRET_KEY (team admins)."""
        if actor.role != "admin":
            raise ForbiddenError("rotating secrets needs a team admin")
        rotated = 0
        with self._committer.write():
            for team_id, key, token in self._store.all_secret_ciphertexts():
                if team_id == actor.team_id:
                    self._store.put_secret_ciphertext(team_id, key, self._box.rotate(token))
                    rotated += 1
        return rotated
