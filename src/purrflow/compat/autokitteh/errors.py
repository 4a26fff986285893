"""AutoKitteh's error types, for programs that catch them.

With the PyPI package installed too, this module *is* `autokitteh.errors` (the loader puts it in place
before the package imports it), so every name that package's modules import from it is defined here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from purrflow.integrations import errors as _integrations


class AutoKittehError(Exception):
    """Generic base class for all errors in the AutoKitteh SDK."""


class ConnectionInitError(AutoKittehError, _integrations.ConnectionInitError):
    """A connection's fields are missing or wrong. Also purrflow's own `ConnectionInitError`, so that
    both `except` clauses catch what the autokitteh helpers raise; the message names the missing fields
    and the command that sets them."""

    def __init__(self, connection: str, *, missing: Sequence[str] = (), reason: str = "", any_of: bool = False) -> None:
        _integrations.ConnectionInitError.__init__(self, connection, missing=missing, reason=reason, any_of=any_of)

    @classmethod
    def of(cls, err: _integrations.ConnectionInitError) -> ConnectionInitError:
        """The same failure, as the autokitteh helpers' error."""
        if isinstance(err, cls):
            return err
        return cls(err.connection, missing=err.missing, reason=err.reason, any_of=err.any_of)


class EnvVarError(AutoKittehError):
    """A required environment variable is missing."""

    def __init__(self, env_var: str, desc: str = "") -> None:
        super().__init__(f"environment variable {env_var!r} is {desc or 'missing'}")


class OAuthRefreshError(AutoKittehError):
    """A connection's OAuth token could not be refreshed."""

    def __init__(self, connection: str, error: Any) -> None:
        super().__init__(f"OAuth refresh failed for {connection!r} connection: {error}")


class AtlassianOAuthError(AutoKittehError):
    """An OAuth-based Atlassian connection cannot make this API call."""

    def __init__(self, connection: str) -> None:
        super().__init__(f"API calls not supported by {connection!r}, use a token-based connection instead")


class AuthenticationError(Exception):
    """A service refused a connection's credentials (like AutoKitteh's, not an AutoKittehError)."""

    def __init__(self, connection: str, reason: str) -> None:
        super().__init__(f"Authentication failed for connection {connection!r}: {reason}")
