"""GitHub: the probe (`/user` for a token, `/app` for an App), installation tokens minted from an App's
key, and webhook deliveries verified with `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the
webhook secret, compared in constant time). The event type is `X-GitHub-Event`; a redelivery carries the
same `X-GitHub-Delivery`."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

from purrflow.connectors.base import (
    PROBE_TIMEOUT,
    Delivery,
    Inbound,
    ProbeResult,
    Rejected,
    describe_http_error,
    header,
    join,
)
from purrflow.connectors.jwt import encode_rs256
from purrflow.errors import InvalidInputError, PurrflowError

API = "https://api.github.com"
_ACCEPT = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def api_base(fields: Mapping[str, str]) -> str:
    if fields.get("base_url"):
        return fields["base_url"]
    if fields.get("enterprise_url"):
        return join(fields["enterprise_url"], "api/v3")
    return API


def app_jwt(fields: Mapping[str, str], *, now: float | None = None) -> str:
    """The App's own JWT (10 minutes at most, issued a minute early against clock drift)."""
    issued = int(time.time() if now is None else now) - 60
    app_id = fields.get("app_id", "")
    if not app_id:
        raise InvalidInputError("the connection has no app_id", hint="purr connections init PROJECT CONN --auth app")
    return encode_rs256({"iat": issued, "exp": issued + 540, "iss": app_id}, fields.get("private_key", ""))


@dataclass(frozen=True, slots=True)
class InstallationToken:
    token: str
    expires_at: float


def mint_installation_token(fields: Mapping[str, str]) -> InstallationToken:
    """An installation access token (an hour long) for the App's installation."""
    url = join(api_base(fields), f"app/installations/{fields.get('install_id', '')}/access_tokens")
    try:
        response = httpx.post(
            url, headers=_ACCEPT | {"Authorization": f"Bearer {app_jwt(fields)}"}, timeout=PROBE_TIMEOUT
        )
    except httpx.HTTPError as err:
        raise PurrflowError(describe_http_error("GitHub", err)) from None
    if response.status_code != 201:
        raise PurrflowError(
            f"GitHub refused an installation token ({response.status_code}): {response.text[:200]}",
            hint="check app_id, private_key and install_id with `purr connections test`",
        )
    body = response.json()
    return InstallationToken(str(body["token"]), _expiry(str(body.get("expires_at", ""))))


def probe(mode: str, fields: Mapping[str, str]) -> ProbeResult:
    try:
        if mode == "app":
            response = httpx.get(
                join(api_base(fields), "app"),
                headers=_ACCEPT | {"Authorization": f"Bearer {app_jwt(fields)}"},
                timeout=PROBE_TIMEOUT,
            )
            if response.status_code != 200:
                return ProbeResult(False, f"GitHub refused the App's key ({response.status_code})")
            mint_installation_token(fields)
            return ProbeResult(True, f"App {response.json().get('slug', fields.get('app_id'))}, installation ok")
        token = fields.get("pat") or fields.get("oauth_access_token", "")
        if not token:
            return ProbeResult(False, "no token (pat)")
        response = httpx.get(
            join(api_base(fields), "user"),
            headers=_ACCEPT | {"Authorization": f"Bearer {token}"},
            timeout=PROBE_TIMEOUT,
        )
    except httpx.HTTPError as err:
        return ProbeResult(False, describe_http_error("GitHub", err))
    except PurrflowError as err:
        return ProbeResult(False, err.message)
    if response.status_code != 200:
        return ProbeResult(False, f"GitHub refused the token ({response.status_code})")
    return ProbeResult(True, f"user {response.json().get('login', '?')}")


def verify(secret: str, headers: Mapping[str, str], body: bytes) -> Rejected | None:
    if not secret:
        return Rejected(401, "this connection has no webhook_secret, so no delivery can be verified")
    signature = header(headers, "X-Hub-Signature-256")
    if not signature:
        return Rejected(401, "unsigned: X-Hub-Signature-256 is required")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return Rejected(401, "the signature does not match this connection's webhook secret")
    return None


def receive(fields: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> Inbound:
    refused = verify(fields.get("webhook_secret", ""), headers, body)
    if refused is not None:
        return refused
    event_type = header(headers, "X-GitHub-Event")
    if not event_type:
        return Rejected(400, "X-GitHub-Event is missing")
    text = body.decode("utf-8", "replace")
    if "x-www-form-urlencoded" in header(headers, "Content-Type"):
        text = dict(parse_qsl(text)).get("payload", "")
    try:
        data: Any = json.loads(text)
    except ValueError:
        return Rejected(400, "the delivery's payload is not JSON")
    if not isinstance(data, dict):
        return Rejected(400, "the delivery's payload is not a JSON object")
    return Delivery(event_type, data, header(headers, "X-GitHub-Delivery") or None)


def _expiry(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time() + 3000
