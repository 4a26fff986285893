"""Keys kept outside the database, and what they encrypt.

The keys come from `PURRFLOW_SECRET_KEY` (several Fernet keys, comma-separated, to rotate: the first
encrypts, all decrypt) or from `<data dir>/secret.key`, created on first start and readable by its owner
only. Two uses:
- the team's secrets are Fernet tokens (`SecretBox.encrypt`), re-encrypted by `purr secrets rotate`;
- everything a session carries at rest — journal outcomes, values, event and signal payloads, results and
  errors — is sealed by the store with a `DataCipher`: AES-256-GCM under keys derived from the same keys
  (HKDF-SHA256), ~2 µs a step. A secret that flows into any step's result never rests in clear.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from purrflow.errors import PurrflowError

#: Journal entries sealed one by one before the store encrypted everything (read, never written).
LEGACY_SEALED = b"PFSEAL1:"
#: A sealed value: MARK, key id (4 bytes), nonce (12 bytes), ciphertext with its tag.
DATA_MARK = b"PFD1"
KEY_FILE = "secret.key"
_KEY_ID = 4
_NONCE = 12


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise PurrflowError("no secret key", hint="set PURRFLOW_SECRET_KEY or let the server create secret.key")
        self._keys = keys
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

    def data_cipher(self) -> DataCipher:
        return DataCipher(self._keys, self)

    def derive_key(self, purpose: bytes) -> bytes:
        """A key of its own for `purpose` (HKDF of the current key): signing one thing can never forge another."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(self._keys[0])


class DataCipher:
    """The store's encryption at rest (implements `purrflow.store.Cipher`)."""

    def __init__(self, keys: list[bytes], box: SecretBox) -> None:
        derived = [_derive(key) for key in keys]
        self._aead = {_key_id(key): AESGCM(key) for key in derived}
        self._current_id = _key_id(derived[0])
        self._current = self._aead[self._current_id]
        self._box = box

    def seal(self, data: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return DATA_MARK + self._current_id + nonce + self._current.encrypt(nonce, data, self._current_id)

    def open(self, blob: bytes) -> bytes:
        if blob.startswith(DATA_MARK):
            start = len(DATA_MARK)
            key_id = blob[start : start + _KEY_ID]
            nonce = blob[start + _KEY_ID : start + _KEY_ID + _NONCE]
            aead = self._aead.get(key_id)
            if aead is None:
                raise _unknown_key()
            try:
                return aead.decrypt(nonce, blob[start + _KEY_ID + _NONCE :], key_id)
            except InvalidTag:
                raise PurrflowError("stored data failed its integrity check (it was changed on disk)") from None
        if blob.startswith(LEGACY_SEALED):
            return self._box.decrypt(blob[len(LEGACY_SEALED) :])
        return blob  # stored before encryption at rest


def _derive(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"purrflow data at rest v1").derive(key)


def _key_id(key: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(key)
    return digest.finalize()[:_KEY_ID]


def _unknown_key() -> PurrflowError:
    return PurrflowError(
        "stored data was encrypted with a key the server no longer has",
        hint="keep every old key in PURRFLOW_SECRET_KEY (after the new one)",
    )
