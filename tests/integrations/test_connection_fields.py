"""fields(conn): the one place connection fields are read."""

from __future__ import annotations

import pickle

import pytest
from service_standins import connect

from purrflow.integrations import ConnectionInitError, fields


def test_fields_are_the_connections_env_vars_with_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "slack_conn", base_url="http://x/api/", oauth_access_token="t", empty="")
    connect(monkeypatch, "slack_conn_2", base_url="http://other/")
    assert fields("slack_conn") == {"base_url": "http://x/api/", "oauth_access_token": "t"}


def test_a_connection_name_must_be_an_identifier() -> None:
    with pytest.raises(ValueError, match="invalid connection name"):
        fields("not-a-name")


def test_the_error_survives_pickling_with_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PURRFLOW_PROJECT", raising=False)
    err = ConnectionInitError("c", missing=["a", "b"])
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and "missing fields a, b" in str(err)
    assert "purr connections init PROJECT c" in str(err)
