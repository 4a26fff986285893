"""Team secrets as ciphertext: this layer never sees a secret in clear."""

from __future__ import annotations

import time

from purrflow.store._db import Database


class SecretStore(Database):
    def get_secret_ciphertext(self, team_id: str, key: str) -> bytes | None:
        row = self._one("SELECT ciphertext FROM team_secrets WHERE team_id = ? AND key = ?", team_id, key)
        return bytes(row[0]) if row else None

    def put_secret_ciphertext(self, team_id: str, key: str, ciphertext: bytes) -> None:
        self._exec(
            "INSERT INTO team_secrets (team_id, key, ciphertext, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (team_id, key) DO UPDATE"
            " SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
            team_id, key, ciphertext, time.time(),
        )  # fmt: skip

    def delete_secret(self, team_id: str, key: str) -> bool:
        return self._exec("DELETE FROM team_secrets WHERE team_id = ? AND key = ?", team_id, key).rowcount > 0

    def secret_names(self, team_id: str) -> list[tuple[str, float]]:
        rows = self._all("SELECT key, updated_at FROM team_secrets WHERE team_id = ? ORDER BY key", team_id)
        return [(row[0], float(row[1])) for row in rows]

    def all_secret_ciphertexts(self) -> list[tuple[str, str, bytes]]:
        return [(r[0], r[1], bytes(r[2])) for r in self._all("SELECT team_id, key, ciphertext FROM team_secrets")]
