"""Gmail's mailbox history: where it stands now (`users/me/profile`) and what changed since a history id
(`users/me/history`, page by page). Polling it is how a connection notices new mail without a public
Pub/Sub push endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from purrflow.connectors.base import PROBE_TIMEOUT, describe_http_error, join
from purrflow.connectors.google import service_account_token
from purrflow.errors import PurrflowError

API_ROOT = "https://gmail.googleapis.com/"
_SCOPE = "https://www.googleapis.com/auth/gmail.readonly"


@dataclass(frozen=True, slots=True)
class MailboxChange:
    history_id: str
    messages_added: list[dict[str, str]]
    labels_added: list[dict[str, Any]]


def _get(fields: Mapping[str, str], path: str, params: dict[str, str]) -> dict[str, Any]:
    if fields.get("auth_type") == "oauth" or not fields.get("JSON"):
        token = fields.get("oauth_AccessToken", "")
    else:
        token = service_account_token(fields["JSON"], _SCOPE)
    if not token:
        raise PurrflowError("the Gmail connection has no access token", hint="purr connections init PROJECT CONN")
    try:
        response = httpx.get(
            join(fields.get("base_url") or API_ROOT, path),
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=PROBE_TIMEOUT,
        )
    except httpx.HTTPError as err:
        raise PurrflowError(describe_http_error("Gmail", err)) from None
    if response.status_code != 200:
        raise PurrflowError(f"Gmail answered {response.status_code}: {response.text[:200]}")
    body: dict[str, Any] = response.json()
    return body


def profile(fields: Mapping[str, str]) -> tuple[str, str]:
    """(the mailbox's address, its current history id)."""
    body = _get(fields, "gmail/v1/users/me/profile", {})
    return str(body.get("emailAddress", "")), str(body["historyId"])


def changes_since(fields: Mapping[str, str], history_id: str) -> tuple[str, list[MailboxChange]]:
    """Every history record after `history_id`, oldest first, and the history id to read from next."""
    changes: list[MailboxChange] = []
    params = {"startHistoryId": history_id}
    latest = history_id
    while True:
        body = _get(fields, "gmail/v1/users/me/history", params)
        for record in body.get("history", []):
            added = [
                {"id": str(m["message"]["id"]), "thread_id": str(m["message"].get("threadId", ""))}
                for m in record.get("messagesAdded", [])
                if isinstance(m.get("message"), dict)
            ]
            changes.append(MailboxChange(str(record["id"]), added, list(record.get("labelsAdded", []))))
        latest = str(body.get("historyId", latest))
        if not body.get("nextPageToken"):
            return latest, changes
        params = {"startHistoryId": history_id, "pageToken": str(body["nextPageToken"])}
