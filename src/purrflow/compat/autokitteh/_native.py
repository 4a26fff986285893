"""The autokitteh helpers are purrflow's integrations under AutoKitteh's names: this turns purrflow's
`ConnectionInitError` into the autokitteh one on the way out (it is both), keeping the service's error
as its cause."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from purrflow.compat.autokitteh.errors import ConnectionInitError
from purrflow.integrations import errors as _integrations


@contextmanager
def autokitteh_errors() -> Iterator[None]:
    try:
        yield
    except _integrations.ConnectionInitError as err:
        if isinstance(err, ConnectionInitError):
            raise
        raise ConnectionInitError.of(err).with_traceback(err.__traceback__) from err.__cause__
