"""Jira and Confluence: the probe asks who the credentials belong to (`/rest/api/2/myself`,
`/rest/api/user/current`), with cloud basic auth (e-mail and API token) or a personal access token."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from purrflow.connectors.base import PROBE_TIMEOUT, ProbeResult, describe_http_error, join


def base_url(fields: Mapping[str, str]) -> str:
    return fields.get("base_url") or fields.get("BaseURL", "")


def probe(integration: str, mode: str, fields: Mapping[str, str]) -> ProbeResult:
    base = base_url(fields)
    if not base:
        return ProbeResult(False, "no BaseURL")
    token = fields.get("Token", "")
    if mode == "cloud":
        auth: dict[str, object] = {"auth": (fields.get("Email", ""), token)}
    else:
        auth = {"headers": {"Authorization": f"Bearer {token}"}}
    path = "rest/api/2/myself" if integration == "jira" else "rest/api/user/current"
    if integration == "confluence" and mode == "cloud":
        path = "wiki/" + path
    try:
        response = httpx.get(join(base, path), timeout=PROBE_TIMEOUT, **auth)  # type: ignore[arg-type]
    except httpx.HTTPError as err:
        return ProbeResult(False, describe_http_error(integration.title(), err))
    if response.status_code != 200:
        return ProbeResult(False, f"{integration.title()} refused the credentials ({response.status_code})")
    try:
        who = response.json().get("displayName") or response.json().get("emailAddress") or "?"
    except ValueError:
        who = "?"
    return ProbeResult(True, f"user {who}")
