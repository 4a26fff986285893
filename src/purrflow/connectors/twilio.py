"""Twilio: the probe reads the account (`/2010-04-01/Accounts/<sid>.json`) with the connection's
credentials (the account SID or an API key as user name)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from purrflow.connectors.base import PROBE_TIMEOUT, ProbeResult, describe_http_error, join

API = "https://api.twilio.com/"


def probe(fields: Mapping[str, str]) -> ProbeResult:
    sid = fields.get("AccountSID", "")
    if not sid:
        return ProbeResult(False, "no AccountSID")
    try:
        response = httpx.get(
            join(fields.get("base_url") or API, f"2010-04-01/Accounts/{sid}.json"),
            auth=(fields.get("Username") or sid, fields.get("Password", "")),
            timeout=PROBE_TIMEOUT,
        )
    except httpx.HTTPError as err:
        return ProbeResult(False, describe_http_error("Twilio", err))
    if response.status_code != 200:
        return ProbeResult(False, f"Twilio refused the credentials ({response.status_code})")
    return ProbeResult(True, f"account {response.json().get('friendly_name', sid)}")
