"""purrflow.integrations.twilio against a local Twilio REST API."""

from __future__ import annotations

import pytest
from service_standins import connect, running, twilio

from purrflow.integrations import twilio as twilio_integration
from purrflow.integrations.errors import ConnectionInitError


def test_a_message_is_created_at_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(twilio) as api:
        connect(monkeypatch, "twilio_conn", base_url=api.url + "/", AccountSID="AC1", Username="AC1", Password="secret")
        client = twilio_integration.client("twilio_conn")
        message = client.messages.create(to="+15550001", from_="+15550002", body="hi")
    assert message.sid == "SM1" and message.body == "hi"
    assert api.paths() == ["POST /2010-04-01/Accounts/AC1/Messages.json"]
    assert api.requests[0].form == {"To": "+15550001", "From": "+15550002", "Body": "hi"}


def test_missing_credentials_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "twilio_conn", AccountSID="AC1")
    with pytest.raises(ConnectionInitError, match="missing field Password"):
        twilio_integration.client("twilio_conn")
