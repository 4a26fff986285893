"""Twilio: a REST client from an account's credentials.

Fields: `Username` and `Password` (AutoKitteh's names: an API key's SID and secret, or the account SID
and auth token), `AccountSID`; `AuthToken` is read when `Password` is missing and `AccountSID` when
`Username` is. `base_url` (`http://host:port/`) takes every request meant for `https://*.twilio.com/`,
path kept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from purrflow.integrations._connection import fields, first, redirect
from purrflow.integrations._deps import missing
from purrflow.integrations.errors import ConnectionInitError

try:
    from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
    from twilio.rest import Client  # type: ignore[import-untyped]
except ImportError as err:  # pragma: no cover - the extra is installed in tests
    raise missing("Twilio", err) from err


class _RedirectedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Twilio's HTTP client, sending what is addressed to a Twilio host to `root` instead: the library
    builds every URL from its own per-product domains, so the transport is where they can move."""

    def __init__(self, root: str) -> None:
        super().__init__()
        self._root = root.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            url = self._root + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, url, *args, **kwargs)


def client(conn: str, **kwargs: Any) -> Any:
    """A twilio `Client` for the connection's account."""
    found = fields(conn)
    account_sid = first(found, "AccountSID")
    username = first(found, "Username", "AccountSID")
    password = first(found, "Password", "AuthToken")
    absent = [name for name, value in (("Username", username), ("Password", password)) if not value]
    if absent:
        raise ConnectionInitError(conn, missing=absent)
    url = redirect(found)
    if url:
        kwargs.setdefault("http_client", _RedirectedHttpClient(url))
    return Client(username, password, account_sid=account_sid, **kwargs)
