"""`autokitteh.twilio`: AutoKitteh's Twilio helper, on purrflow's Twilio integration (a `base_url`
field redirects the client)."""

from __future__ import annotations

from typing import Any

from purrflow.compat.autokitteh._native import autokitteh_errors
from purrflow.integrations import twilio as _twilio


def twilio_client(connection: str) -> Any:
    """A twilio `Client` for the connection's account."""
    with autokitteh_errors():
        return _twilio.client(connection)


__all__ = ["twilio_client"]
