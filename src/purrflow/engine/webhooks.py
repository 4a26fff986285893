"""Webhook requests as events: the exact data shape AutoKitteh programs read, and trigger matching."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

MAX_BODY_BYTES = 512 * 1024
#: How deep JSON from outside may nest (lists and objects). Python's parser recurses, and so does
#: everything that walks the value afterwards (pickling, filters, answers); no real payload comes close.
MAX_JSON_DEPTH = 64

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONTooDeep(ValueError):
    """A JSON document nested deeper than MAX_JSON_DEPTH."""


class JSONNotFinite(ValueError):
    """NaN, Infinity, or a number too large for a float: not JSON, and no answer could show it."""


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise JSONNotFinite(f"the number {text[:40]} is too large")
    return number


def _constant(name: str) -> Any:
    raise JSONNotFinite(f"{name} is not a JSON value")


def load_json(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` for JSON from outside: nested at most `max_depth` deep however deep the text goes
    (JSONTooDeep, never RecursionError), finite numbers only (JSONNotFinite), and every lone surrogate
    (`"\\ud800"`) replaced by U+FFFD, so what is stored can always be encoded again. Other mistakes raise
    `json.JSONDecodeError`, or ValueError (an integer of more than 4300 digits)."""
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_constant)
    except RecursionError:
        raise JSONTooDeep(f"nested more than {max_depth} levels deep") from None
    return clean_json(value, max_depth=max_depth)


def scrub_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (JSON's pairs are already joined by the parser)."""
    return text if text.isascii() else _LONE_SURROGATE.sub("\ufffd", text)


def clean_json(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A parsed JSON value checked for depth (JSONTooDeep) and scrubbed of lone surrogates, in place.

    Walks with its own stack, so a deep value cannot exhaust Python's."""
    if isinstance(value, str):
        return scrub_text(value)
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise JSONTooDeep(f"nested more than {max_depth} levels deep")
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = scrub_text(item)
                elif isinstance(item, list | dict):
                    stack.append((item, depth + 1))
        elif isinstance(node, dict):
            if not all(key.isascii() for key in node):
                scrubbed = {scrub_text(key): item for key, item in node.items()}
                node.clear()
                node.update(scrubbed)
            for key, item in node.items():
                if isinstance(item, str):
                    node[key] = scrub_text(item)
                elif isinstance(item, list | dict):
                    stack.append((item, depth + 1))
    return value


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
        # Not JSON, nested past MAX_JSON_DEPTH, or not finite: the event is still accepted, with `json`
        # None (the text and bytes hold the body as it came).
        with contextlib.suppress(ValueError):
            body["json"] = load_json(text)
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
