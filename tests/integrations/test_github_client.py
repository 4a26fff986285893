"""purrflow.integrations.github against a local GitHub REST API (Enterprise layout)."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from service_standins import connect, github, running

from purrflow.integrations import github as github_integration
from purrflow.integrations.errors import ConnectionInitError


def test_a_pat_client_reads_a_repo_and_comments_on_an_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(github) as api:
        connect(monkeypatch, "gh", base_url=api.url + "/api/v3", pat="ghp_1")
        repo = github_integration.client("gh").get_repo("acme/rockets")
        comment = repo.get_issue(3).create_comment("on it")
    assert repo.full_name == "acme/rockets" and comment.body == "on it"
    assert api.paths() == [
        "GET /api/v3/repos/acme/rockets",
        "GET /api/v3/repos/acme/rockets/issues/3",
        "POST /api/v3/repos/acme/rockets/issues/3/comments",
    ]
    assert api.requests[0].headers["authorization"] == "token ghp_1"


def test_enterprise_url_gets_api_v3_appended(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(github) as api:
        connect(monkeypatch, "gh", enterprise_url=api.url + "/", pat="ghp_1")
        github_integration.client("gh").get_repo("acme/rockets")
    assert api.paths() == ["GET /api/v3/repos/acme/rockets"]


def test_without_a_pat_or_an_app_the_error_names_both(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "gh", target_name="acme")
    with pytest.raises(ConnectionInitError, match=r"missing field pat .*app_id, private_key and install_id"):
        github_integration.client("gh")


def test_a_half_configured_app_names_what_it_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "gh", app_id="12")
    with pytest.raises(ConnectionInitError, match="missing fields private_key, install_id") as caught:
        github_integration.client("gh")
    assert "purr connections set acme gh private_key=" in str(caught.value)


def test_a_github_app_signs_a_jwt_and_uses_its_installation_token(monkeypatch: pytest.MonkeyPatch) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with running(github) as api:
        connect(monkeypatch, "gh", base_url=api.url + "/api/v3", app_id="12", install_id="5", private_key=pem.decode())
        github_integration.client("gh").get_repo("acme/rockets")
    assert api.paths() == ["POST /api/v3/app/installations/5/access_tokens", "GET /api/v3/repos/acme/rockets"]
    jwt_payload = jwt.decode(api.requests[0].headers["authorization"].removeprefix("Bearer "), key.public_key(),
                             algorithms=["RS256"])  # fmt: skip
    assert jwt_payload["iss"] == "12"
    assert api.requests[1].headers["authorization"] == "token ghs_installation"
