"""`autokitteh.atlassian`: AutoKitteh's Jira and Confluence helpers, on purrflow's Atlassian
integration (`base_url` or `BaseURL` is the site)."""

from __future__ import annotations

from typing import Any

from purrflow.compat.autokitteh._native import autokitteh_errors
from purrflow.compat.autokitteh.errors import AtlassianOAuthError
from purrflow.integrations import atlassian as _atlassian
from purrflow.integrations import fields


def _token_based(connection: str) -> None:
    """AutoKitteh's helpers refuse OAuth connections with their own error; so do these."""
    found = fields(connection)
    if found.get("oauth_AccessToken") and not found.get("Token"):
        raise AtlassianOAuthError(connection)


def jira_client(connection: str, **kwargs: Any) -> Any:
    """An atlassian-python-api `Jira` client for the connection's site and token."""
    with autokitteh_errors():
        _token_based(connection)
        return _atlassian.jira(connection, **kwargs)


def confluence_client(connection: str, **kwargs: Any) -> Any:
    """An atlassian-python-api `Confluence` client for the connection's site and token."""
    with autokitteh_errors():
        _token_based(connection)
        return _atlassian.confluence(connection, **kwargs)


def get_base_url(connection: str) -> str | None:
    """The connection's Atlassian site URL, None if it has none yet."""
    return _atlassian.base_url(connection)


__all__ = ["confluence_client", "get_base_url", "jira_client"]
