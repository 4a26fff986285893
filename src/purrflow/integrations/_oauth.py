"""A connection's OAuth token as fields hold it: `oauth_AccessToken` and `oauth_Expiry`.

AutoKitteh writes the expiry in Go's time format (`2024-06-20 19:18:17.5 -0700 PDT`); people and tests
write ISO 8601. Both are read here, once, for every integration that uses OAuth.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from purrflow.integrations._connection import require
from purrflow.integrations.errors import ConnectionInitError


def parse_expiry(text: str) -> datetime:
    """A token's expiry as naive UTC (what google-auth compares with); a time without an offset is UTC."""
    cleaned = re.sub(r"\s+[A-Z]{2,5}$", "", text.strip())  # Go's zone abbreviation
    cleaned = re.sub(r"(:\d{2})\.\d+", r"\1", cleaned)  # sub-second digits (Go prints up to 9)
    cleaned = re.sub(r"\s+([+-]\d{2}:?\d{2}|Z)$", r"\1", cleaned)
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def access_token(conn: str, found: Mapping[str, str]) -> tuple[str, datetime]:
    """The connection's OAuth access token and when it expires (naive UTC)."""
    token = require(conn, found, "oauth_AccessToken")
    expiry = require(conn, found, "oauth_Expiry")
    try:
        return token, parse_expiry(expiry)
    except ValueError as err:
        raise ConnectionInitError(conn, reason=f"oauth_Expiry {expiry!r} is not a time") from err
