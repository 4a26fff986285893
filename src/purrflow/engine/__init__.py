"""The host side of sessions: lifecycle, journal, waits, child sessions and dispatch.

Pure logic over the `Store` protocol: no SQL and no HTTP in this package. Import the concrete pieces
from their modules (`purrflow.engine.engine`, …); this package deliberately re-exports nothing so that
the runner, which shares only `purrflow.engine.protocol`, does not import the host's code.
"""

__all__: list[str] = []
