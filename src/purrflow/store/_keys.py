"""The data key's check: a value sealed with the key of the first process that opened the database.

Every purrflow process over one database (API servers, workers) must seal and open with the same keys.
One with another key would start, then fail on each session it read; this check makes it refuse to start,
saying which key to give it.
"""

from __future__ import annotations

from purrflow.errors import PurrflowError
from purrflow.store._db import IN_CLEAR, Database

_CHECK = b"purrflow data key check v1"


class DataKeyMismatch(PurrflowError):
    """This process's data key is not the one the database's data was sealed with."""


class KeyStore(Database):
    def check_data_key(self) -> None:
        """Seal the check on first use; afterwards, raise `DataKeyMismatch` unless this key opens it."""
        if self._cipher is IN_CLEAR:
            return
        row = self._one("SELECT sealed FROM data_key_check WHERE id = 1")
        if row is None:
            with self.transaction():
                self._exec(
                    "INSERT INTO data_key_check (id, sealed) VALUES (1, ?) ON CONFLICT DO NOTHING", self._seal(_CHECK)
                )
            return
        try:
            opened = self._open(row[0])
        except PurrflowError:
            opened = b""
        if opened != _CHECK:
            raise DataKeyMismatch(
                "this process's data key does not open the database's data: it was sealed with another key",
                hint="give every server and worker over one database the same keys: PURRFLOW_SECRET_KEY, or a copy"
                " of the first server's <data dir>/secret.key",
            )
