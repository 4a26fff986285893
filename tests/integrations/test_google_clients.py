"""purrflow.integrations.google against local Gmail, Sheets and OAuth token endpoints."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from service_standins import StandIn, connect, google, running

from purrflow.integrations import google as google_integration
from purrflow.integrations._oauth import parse_expiry
from purrflow.integrations.errors import ConnectionInitError

FAR = "2099-01-01T00:00:00+00:00"
USER = {"auth_type": "oauth", "oauth_Expiry": FAR}  # a user's OAuth token, valid for decades


def test_gmail_with_a_users_oauth_token_lists_messages_at_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(google) as api:
        connect(
            monkeypatch,
            "gmail_conn",
            base_url=api.url + "/",
            auth_type="oauth",
            oauth_AccessToken="ya29.u",
            oauth_Expiry=FAR,
        )
        listed = google_integration.gmail("gmail_conn").users().messages().list(userId="me").execute()
    assert listed["messages"] == [{"id": "m1", "threadId": "t1"}]
    assert api.paths() == ["GET /gmail/v1/users/me/messages"]
    assert api.requests[0].headers["authorization"] == "Bearer ya29.u"


def _service_account_key(token_uri: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return json.dumps({
        "type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": pem.decode(),
        "client_email": "robot@p.iam.gserviceaccount.com", "client_id": "1", "token_uri": token_uri,
    })  # fmt: skip


def test_sheets_with_a_service_account_gets_values(monkeypatch: pytest.MonkeyPatch, google_api: StandIn) -> None:
    connect(monkeypatch, "sheets_conn", base_url=google_api.url, JSON=_service_account_key(google_api.url + "/token"))
    sheets = google_integration.sheets("sheets_conn")
    got = sheets.spreadsheets().values().get(spreadsheetId="s1", range="A1:B2").execute()
    assert got["values"] == [["name", "age"], ["Ada", "36"]]
    assert google_api.paths() == ["POST /token", "GET /v4/spreadsheets/s1/values/A1:B2"]
    assert google_api.requests[1].headers["authorization"] == "Bearer ya29.from-jwt"


def test_gspread_requests_move_to_the_base_url(monkeypatch: pytest.MonkeyPatch, google_api: StandIn) -> None:
    connect(
        monkeypatch,
        "sheets_conn",
        base_url=google_api.url + "/",
        auth_type="oauth",
        oauth_AccessToken="t",
        oauth_Expiry=FAR,
    )
    sheet = google_integration.gspread_client("sheets_conn").open_by_key("s1").sheet1
    assert sheet.get("A1:B2") == [["name", "age"], ["Ada", "36"]]
    paths = google_api.paths()
    assert paths[-1] == "GET /v4/spreadsheets/s1/values/'Sheet1'!A1:B2"
    assert all(p.startswith("GET /v4/spreadsheets/s1") for p in paths)
    assert {r.headers["authorization"] for r in google_api.requests} == {"Bearer t"}


@pytest.fixture
def google_api() -> StandIn:
    standin = StandIn(google)
    yield standin  # type: ignore[misc]
    standin.close()


def test_an_expired_token_that_cannot_be_refreshed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(
        monkeypatch,
        "gmail_conn",
        auth_type="oauth",
        oauth_AccessToken="old",
        oauth_Expiry="2020-01-01 10:00:00 +0000 UTC",
    )
    with pytest.raises(ConnectionInitError, match="expired"):
        google_integration.gmail("gmail_conn")


def test_missing_oauth_fields_and_a_broken_key_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "gmail_conn", auth_type="oauth", oauth_AccessToken="t")
    with pytest.raises(ConnectionInitError, match="missing field oauth_Expiry") as caught:
        google_integration.gmail("gmail_conn")
    assert "purr connections init acme gmail_conn" in str(caught.value)
    connect(monkeypatch, "sheets_conn", JSON="{not json")
    with pytest.raises(ConnectionInitError, match="JSON is not a service account key"):
        google_integration.sheets("sheets_conn")
    with pytest.raises(ConnectionInitError, match="missing field JSON"):
        google_integration.sheets("nothing_here")


def test_expiry_in_gos_format_and_iso() -> None:
    assert parse_expiry("2024-06-20 19:18:17.123456789 -0700 PDT") == datetime(2024, 6, 21, 2, 18, 17)
    assert parse_expiry(FAR) == datetime(2099, 1, 1)
    assert parse_expiry("2030-05-01T12:00:00Z") == datetime(2030, 5, 1, 12)


def test_google_id() -> None:
    doc = "1a2b3c4d5e6f7g8h9i0jKLMNOP"
    assert google_integration.google_id(f"https://docs.google.com/spreadsheets/d/{doc}/edit#gid=0") == doc
    assert google_integration.google_id(doc) == doc
    with pytest.raises(ValueError):
        google_integration.google_id("short")
