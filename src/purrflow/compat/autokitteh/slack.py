"""`autokitteh.slack`: AutoKitteh's Slack helpers, on purrflow's Slack integration (a `base_url`
field redirects the client)."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.web.client import WebClient

from purrflow.compat.autokitteh._native import autokitteh_errors
from purrflow.integrations import slack as _slack

#: Slack allows 80 characters; AutoKitteh keeps names shorter, and so do we.
_MAX_NAME = 50


def slack_client(connection: str, **kwargs: Any) -> WebClient:
    """A Slack WebClient for the connection, its token checked with `auth.test` (ConnectionInitError if
    Slack refuses it or the connection has none)."""
    with autokitteh_errors():
        return _slack.client(connection, **kwargs)


def normalize_channel_name(name: str) -> str:
    """`name` as a valid Slack channel name: lower case, no quotes, any character other than a-z, 0-9,
    `-` and `_` replaced by `-`, runs of separators made one `-`, at most 50 characters, no `-` at
    either end. An empty name stays empty."""
    text = name.lower().strip().replace("'", "").replace('"', "")
    text = re.sub(r"[^a-z0-9_-]", "-", text)
    text = re.sub(r"[-_]{2,}", "-", text)[:_MAX_NAME]
    return text.removeprefix("-").removesuffix("-")


__all__ = ["normalize_channel_name", "slack_client"]
