"""Jira and Confluence: atlassian-python-api clients from an API token.

Fields: the site's URL in `BaseURL` (or `base_url`, purrflow's redirect field, which wins), then `Token`
with `Email` (Atlassian Cloud: basic auth) or `Token` alone (a Data Center personal access token).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from purrflow.integrations._connection import fields, first, redirect, require
from purrflow.integrations._deps import missing
from purrflow.integrations.errors import ConnectionInitError

try:
    from atlassian import Confluence, Jira  # type: ignore[import-untyped]
except ImportError as err:  # pragma: no cover - the extra is installed in tests
    raise missing("Atlassian", err) from err


def base_url(conn: str, found: Mapping[str, str] | None = None) -> str | None:
    """The Atlassian site's URL for this connection, None if it has none."""
    found = fields(conn) if found is None else found
    return redirect(found) or first(found, "BaseURL", "AccessURL")


def _client(cls: Any, conn: str, kwargs: dict[str, Any]) -> Any:
    found = fields(conn)
    if found.get("oauth_AccessToken") and not found.get("Token"):
        raise ConnectionInitError(conn, reason="an OAuth connection cannot call this API: use an API token (Token)")
    url = base_url(conn, found)
    if not url:
        raise ConnectionInitError(conn, missing=["BaseURL"])
    token = require(conn, found, "Token")
    email = first(found, "Email")
    if email:
        return cls(url=url, username=email, password=token, cloud=True, **kwargs)
    return cls(url=url, token=token, **kwargs)


def jira(conn: str, **kwargs: Any) -> Any:
    """An atlassian `Jira` client for the connection's site."""
    return _client(Jira, conn, kwargs)


def confluence(conn: str, **kwargs: Any) -> Any:
    """An atlassian `Confluence` client for the connection's site."""
    return _client(Confluence, conn, kwargs)


client = jira
