"""Secrets at rest: Fernet encryption with a key kept outside the database.

The key comes from `PURRFLOW_SECRET_KEY` (several keys, comma-separated, rotate: the first encrypts,
all decrypt) or from `<data dir>/secret.key`, created on first start and readable by its owner only.
Whatever must not be stored in clear — a secret's value, a secret step's result in the journal, the
answer to a secret prompt — goes through `SecretBox`; journal payloads it sealed carry a marker so the
engine can open them for the runner, which needs them in clear to replay.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from purrflow.errors import PurrflowError

SEALED = b"PFSEAL1:"
KEY_FILE = "secret.key"


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise PurrflowError("no secret key", hint="set PURRFLOW_SECRET_KEY or let the server create secret.key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def load(cls, data_dir: Path) -> SecretBox:
        if env := os.environ.get("PURRFLOW_SECRET_KEY"):
            try:
                return cls([part.strip().encode() for part in env.split(",") if part.strip()])
            except ValueError:
                raise PurrflowError(
                    "PURRFLOW_SECRET_KEY holds something that is not a Fernet key",
                    hint="make one with: python -c 'from cryptography.fernet import Fernet;"
                    " print(Fernet.generate_key().decode())'",
                ) from None
        path = data_dir / KEY_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        return cls([path.read_bytes().strip()])

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise PurrflowError(
                "a stored secret cannot be decrypted with the current key",
                hint="keep the old key in PURRFLOW_SECRET_KEY (after the new one) until `purr secrets rotate` ran",
            ) from None

    def rotate(self, token: bytes) -> bytes:
        return self._fernet.rotate(token)

    def seal(self, payload: bytes) -> bytes:
        """A journal payload that must not rest in clear."""
        return SEALED + self.encrypt(payload)

    def unseal(self, payload: bytes) -> bytes:
        return self.decrypt(payload[len(SEALED) :]) if payload.startswith(SEALED) else payload
