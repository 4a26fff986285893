"""`autokitteh.github`: AutoKitteh's GitHub helper, on purrflow's GitHub integration (`base_url` or
`enterprise_url` redirect it)."""

from __future__ import annotations

from typing import Any

from github import Github

from purrflow.compat.autokitteh._native import autokitteh_errors
from purrflow.integrations import github as _github


def github_client(connection: str, **kwargs: Any) -> Github:
    """A PyGithub client for the connection's PAT or GitHub App installation."""
    with autokitteh_errors():
        return _github.client(connection, **kwargs)


__all__ = ["github_client"]
