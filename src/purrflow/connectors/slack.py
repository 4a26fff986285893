"""Slack: `auth.test` as the connection's probe, and signed deliveries from the Events API, interactivity
and slash commands (one URL per connection takes all three).

A delivery is Slack's when `X-Slack-Signature` is `v0=` + HMAC-SHA256(signing secret, "v0:" + timestamp +
":" + raw body) and the timestamp is within five minutes (older ones may be replays). Events come as
JSON, slash commands and interactions form-encoded (an interaction's JSON in `payload`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import httpx

from purrflow.connectors.base import (
    PROBE_TIMEOUT,
    Challenge,
    Delivery,
    Inbound,
    ProbeResult,
    Rejected,
    describe_http_error,
    header,
    join,
)
from purrflow.errors import PurrflowError

API = "https://slack.com/api/"
#: How far a delivery's timestamp may be from now (Slack's own guidance).
MAX_SKEW_SECONDS = 300
_TOKEN_FIELDS = ("oauth_access_token", "private_bot_token", "oauth_AccessToken", "BotToken")
#: Fields programs read without checking; AttrDict raises on a missing key, so they are always there.
_MESSAGE_DEFAULTS: dict[str, Any] = {
    "type": "",
    "channel": "",
    "user": "",
    "text": "",
    "ts": "",
    "thread_ts": "",
    "subtype": "",
    "parent_user_id": "",
    "bot_id": "",
}
_SLASH_DEFAULTS = ("text", "user_id", "user_name", "channel_id", "channel_name", "trigger_id", "command",
                   "response_url", "team_id")  # fmt: skip


def token(fields: Mapping[str, str]) -> str:
    return next((fields[name] for name in _TOKEN_FIELDS if fields.get(name)), "")


def api_base(fields: Mapping[str, str]) -> str:
    return fields.get("base_url") or API


def probe(fields: Mapping[str, str]) -> ProbeResult:
    bot_token = token(fields)
    if not bot_token:
        return ProbeResult(False, "no bot token (oauth_access_token)")
    try:
        response = httpx.post(
            join(api_base(fields), "auth.test"), headers={"Authorization": f"Bearer {bot_token}"}, timeout=PROBE_TIMEOUT
        )
        body = response.json()
    except httpx.HTTPError as err:
        return ProbeResult(False, describe_http_error("Slack", err))
    except ValueError:
        return ProbeResult(False, f"Slack answered {response.status_code} with something that is not JSON")
    if not body.get("ok"):
        return ProbeResult(False, f"Slack refused the token: {body.get('error', response.status_code)}")
    return ProbeResult(True, f"team {body.get('team', '?')}, bot user {body.get('user', '?')}")


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> Rejected | None:
    if not secret:
        return Rejected(401, "this connection has no signing_secret, so no delivery can be verified")
    stamp, signature = header(headers, "X-Slack-Request-Timestamp"), header(headers, "X-Slack-Signature")
    if not stamp or not signature:
        return Rejected(401, "unsigned: X-Slack-Request-Timestamp and X-Slack-Signature are required")
    try:
        skew = abs((time.time() if now is None else now) - int(stamp))
    except ValueError:
        return Rejected(401, "X-Slack-Request-Timestamp is not a number")
    if skew > MAX_SKEW_SECONDS:
        return Rejected(401, f"the delivery is {skew:.0f} s from now (at most {MAX_SKEW_SECONDS} s): a replay?")
    mac = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={mac}", signature):
        return Rejected(401, "the signature does not match this connection's signing secret")
    return None


def receive(fields: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> Inbound:
    refused = verify(fields.get("signing_secret", ""), headers, body)
    if refused is not None:
        return refused
    if "json" in header(headers, "Content-Type"):
        try:
            envelope = json.loads(body)
        except ValueError:
            return Rejected(400, "the body is not JSON")
        if not isinstance(envelope, dict):
            return Rejected(400, "the body is not a JSON object")
        if envelope.get("type") == "url_verification":
            return Challenge(str(envelope.get("challenge", "")))
        event = envelope.get("event")
        if envelope.get("type") != "event_callback" or not isinstance(event, dict):
            return Delivery(str(envelope.get("type") or "unknown"), envelope, _id(envelope.get("event_id")))
        return Delivery(str(event.get("type") or "unknown"), normalise_event(event), _id(envelope.get("event_id")))
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    signature = header(headers, "X-Slack-Signature")
    if "payload" in form:
        try:
            payload = json.loads(form["payload"])
        except ValueError:
            return Rejected(400, "the interaction's payload is not JSON")
        if not isinstance(payload, dict):
            return Rejected(400, "the interaction's payload is not a JSON object")
        payload.setdefault("actions", [])
        payload.setdefault("user", {"id": ""})
        return Delivery("interaction", payload, f"sig:{signature}")
    if "command" in form:
        return Delivery("slash_command", {key: "" for key in _SLASH_DEFAULTS} | form, f"sig:{signature}")
    return Rejected(400, "neither an event, an interaction nor a slash command")


def normalise_event(event: dict[str, Any]) -> dict[str, Any]:
    """Slack omits what does not apply (a message outside a thread has no `thread_ts`); programs read it
    anyway, so absent text fields are empty strings, as AutoKitteh's Slack events have them."""
    data = _MESSAGE_DEFAULTS | event
    for nested in ("message", "previous_message"):
        inner = data.get(nested)
        data[nested] = {"user": "", "text": "", "thread_ts": "", "ts": ""} | (inner if isinstance(inner, dict) else {})
    return data


def _id(value: object) -> str | None:
    return str(value) if value else None


class SlackWeb:
    """The Web API methods the Slack interface calls (chat.postMessage, chat.update, views.open), async,
    with the connection's bot token and `base_url`."""

    def __init__(self, client: httpx.AsyncClient, fields: Mapping[str, str]) -> None:
        self._client = client
        self._base = api_base(fields)
        self._token = token(fields)

    async def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(
                join(self._base, method), json=body, headers={"Authorization": f"Bearer {self._token}"}
            )
            answer: dict[str, Any] = response.json()
        except httpx.HTTPError as err:
            raise PurrflowError(describe_http_error("Slack", err)) from None
        except ValueError:
            raise PurrflowError(f"Slack answered {method} with {response.status_code}, not JSON") from None
        if not answer.get("ok"):
            raise PurrflowError(f"Slack refused {method}: {answer.get('error', response.status_code)}")
        return answer

    async def respond(self, response_url: str, body: dict[str, Any]) -> None:
        """A reply through an interaction's response_url (ephemeral messages need no channel membership)."""
        try:
            await self._client.post(response_url, json=body)
        except httpx.HTTPError as err:
            raise PurrflowError(describe_http_error("Slack", err)) from None
