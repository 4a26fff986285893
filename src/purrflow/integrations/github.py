"""GitHub: a PyGithub client from a personal access token or a GitHub App installation.

Fields: `pat`; or `install_token` (minted by the server for a connection set up with `--auth app`); or
`oauth_access_token` (`--auth oauth`); or `app_id`, `private_key` and `install_id`, signed here.
`base_url` (`http://host:port/api/v3`) points the client at another host; `enterprise_url` (GitHub
Enterprise Server's root, as AutoKitteh's helper reads it) does too, with `api/v3` appended.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from purrflow.integrations._connection import fields, first, redirect
from purrflow.integrations._deps import missing
from purrflow.integrations.errors import ConnectionInitError

try:
    from github import Auth, Github, GithubIntegration
except ImportError as err:  # pragma: no cover - the extra is installed in tests
    raise missing("GitHub", err) from err


def api_url(found: Mapping[str, str]) -> str | None:
    """The REST API's root for this connection, or None for github.com's."""
    url = redirect(found)
    if url:
        return url.rstrip("/")
    enterprise = first(found, "enterprise_url")
    return urljoin(enterprise, "api/v3") if enterprise else None


def client(conn: str, **kwargs: Any) -> Github:
    """A Github client: the PAT's, else the App installation's (a JWT signed with `private_key`)."""
    found = fields(conn)
    url = api_url(found)
    if url:
        kwargs["base_url"] = url
    # A personal token; else the installation token the server mints for an App connection (and renews
    # before it expires); else a user's token from the browser grant.
    token = first(found, "pat", "install_token", "oauth_access_token")
    if token:
        return Github(auth=Auth.Token(token), **kwargs)
    app_fields = ("app_id", "private_key", "install_id")
    needed = [name for name in app_fields if not found.get(name)]
    if len(needed) == len(app_fields):
        raise ConnectionInitError(conn, missing=["pat"], reason="or app_id, private_key and install_id of an App")
    if needed:
        raise ConnectionInitError(conn, missing=needed, reason="a GitHub App needs app_id, private_key, install_id")
    try:
        app_id, install_id = int(found["app_id"]), int(found["install_id"])
    except ValueError as err:
        raise ConnectionInitError(conn, reason=f"app_id and install_id must be numbers: {err}") from err
    app = GithubIntegration(auth=Auth.AppAuth(app_id, found["private_key"]), **kwargs)
    return app.get_github_for_installation(install_id)
