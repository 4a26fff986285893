"""Which connector probes and receives for which integration."""

from __future__ import annotations

from collections.abc import Mapping

from purrflow.connectors import atlassian, github, google, http, slack, twilio
from purrflow.connectors.base import Inbound, ProbeResult, Rejected

_GOOGLE = {"gmail", "googlesheets", "googlecalendar", "googledrive", "googleforms"}


def probe(integration: str, mode: str, fields: Mapping[str, str]) -> ProbeResult:
    """Ask the service whether the fields are good (a network call: run it off the event loop)."""
    if integration == "slack":
        return slack.probe(fields)
    if integration == "github":
        return github.probe(mode, fields)
    if integration in _GOOGLE:
        return google.probe(mode, fields)
    if integration in ("jira", "confluence"):
        return atlassian.probe(integration, mode, fields)
    if integration == "twilio":
        return twilio.probe(fields)
    if integration == "http":
        return http.probe(mode, fields)
    return ProbeResult(False, f"purrflow cannot test {integration} connections")


def receive(integration: str, fields: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> Inbound:
    """Verify a delivery to the connection's inbound URL and say what it is."""
    if integration == "slack":
        return slack.receive(fields, headers, body)
    if integration == "github":
        return github.receive(fields, headers, body)
    return Rejected(404, f"{integration} connections take no inbound deliveries")
