"""The connectors' pure parts: signatures, event shapes, PKCE, JWTs and Slack's prompt controls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from purrflow.connectors import github, slack, slack_ui
from purrflow.connectors.base import Challenge, Delivery, Rejected
from purrflow.connectors.jwt import encode_rs256
from purrflow.connectors.oauth import Pkce
from purrflow.errors import InvalidInputError

SECRET = "shh"


def slack_headers(body: bytes, *, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": stamp, "x-slack-signature": f"v0={mac}", "content-type": "application/json"}


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        (lambda b: slack_headers(b, secret="other"), "does not match"),
        (lambda b: slack_headers(b + b" "), "does not match"),
        (lambda b: slack_headers(b, at=time.time() - 301), "from now"),
        (lambda b: slack_headers(b, at=time.time() + 301), "from now"),
        (lambda b: {"content-type": "application/json"}, "unsigned"),
        (lambda b: slack_headers(b) | {"x-slack-request-timestamp": "soon"}, "not a number"),
    ],
)
def test_slack_refuses_what_it_cannot_verify(headers: Any, why: str) -> None:
    body = b'{"type": "event_callback", "event": {"type": "message"}}'
    refused = slack.receive({"signing_secret": SECRET}, headers(body), body)
    assert isinstance(refused, Rejected) and refused.status == 401 and why in refused.message


def test_slack_without_a_signing_secret_verifies_nothing() -> None:
    body = b"{}"
    refused = slack.receive({}, slack_headers(body), body)
    assert isinstance(refused, Rejected) and "signing_secret" in refused.message


def test_slack_events_are_shaped_as_programs_read_them() -> None:
    body = json.dumps(
        {"type": "event_callback", "event_id": "Ev9", "event": {"type": "message", "text": "hi"}}
    ).encode()
    delivery = slack.receive({"signing_secret": SECRET}, slack_headers(body), body)
    assert isinstance(delivery, Delivery) and delivery.delivery_id == "Ev9" and delivery.event_type == "message"
    assert delivery.data["thread_ts"] == "" and delivery.data["subtype"] == "" and delivery.data["text"] == "hi"
    assert delivery.data["message"] == {"user": "", "text": "", "thread_ts": "", "ts": ""}

    challenge = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
    assert slack.receive({"signing_secret": SECRET}, slack_headers(challenge), challenge) == Challenge("c")


def test_slack_forms_are_slash_commands_and_interactions() -> None:
    form = urlencode({"command": "/ship", "text": "now"}).encode()
    headers = slack_headers(form) | {"content-type": "application/x-www-form-urlencoded"}
    command = slack.receive({"signing_secret": SECRET}, headers, form)
    assert isinstance(command, Delivery) and command.event_type == "slash_command"
    assert command.data["command"] == "/ship" and command.data["channel_id"] == ""

    payload = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}})}).encode()
    headers = slack_headers(payload) | {"content-type": "application/x-www-form-urlencoded"}
    interaction = slack.receive({"signing_secret": SECRET}, headers, payload)
    assert isinstance(interaction, Delivery) and interaction.event_type == "interaction"
    assert interaction.data["actions"] == [] and interaction.data["user"] == {"id": "U1"}


def test_github_signatures_and_event_types() -> None:
    body = b'{"action": "opened"}'
    good = "sha256=" + hmac.new(b"gh", body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": good, "X-GitHub-Event": "issues", "X-GitHub-Delivery": "d1"}
    delivery = github.receive({"webhook_secret": "gh"}, headers, body)
    assert delivery == Delivery("issues", {"action": "opened"}, "d1")
    assert isinstance(github.receive({"webhook_secret": "other"}, headers, body), Rejected)
    assert isinstance(github.receive({}, headers, body), Rejected)
    missing = github.receive({"webhook_secret": "gh"}, {"X-Hub-Signature-256": good}, body)
    assert isinstance(missing, Rejected) and missing.status == 400

    form = urlencode({"payload": '{"zen": "Keep it simple"}'}).encode()
    signed = "sha256=" + hmac.new(b"gh", form, hashlib.sha256).hexdigest()
    ping = github.receive(
        {"webhook_secret": "gh"},
        {"X-Hub-Signature-256": signed, "X-GitHub-Event": "ping", "Content-Type": "application/x-www-form-urlencoded"},
        form,
    )
    assert isinstance(ping, Delivery) and ping.data == {"zen": "Keep it simple"}


def test_github_api_base_follows_base_url_then_enterprise_url() -> None:
    assert github.api_base({}) == "https://api.github.com"
    assert github.api_base({"enterprise_url": "https://ghe.example.com/"}) == "https://ghe.example.com/api/v3"
    assert (
        github.api_base({"base_url": "http://127.0.0.1:9/api/v3", "enterprise_url": "x"}) == "http://127.0.0.1:9/api/v3"
    )


def test_pkce_matches_rfc_7636() -> None:
    assert (
        Pkce.challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    fresh = Pkce.new()
    assert fresh.challenge == Pkce.challenge_of(fresh.verifier) and len(fresh.verifier) >= 43


def test_rs256_tokens_verify_with_the_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    token = encode_rs256({"iss": "1"}, pem.decode(), key_id="k1")
    head, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    key.public_key().verify(raw, f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert json.loads(base64.urlsafe_b64decode(head + "==")) == {"alg": "RS256", "typ": "JWT", "kid": "k1"}
    with pytest.raises(InvalidInputError, match="PEM"):
        encode_rs256({}, "not a key")


@pytest.mark.parametrize(
    ("spec", "interaction", "raw"),
    [
        ({"type": "confirm", "name": "go"}, lambda ids: {"actions": [{"action_id": ids[0]}]}, True),
        ({"type": "confirm", "name": "go"}, lambda ids: {"actions": [{"action_id": ids[1]}]}, False),
        (
            {"type": "list", "name": "c", "choices": ["a", "b"]},
            lambda ids: {"actions": [{"action_id": ids[0], "selected_option": {"value": "b"}}]},
            "b",
        ),
        (
            {"type": "checkbox", "name": "c", "choices": ["a", "b"]},
            lambda ids: {
                "actions": [{"action_id": ids[1]}],
                "state": {"values": {"pf_p1": {ids[0]: {"selected_options": [{"value": "a"}, {"value": "b"}]}}}},
            },
            ["a", "b"],
        ),
    ],
)
def test_slack_controls_come_back_as_answers(spec: dict[str, Any], interaction: Any, raw: Any) -> None:
    _, blocks = slack_ui.prompt_message("p1", spec)
    ids = [element["action_id"] for element in blocks[1]["elements"]]
    payload = {"type": "block_actions", "user": {"id": "U7"}} | interaction(ids)
    assert slack_ui.is_ours(payload)
    assert slack_ui.read(payload) == slack_ui.Answer("p1", raw, "U7")


def test_typed_answers_go_through_a_modal() -> None:
    spec = {"type": "input", "name": "svc", "message": "Service?", "default": "api"}
    _, blocks = slack_ui.prompt_message("p2", spec)
    click = {
        "type": "block_actions",
        "trigger_id": "T1",
        "actions": [{"action_id": blocks[1]["elements"][0]["action_id"]}],
    }
    assert slack_ui.read(click) == slack_ui.OpenModal("p2", "T1")
    view = slack_ui.modal("p2", spec)
    assert view["blocks"][0]["element"]["initial_value"] == "api" and view["blocks"][0]["optional"] is True
    submitted = {
        "type": "view_submission",
        "user": {"id": "U7"},
        "view": {"callback_id": view["callback_id"], "state": {"values": {"pf_answer": {"answer": {"value": "web"}}}}},
    }
    assert slack_ui.is_ours(submitted) and slack_ui.read(submitted) == slack_ui.Answer("p2", "web", "U7")
    assert not slack_ui.is_ours({"type": "block_actions", "actions": [{"action_id": "approve"}]})
