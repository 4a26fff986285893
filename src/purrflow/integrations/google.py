"""Google Workspace APIs: googleapiclient services (Gmail, Sheets, Calendar, Drive, Forms) and gspread.

Credentials come from a service account's key (`JSON`) or, with `auth_type=oauth`, from a user's OAuth
token (`oauth_AccessToken`, `oauth_RefreshToken`, `oauth_Expiry`; Go's or ISO 8601 time). `base_url`
(`http://host:port/`) replaces Google's *root URL*, so request paths keep their form (`gmail/v1/…`,
`v4/spreadsheets/…`): googleapiclient gets it as `client_options.api_endpoint`; gspread, whose URLs are
constants, gets a session that moves `https://*.googleapis.com/` requests there.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from purrflow.integrations._connection import fields, first, redirect, require
from purrflow.integrations._deps import missing
from purrflow.integrations._oauth import access_token
from purrflow.integrations.errors import ConnectionInitError

try:
    import gspread
    from google.auth.credentials import Credentials
    from google.auth.exceptions import GoogleAuthError
    from google.auth.transport.requests import AuthorizedSession, Request
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account
    from googleapiclient.discovery import build  # type: ignore[import-untyped]
except ImportError as err:  # pragma: no cover - the extra is installed in tests
    raise missing("Google", err) from err

#: name → (googleapiclient service, version, default scopes).
APIS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "gmail": (
        "gmail",
        "v1",
        ("https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.settings.basic"),
    ),
    "sheets": ("sheets", "v4", ("https://www.googleapis.com/auth/spreadsheets",)),
    "calendar": (
        "calendar",
        "v3",
        ("https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/calendar.events"),
    ),
    "drive": ("drive", "v3", ("https://www.googleapis.com/auth/drive.file",)),
    "forms": (
        "forms",
        "v1",
        (
            "https://www.googleapis.com/auth/forms.body",
            "https://www.googleapis.com/auth/forms.responses.readonly",
        ),
    ),
}


def credentials(conn: str, scopes: Sequence[str], found: Mapping[str, str] | None = None) -> Credentials:
    """The connection's credentials, valid now: a user's OAuth token (refreshed if it has expired and
    GOOGLE_CLIENT_ID/SECRET are known) or a service account's."""
    found = fields(conn) if found is None else found
    if found.get("auth_type") == "oauth":
        return _user_credentials(conn, found, scopes)
    key = require(conn, found, "JSON")
    try:
        info = json.loads(key)
        account: Credentials = service_account.Credentials.from_service_account_info(info, scopes=list(scopes))
        return account
    except (ValueError, KeyError) as err:
        raise ConnectionInitError(conn, reason=f"JSON is not a service account key: {err}") from err


def _user_credentials(conn: str, found: Mapping[str, str], scopes: Sequence[str]) -> Credentials:
    token, expiry = access_token(conn, found)
    creds = user_credentials.Credentials(
        token=token,
        refresh_token=first(found, "oauth_RefreshToken"),
        expiry=expiry,
        token_uri="https://oauth2.googleapis.com/token",
        # The app's client is the platform's, not the connection's: the operator's environment has it.
        client_id=os.environ.get("GOOGLE_CLIENT_ID"),
        client_secret=os.environ.get("GOOGLE_CLIENT_SECRET"),
        scopes=list(scopes),
    )
    if creds.expired:
        if not (creds.refresh_token and creds.client_id and creds.client_secret):
            raise ConnectionInitError(
                conn, reason=f"oauth_AccessToken expired at {expiry:%Y-%m-%d %H:%M} UTC and cannot be refreshed"
            )
        try:
            creds.refresh(Request())
        except GoogleAuthError as err:
            raise ConnectionInitError(conn, reason=f"OAuth refresh failed: {err}") from err
    return creds


def client(conn: str, api: str, **kwargs: Any) -> Any:
    """A googleapiclient service for `api` (a key of APIS) with the connection's credentials.

    `scopes` overrides the API's default scopes; other keyword arguments go to `build()`."""
    if api not in APIS:
        raise ValueError(f"unknown Google API {api!r}: one of {', '.join(sorted(APIS))}")
    service, version, default_scopes = APIS[api]
    scopes = kwargs.pop("scopes", None) or default_scopes
    found = fields(conn)
    creds = credentials(conn, scopes, found)
    url = redirect(found)
    if url:
        options = dict(kwargs.pop("client_options", None) or {})
        options["api_endpoint"] = url if url.endswith("/") else url + "/"
        kwargs["client_options"] = options
    kwargs.setdefault("cache_discovery", False)
    return build(service, version, credentials=creds, **kwargs)


def gmail(conn: str, **kwargs: Any) -> Any:
    return client(conn, "gmail", **kwargs)


def sheets(conn: str, **kwargs: Any) -> Any:
    return client(conn, "sheets", **kwargs)


def calendar(conn: str, **kwargs: Any) -> Any:
    return client(conn, "calendar", **kwargs)


def drive(conn: str, **kwargs: Any) -> Any:
    return client(conn, "drive", **kwargs)


def forms(conn: str, **kwargs: Any) -> Any:
    return client(conn, "forms", **kwargs)


class _RedirectedSession(AuthorizedSession):
    """An authorized session that sends what is addressed to `https://*.googleapis.com/` to `root`
    instead, keeping the path: gspread builds its URLs from constants, so this is where they can move."""

    def __init__(self, creds: Credentials, root: str) -> None:
        super().__init__(creds)
        self._root = root.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith(".googleapis.com"):
            url = self._root + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, url, *args, **kwargs)


def gspread_client(conn: str, **kwargs: Any) -> gspread.Client:
    """A gspread client with the connection's credentials (Sheets' scope, or `scopes`)."""
    scopes = kwargs.pop("scopes", None) or APIS["sheets"][2]
    found = fields(conn)
    creds = credentials(conn, scopes, found)
    url = redirect(found)
    session = _RedirectedSession(creds, url) if url else None
    return gspread.authorize(creds, session=session, **kwargs)


def google_id(url: str) -> str:
    """The document id in a Google Docs/Sheets/Forms URL (`…/d/<id>/edit` → `<id>`); an id is its own id."""
    match = re.match(r"(?:.*/d/(?:e/)?)?([\w-]{20,})", url)
    if not match:
        raise ValueError(f"no Google document id in {url!r}")
    return match.group(1)
