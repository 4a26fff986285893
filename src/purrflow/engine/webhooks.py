"""Webhook requests as events: the exact data shape AutoKitteh programs read, and trigger matching."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

MAX_BODY_BYTES = 512 * 1024


@dataclass(frozen=True)
class WebhookRequest:
    """An HTTP request reduced to what an event needs (the server adapter builds it)."""

    method: str
    path: str
    query_string: str
    headers: list[tuple[str, str]]
    body: bytes
    path_suffix: str = ""


def canonical_header(name: str) -> str:
    """Go's canonical MIME header key: `x-hub-signature-256` → `X-Hub-Signature-256`."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def event_data(request: WebhookRequest) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for name, value in request.headers:
        key = canonical_header(name)
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(request.query_string, keep_blank_values=True):
        query.setdefault(key, value)
    text = request.body.decode("utf-8", errors="replace")
    content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
    body: dict[str, Any] = {"bytes": request.body, "text": text, "json": None, "form": {}}
    if request.body and (content_type.endswith("json") or content_type == ""):
        with contextlib.suppress(ValueError):
            body["json"] = json.loads(text)
    if content_type == "application/x-www-form-urlencoded":
        form: dict[str, str] = {}
        for key, value in parse_qsl(text, keep_blank_values=True):
            form.setdefault(key, value)
        body["form"] = form
    raw_url = request.path + (f"?{request.query_string}" if request.query_string else "")
    return {
        "method": request.method.upper(),
        "raw_url": raw_url,
        "url": {"path": request.path, "path_suffix": request.path_suffix, "query": query},
        "headers": headers,
        "body": body,
        "trailers": {},
    }
