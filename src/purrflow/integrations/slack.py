"""Slack: a `slack_sdk` WebClient from a connection, checked with `auth.test` as AutoKitteh's is.

Token fields, in the order AutoKitteh's helper tries them: `oauth_access_token` (OAuth v2),
`private_bot_token` (Socket Mode), `oauth_AccessToken` and `BotToken` (older connections), `bot_token`.
`base_url` (`http://host:port/api/`) points the client at another host.
"""

from __future__ import annotations

from typing import Any

from purrflow.integrations._connection import fields, redirect, require
from purrflow.integrations._deps import missing
from purrflow.integrations.errors import ConnectionInitError

try:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.client import WebClient
except ImportError as err:  # pragma: no cover - the extra is installed in tests
    raise missing("Slack", err) from err

TOKEN_FIELDS = ("oauth_access_token", "private_bot_token", "oauth_AccessToken", "BotToken", "bot_token")


def client(conn: str, **kwargs: Any) -> WebClient:
    """A WebClient whose token Slack has accepted (`auth.test`): a connection that cannot work fails
    here, at the program's import, with ConnectionInitError naming the connection and Slack's error."""
    found = fields(conn)
    token = require(conn, found, *TOKEN_FIELDS)
    url = redirect(found)
    if url:
        kwargs["base_url"] = url if url.endswith("/") else url + "/"
    web = WebClient(token=token, **kwargs)
    try:
        web.auth_test().validate()
    except SlackApiError as err:
        raise ConnectionInitError(conn, reason=f"Slack auth.test: {err.response.get('error', err)}") from err
    except OSError as err:  # urllib's URLError, a refused connection, a timeout
        raise ConnectionInitError(conn, reason=f"Slack auth.test at {web.base_url}: {err}") from err
    return web
