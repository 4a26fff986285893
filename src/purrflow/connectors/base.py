"""What the connectors answer: a probe's verdict, and what an inbound delivery turned out to be."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

#: Probes give a service this long to answer: a connection test is something a person waits for.
PROBE_TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Challenge:
    """A handshake to answer as is (Slack's url_verification); no event."""

    text: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """A verified event: its type, its data (normalised to the shapes programs read), and the id its
    sender retries it under (None when the service never retries it)."""

    event_type: str
    data: dict[str, Any]
    delivery_id: str | None


@dataclass(frozen=True, slots=True)
class Rejected:
    """Not from the service, or not verifiable: answered with `status` and nothing is stored."""

    status: int
    message: str


Inbound = Challenge | Delivery | Rejected


def header(headers: Mapping[str, str], name: str) -> str:
    """A header by name, whatever its case."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def describe_http_error(service: str, error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"{service} did not answer within {PROBE_TIMEOUT.read:g} s"
    if isinstance(error, httpx.ConnectError):
        return f"could not reach {service}: {error}"
    return f"{service}: {type(error).__name__}: {error}"


def join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")
