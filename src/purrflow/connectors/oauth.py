"""OAuth 2 authorization-code flow with PKCE (RFC 7636) for Slack, GitHub and Google, and refreshing
the tokens it yields.

Each provider's endpoints are the service's own unless the connection names others
(`oauth_authorize_url`, `oauth_token_url`: GitHub Enterprise, a test stand-in). Tokens land in the fields
the clients read: Slack and GitHub `oauth_access_token`, Google `oauth_AccessToken`/`oauth_RefreshToken`/
`oauth_Expiry` (the names AutoKitteh's Google helper reads).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from purrflow.connectors.base import PROBE_TIMEOUT, describe_http_error
from purrflow.errors import PurrflowError


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    authorize_url: str
    token_url: str
    default_scopes: str
    #: Where its tokens go among the connection's fields.
    access_field: str
    refresh_field: str
    expiry_field: str
    scope_separator: str = " "
    extra_authorize: tuple[tuple[str, str], ...] = ()


PROVIDERS: dict[str, Provider] = {
    "slack": Provider(
        "slack",
        "https://slack.com/oauth/v2/authorize",
        "https://slack.com/api/oauth.v2.access",
        "app_mentions:read,channels:history,chat:write,commands,im:history,reactions:read",
        "oauth_access_token",
        "oauth_refresh_token",
        "oauth_expiry",
        scope_separator=",",
    ),
    "github": Provider(
        "github",
        "https://github.com/login/oauth/authorize",
        "https://github.com/login/oauth/access_token",
        "repo read:org",
        "oauth_access_token",
        "oauth_refresh_token",
        "oauth_expiry",
    ),
    "google": Provider(
        "google",
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://oauth2.googleapis.com/token",
        "https://www.googleapis.com/auth/userinfo.email",
        "oauth_AccessToken",
        "oauth_RefreshToken",
        "oauth_Expiry",
        extra_authorize=(("access_type", "offline"), ("prompt", "consent")),
    ),
}
_GOOGLE_SCOPES = {
    "gmail": "https://www.googleapis.com/auth/gmail.modify",
    "googlesheets": "https://www.googleapis.com/auth/spreadsheets",
    "googlecalendar": "https://www.googleapis.com/auth/calendar",
    "googledrive": "https://www.googleapis.com/auth/drive",
    "googleforms": "https://www.googleapis.com/auth/forms.body https://www.googleapis.com/auth/forms.responses.readonly",
}


def provider_of(integration: str) -> Provider | None:
    if integration in _GOOGLE_SCOPES:
        return PROVIDERS["google"]
    return PROVIDERS.get(integration)


@dataclass(frozen=True, slots=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        return cls(verifier, cls.challenge_of(verifier))

    @staticmethod
    def challenge_of(verifier: str) -> str:
        """S256: the verifier's SHA-256, base64url without padding."""
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: float | None

    def fields(self, provider: Provider) -> dict[str, str]:
        fields = {provider.access_field: self.access_token}
        if self.refresh_token:
            fields[provider.refresh_field] = self.refresh_token
        if self.expires_at is not None:
            fields[provider.expiry_field] = datetime.fromtimestamp(self.expires_at, UTC).isoformat()
        return fields


def authorize_url(
    provider: Provider, integration: str, fields: Mapping[str, str], *, state: str, pkce: Pkce, redirect_uri: str
) -> str:
    scopes = fields.get("oauth_scopes") or _GOOGLE_SCOPES.get(integration) or provider.default_scopes
    query = {
        "client_id": fields.get("client_id", ""),
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scopes,
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        **dict(provider.extra_authorize),
    }
    return f"{fields.get('oauth_authorize_url') or provider.authorize_url}?{urlencode(query)}"


def exchange(provider: Provider, fields: Mapping[str, str], *, code: str, verifier: str, redirect_uri: str) -> Tokens:
    """Trade the code the provider sent back for tokens (the PKCE verifier proves we started the flow)."""
    return _token_request(
        provider,
        fields,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier},
    )


def refresh(provider: Provider, fields: Mapping[str, str]) -> Tokens:
    refresh_token = fields.get(provider.refresh_field, "")
    if not refresh_token:
        raise PurrflowError("the connection has no refresh token", hint="grant access again through the browser")
    tokens = _token_request(provider, fields, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    # Providers that do not rotate refresh tokens send none back: the old one stays good.
    return tokens if tokens.refresh_token else Tokens(tokens.access_token, refresh_token, tokens.expires_at)


def _token_request(provider: Provider, fields: Mapping[str, str], form: dict[str, str]) -> Tokens:
    form = form | {"client_id": fields.get("client_id", ""), "client_secret": fields.get("client_secret", "")}
    try:
        response = httpx.post(
            fields.get("oauth_token_url") or provider.token_url,
            data=form,
            headers={"Accept": "application/json"},
            timeout=PROBE_TIMEOUT,
        )
        body: Any = response.json()
    except httpx.HTTPError as err:
        raise PurrflowError(describe_http_error(f"{provider.name}'s token endpoint", err)) from None
    except ValueError:
        raise PurrflowError(f"{provider.name}'s token endpoint answered {response.status_code} without JSON") from None
    if not isinstance(body, dict) or response.status_code != 200 or body.get("ok") is False or "error" in body:
        error = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
        raise PurrflowError(f"{provider.name} refused the token request: {error or response.status_code}")
    token = body.get("access_token") or (body.get("authed_user") or {}).get("access_token")
    if not token:
        raise PurrflowError(f"{provider.name}'s token endpoint sent no access_token")
    expires_in = body.get("expires_in")
    expires_at = time.time() + float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else None
    return Tokens(str(token), body.get("refresh_token"), expires_at)
