"""A small typed client for the REST API; HTTP failures become purrflow errors with their hints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from purrflow import errors
from purrflow.cli.settings import token_hint

_ERRORS: dict[str, type[errors.PurrflowError]] = {
    "AuthError": errors.AuthError,
    "ForbiddenError": errors.ForbiddenError,
    "NotFoundError": errors.NotFoundError,
    "ManifestError": errors.ManifestError,
    "DeploymentError": errors.DeploymentError,
    "RequirementsError": errors.RequirementsError,
    "SessionStateError": errors.SessionStateError,
    "InvalidInputError": errors.InvalidInputError,
    "ValueLimitError": errors.ValueLimitError,
    "TooLargeError": errors.TooLargeError,
    "FilterError": errors.FilterError,
    "InternalError": errors.InternalError,
}


class ApiClient:
    def __init__(self, url: str, token: str | None, *, timeout: float = 60.0) -> None:
        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise self._unreachable() from None
        except httpx.TimeoutException:
            raise errors.PurrflowError(f"the server at {self.url} did not answer in time") from None
        return self._json(response)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, json=body or {})

    def stream_logs(self, session_id: str, after: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
        """Server-sent events of a session's log: ("log", line) … ("end", {"state"})."""
        try:
            with self._http.stream(
                "GET", f"/sessions/{session_id}/logs/stream", params={"after": after}, timeout=None
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    self._json(response)
                event = "message"
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        yield event, json.loads(line[5:])
                        event = "message"
        except httpx.ConnectError:
            raise self._unreachable() from None

    def _unreachable(self) -> errors.PurrflowError:
        return errors.PurrflowError(
            f"cannot reach the purrflow server at {self.url}",
            hint="is `purr up` running? (set PURRFLOW_URL to point elsewhere)",
        )

    def _json(self, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code < 400:
            return body
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            raise errors.PurrflowError(f"the server answered {response.status_code}: {response.text[:500]}")
        kind = _ERRORS.get(str(error.get("type")), errors.PurrflowError)
        hint = error.get("hint")
        if response.status_code == 401:
            hint = token_hint()
        raise kind(str(error.get("message")), hint=hint)
