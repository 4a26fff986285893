"""purrflow.integrations.http: a plain client whose URL and secret live in the connection."""

from __future__ import annotations

import base64

import pytest
from service_standins import connect, echo, running

from purrflow.integrations import http
from purrflow.integrations.errors import ConnectionInitError


def test_bearer_and_basic_auth_from_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(echo) as api:
        connect(monkeypatch, "api", base_url=api.url + "/v1/", token="s3cret")
        with http.client("api") as client:
            assert client.get("things").json() == {"path": "/v1/things", "authorization": "Bearer s3cret"}
        connect(monkeypatch, "basic", base_url=api.url, username="ada", password="pw")
        with http.client("basic") as client:
            got = client.get("/x").json()["authorization"]
    assert got == "Basic " + base64.b64encode(b"ada:pw").decode()


def test_base_url_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConnectionInitError, match="missing field base_url"):
        http.client("api")
