"""A generic HTTP connection: the probe is a GET of its base URL with its credentials."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from purrflow.connectors.base import PROBE_TIMEOUT, ProbeResult, describe_http_error


def probe(mode: str, fields: Mapping[str, str]) -> ProbeResult:
    url = fields.get("base_url", "")
    if not url:
        return ProbeResult(True, "no base_url to reach: nothing to test")
    kwargs: dict[str, object] = {}
    if mode == "bearer":
        kwargs["headers"] = {"Authorization": f"Bearer {fields.get('token', '')}"}
    elif mode == "basic":
        kwargs["auth"] = (fields.get("username", ""), fields.get("password", ""))
    try:
        response = httpx.get(url, timeout=PROBE_TIMEOUT, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as err:
        return ProbeResult(False, describe_http_error(url, err))
    if response.status_code in (401, 403):
        return ProbeResult(False, f"{url} refused the credentials ({response.status_code})")
    return ProbeResult(True, f"{url} answered {response.status_code}")
