"""Google: a service account's JSON key traded for an access token at its `token_uri` (the probe), or a
user's OAuth tokens, refreshed at the token endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

import httpx

from purrflow.connectors.base import PROBE_TIMEOUT, ProbeResult, describe_http_error, join
from purrflow.connectors.jwt import encode_rs256
from purrflow.errors import PurrflowError

TOKEN_URI = "https://oauth2.googleapis.com/token"
API_ROOT = "https://www.googleapis.com/"
_SCOPE = "https://www.googleapis.com/auth/userinfo.email"


def service_account_token(key_json: str, scope: str = _SCOPE) -> str:
    """An access token for the service account (the JWT-bearer grant)."""
    try:
        key = json.loads(key_json)
        email, private_key = key["client_email"], key["private_key"]
    except (ValueError, KeyError, TypeError):
        raise PurrflowError(
            "the JSON field is not a service account key (client_email and private_key are needed)",
            hint="download a key in the Cloud console: IAM → Service accounts → Keys → Add key → JSON",
        ) from None
    uri = str(key.get("token_uri") or TOKEN_URI)
    now = int(time.time())
    assertion = encode_rs256(
        {"iss": email, "scope": scope, "aud": uri, "iat": now, "exp": now + 3600},
        private_key,
        key_id=key.get("private_key_id"),
    )
    try:
        response = httpx.post(
            uri,
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
            timeout=PROBE_TIMEOUT,
        )
    except httpx.HTTPError as err:
        raise PurrflowError(describe_http_error("Google", err)) from None
    if response.status_code != 200:
        raise PurrflowError(f"Google refused the service account's key ({response.status_code}): {response.text[:200]}")
    return str(response.json()["access_token"])


def probe(mode: str, fields: Mapping[str, str]) -> ProbeResult:
    try:
        if mode == "service_account" or (fields.get("JSON") and fields.get("auth_type") != "oauth"):
            service_account_token(fields.get("JSON", ""))
            return ProbeResult(True, "the service account's key buys access tokens")
        token = fields.get("oauth_AccessToken", "")
        if not token:
            return ProbeResult(False, "no access token yet: finish the browser consent first")
        response = httpx.get(
            join(fields.get("base_url") or API_ROOT, "oauth2/v3/tokeninfo"),
            params={"access_token": token},
            timeout=PROBE_TIMEOUT,
        )
    except httpx.HTTPError as err:
        return ProbeResult(False, describe_http_error("Google", err))
    except PurrflowError as err:
        return ProbeResult(False, err.message)
    if response.status_code != 200:
        return ProbeResult(False, f"Google refused the access token ({response.status_code})")
    return ProbeResult(True, f"token for {response.json().get('email', 'the user')}")
