"""purrflow.integrations.atlassian against a local Jira REST API."""

from __future__ import annotations

import base64

import pytest
from service_standins import connect, jira, running

from purrflow.integrations import atlassian
from purrflow.integrations.errors import ConnectionInitError


def test_jira_cloud_basic_auth_gets_an_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(jira) as api:
        connect(monkeypatch, "jira_conn", BaseURL=api.url, Email="bot@example.com", Token="t0k")
        issue = atlassian.jira("jira_conn").issue("OPS-1")
    assert issue["fields"]["summary"] == "Printer on fire"
    assert api.requests[0].path == "/rest/api/2/issue/OPS-1"
    assert api.requests[0].headers["authorization"] == "Basic " + base64.b64encode(b"bot@example.com:t0k").decode()


def test_a_pat_and_base_url_which_wins_over_baseurl(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(jira) as api:
        connect(monkeypatch, "jira_conn", base_url=api.url, BaseURL="https://acme.atlassian.net", Token="pat")
        atlassian.jira("jira_conn").issue("OPS-2")
    assert api.requests[0].headers["authorization"] == "Bearer pat"


def test_missing_url_or_token_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "jira_conn", Token="t")
    with pytest.raises(ConnectionInitError, match="missing field BaseURL"):
        atlassian.jira("jira_conn")
    connect(monkeypatch, "jira_conn", BaseURL="http://127.0.0.1:9")
    connect(monkeypatch, "wiki", BaseURL="http://127.0.0.1:9")
    with pytest.raises(ConnectionInitError, match="missing field Token") as caught:
        atlassian.confluence("wiki")
    assert "purr connections set acme wiki Token=" in str(caught.value)
