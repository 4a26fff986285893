"""Clients for the services programs call, built from a connection's fields (runner side).

Each integration is a module with a `client(conn, **kwargs)` (google and atlassian have one per API):
`purrflow.integrations.slack.client("slack_conn")`. Fields come from `fields(conn)` only
(`_connection.py`); a `base_url` field redirects any client to another host. Modules import their
service's library when they are imported, so importing this package costs nothing.
"""

from __future__ import annotations

from purrflow.integrations._connection import check_name, fields, first, require
from purrflow.integrations._oauth import access_token
from purrflow.integrations.errors import ConnectionInitError

__all__ = ["ConnectionInitError", "access_token", "check_name", "fields", "first", "require"]
