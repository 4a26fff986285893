"""The OpenAPI document declares how to authenticate, and `/api/v1/docs` works with no internet: every
asset Swagger UI needs comes from the server itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from helpers import Server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

PUBLIC = {"/api/v1/health"}
#: Where an HTML page or Swagger UI's set-up script names a URL.
_URLS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl\s*:\s*["']([^"']+)["']""")


def test_every_route_but_health_requires_the_bearer_scheme(server: Server) -> None:
    spec = httpx.get(f"{server.url}/api/v1/openapi.json", timeout=30).json()
    assert spec["components"]["securitySchemes"]["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["token"]["description"],
    }
    operations = [
        (method, path, operation)
        for path, methods in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in methods.items()
    ]
    assert len(operations) >= 30
    for method, path, operation in operations:
        wanted = [] if path in PUBLIC else [{"token": []}]
        assert operation.get("security", []) == wanted, (method, path)


def test_the_scheme_leaves_purrflows_own_refusal(server: Server) -> None:
    """`auto_error=False`: a request without a token gets purrflow's 401 with its hint, not FastAPI's 403."""
    refused = httpx.get(f"{server.url}/api/v1/sessions", timeout=30)
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "AuthError" and refused.json()["error"]["hint"]
    with server.client() as client:  # what "Authorize" sends: `Authorization: Bearer <token>`
        assert client.get("/api/v1/sessions").status_code == 200


def test_docs_page_and_its_assets_are_served_locally(server: Server) -> None:
    page = httpx.get(f"{server.url}/api/v1/docs", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = [a or b for a, b in _URLS.findall(page.text)]
    assert any(u.endswith(".js") for u in urls) and any(u.endswith(".css") for u in urls), urls
    assert "/api/v1/openapi.json" in urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} leaves the host"
        asset = httpx.get(urljoin(f"{server.url}/api/v1/docs", url), timeout=30)
        assert asset.status_code == 200, (url, asset.status_code)
        assert asset.content, url
    assert re.search(r'"validatorUrl":\s*null', page.text), "Swagger UI's validator would call validator.swagger.io"


def test_the_typed_answers_are_the_answers(server: Server) -> None:
    """The main routes' response models describe what they answer, key for key, and change none of it:
    a session listed has no `event` (only the session itself has), as before the models."""
    url = server.deploy(EXAMPLES / "hello_webhook")["triggers"][0]["webhook_url"]
    spec = httpx.get(f"{server.url}/api/v1/openapi.json", timeout=30).json()
    session_id = httpx.get(f"{url}?name=Ada", timeout=30).json()["session_id"]
    server.wait_state(session_id, "completed")
    with server.client() as client:
        started = client.post("/api/v1/sessions", json={"project": "hello_webhook", "entrypoint": "hello"})
        answers = {
            ("post", "/api/v1/sessions"): started,
            ("get", "/api/v1/projects"): client.get("/api/v1/projects"),
            ("get", "/api/v1/triggers"): client.get("/api/v1/triggers"),
            ("get", "/api/v1/sessions"): client.get("/api/v1/sessions"),
            ("get", "/api/v1/sessions/{session_id}"): client.get(f"/api/v1/sessions/{session_id}"),
            ("get", "/api/v1/sessions/{session_id}/journal"): client.get(f"/api/v1/sessions/{session_id}/journal"),
            ("get", "/api/v1/sessions/{session_id}/logs"): client.get(f"/api/v1/sessions/{session_id}/logs"),
            ("post", "/api/v1/sessions/{session_id}/restart"): client.post(f"/api/v1/sessions/{session_id}/restart"),
            ("post", "/api/v1/events"): client.post(
                "/api/v1/events", json={"project": "hello_webhook", "source": "hello", "event_type": "post"}
            ),
        }
    for (method, path), answer in answers.items():
        assert answer.status_code < 300, (method, path, answer.text)
        responses = spec["paths"][path][method]["responses"]
        schema = responses[str(answer.status_code)]["content"]["application/json"]["schema"]
        assert "$ref" in schema, (method, path, schema)
        _conforms(answer.json(), schema, spec, f"{method.upper()} {path}")
    listed = answers[("get", "/api/v1/sessions")].json()["sessions"]
    assert listed and all("event" not in s and "memo" not in s and "waiting" not in s for s in listed)
    one = answers[("get", "/api/v1/sessions/{session_id}")].json()["session"]
    assert {"event", "memo", "waiting"} <= one.keys() and one["id"] == session_id


def _conforms(value: Any, schema: dict[str, Any], spec: dict[str, Any], where: str) -> None:
    """`value` has every key its schema requires and none it does not name (the document is complete)."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        if value is None:
            return
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        _conforms(value, schema, spec, where)
        return
    if schema.get("type") == "array":
        for item in value:
            _conforms(item, schema["items"], spec, where)
    elif "properties" in schema:
        assert isinstance(value, dict), (where, value)
        assert set(schema.get("required", [])) <= value.keys(), (where, schema.get("required"), sorted(value))
        unnamed = value.keys() - schema["properties"].keys()
        assert not unnamed, f"{where}: {sorted(unnamed)} not in its response model (server/responses.py)"
        for key, item in value.items():
            _conforms(item, schema["properties"][key], spec, f"{where} .{key}")
