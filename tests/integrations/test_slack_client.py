"""purrflow.integrations.slack against a local Slack Web API."""

from __future__ import annotations

import pytest
from service_standins import connect, running, slack

from purrflow.integrations import slack as slack_integration
from purrflow.integrations.errors import ConnectionInitError


def test_the_client_checks_its_token_then_posts_to_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(slack) as api:
        connect(monkeypatch, "slack_conn", base_url=api.url + "/api/", oauth_access_token="xoxb-1")
        client = slack_integration.client("slack_conn")
        answer = client.chat_postMessage(channel="C1", text="hello")
    assert answer["ok"] and answer["channel"] == "C1"
    assert api.paths() == ["POST /api/auth.test", "POST /api/chat.postMessage"]
    assert {r.headers["authorization"] for r in api.requests} == {"Bearer xoxb-1"}


@pytest.mark.parametrize("field", ["private_bot_token", "oauth_AccessToken", "BotToken", "bot_token"])
def test_older_token_fields_are_read_too(monkeypatch: pytest.MonkeyPatch, field: str) -> None:
    with running(slack) as api:
        connect(monkeypatch, "slack_conn", base_url=api.url + "/api", **{field: "xoxb-2"})
        slack_integration.client("slack_conn")
    assert api.requests[0].headers["authorization"] == "Bearer xoxb-2"


def test_a_connection_without_a_token_names_the_fields_and_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "other", oauth_access_token="xoxb-not-mine")
    with pytest.raises(ConnectionInitError) as caught:
        slack_integration.client("slack_conn")
    message = str(caught.value)
    assert "'slack_conn'" in message and "oauth_access_token" in message and "bot_token" in message
    assert "purr connections init acme slack_conn" in message
    assert "purr connections set acme slack_conn oauth_access_token=" in message
    assert caught.value.connection == "slack_conn" and "oauth_access_token" in caught.value.missing


def test_a_token_slack_refuses_fails_at_creation_with_slacks_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(slack) as api:
        connect(monkeypatch, "slack_conn", base_url=api.url + "/api/", oauth_access_token="xoxb-revoked")
        with pytest.raises(ConnectionInitError, match="token_revoked") as caught:
            slack_integration.client("slack_conn")
    assert "purr connections" in str(caught.value)


def test_an_unreachable_slack_is_a_connection_error_too(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(slack) as api:
        url = api.url
    connect(monkeypatch, "slack_conn", base_url=url + "/api/", oauth_access_token="xoxb-1")
    with pytest.raises(ConnectionInitError, match=r"auth\.test"):
        slack_integration.client("slack_conn", timeout=2)
