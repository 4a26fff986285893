"""`autokitteh.google`: AutoKitteh's Google Workspace helpers, on purrflow's Google integration (a
`base_url` field replaces Google's root URL). Gemini and YouTube helpers are not offered."""

from __future__ import annotations

from typing import Any

import gspread
from google.auth.credentials import Credentials

from purrflow.compat.autokitteh._native import autokitteh_errors
from purrflow.integrations import google as _google


def _service(connection: str, api: str, kwargs: dict[str, Any]) -> Any:
    with autokitteh_errors():
        return _google.client(connection, api, **kwargs)


def gmail_client(connection: str, **kwargs: Any) -> Any:
    return _service(connection, "gmail", kwargs)


def google_calendar_client(connection: str, **kwargs: Any) -> Any:
    return _service(connection, "calendar", kwargs)


def google_drive_client(connection: str, **kwargs: Any) -> Any:
    return _service(connection, "drive", kwargs)


def google_forms_client(connection: str, **kwargs: Any) -> Any:
    return _service(connection, "forms", kwargs)


def google_sheets_client(connection: str, **kwargs: Any) -> Any:
    return _service(connection, "sheets", kwargs)


def gspread_client(connection: str, **kwargs: Any) -> gspread.Client:
    with autokitteh_errors():
        return _google.gspread_client(connection, **kwargs)


def google_creds(integration: str, connection: str, scopes: list[str], **kwargs: Any) -> Credentials:
    """The connection's credentials (a user's OAuth token or a service account's) for `scopes`."""
    with autokitteh_errors():
        return _google.credentials(connection, scopes)


def google_id(url: str) -> str:
    """The document id in a Google Docs/Sheets/Forms URL; an id is its own id (ValueError if none)."""
    return _google.google_id(url)


__all__ = [
    "gmail_client",
    "google_calendar_client",
    "google_creds",
    "google_drive_client",
    "google_forms_client",
    "google_id",
    "google_sheets_client",
    "gspread_client",
]
