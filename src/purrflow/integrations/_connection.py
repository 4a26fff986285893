"""Where every integration reads its connection's fields: `fields(conn)`, and nowhere else.

Today the fields are the session's `<conn>__<field>` environment variables (how AutoKitteh hands them to
programs, and how purrflow's host starts sessions). Keeping the read in one function lets it later ask
the host for fresh values (a refreshed OAuth token) without touching a single client helper.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from purrflow.integrations.errors import ConnectionInitError

_NAME = re.compile(r"[A-Za-z_]\w*")


def check_name(conn: str) -> None:
    """A connection name is an identifier (it is a prefix of environment variables): ValueError if not,
    as AutoKitteh's helpers do."""
    if not _NAME.fullmatch(conn):
        raise ValueError(f"invalid connection name: {conn!r}")


def fields(conn: str) -> Mapping[str, str]:
    """The connection's fields that have a value, by field name (`slack_conn__base_url` → `base_url`)."""
    check_name(conn)
    prefix = conn + "__"
    return {name[len(prefix) :]: value for name, value in os.environ.items() if name.startswith(prefix) and value}


def first(found: Mapping[str, str], *names: str) -> str | None:
    """The value of the first of `names` that the connection has (fields known under several names)."""
    for name in names:
        if found.get(name):
            return found[name]
    return None


def require(conn: str, found: Mapping[str, str], *names: str) -> str:
    """The first of `names` that is set; ConnectionInitError naming them all if none is."""
    value = first(found, *names)
    if value is None:
        raise ConnectionInitError(conn, missing=names, any_of=True)
    return value


def redirect(found: Mapping[str, str]) -> str | None:
    """The `base_url` field: purrflow's way to point a client at another host (a stand-in, a proxy)."""
    return first(found, "base_url")
