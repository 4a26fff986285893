"""The services purrflow's integrations call, as routes of a real local HTTP stand-in
(`standin_server.py`): the few API calls the tests make, in the services' own shapes."""

from __future__ import annotations

import re

import pytest

from standin_server import Answer, Request, StandIn, running

__all__ = ["Answer", "Request", "StandIn", "connect", "echo", "github", "google", "jira", "running", "slack", "twilio"]


def connect(monkeypatch: pytest.MonkeyPatch, conn: str, **values: str) -> None:
    """Sets connection fields as sessions get them (`<conn>__<field>` environment variables) for one
    test, in a session of project `acme`."""
    monkeypatch.setenv("PURRFLOW_PROJECT", "acme")
    for name, value in values.items():
        monkeypatch.setenv(f"{conn}__{name}", value)


# -- the services ----------------------------------------------------------------------------------


def slack(req: Request) -> Answer:
    """Slack's Web API under /api/<method>; the token `xoxb-revoked` is refused as Slack refuses one."""
    method = req.path.rsplit("/", 1)[-1]
    if req.headers.get("authorization") == "Bearer xoxb-revoked":
        return 200, {"ok": False, "error": "token_revoked"}
    if method == "auth.test":
        return 200, {"ok": True, "team": "Acme", "user": "bot", "team_id": "T1", "user_id": "U1", "bot_id": "B1"}
    if method == "chat.postMessage":
        params = {
            **req.form,
            **(req.json if req.headers.get("content-type", "").startswith("application/json") else {}),
        }
        return 200, {
            "ok": True,
            "channel": params.get("channel"),
            "ts": "1700000000.000100",
            "message": {"text": params.get("text"), "ts": "1700000000.000100"},
        }
    return 200, {"ok": False, "error": "unknown_method"}


def github(req: Request) -> Answer:
    """GitHub REST v3 in the Enterprise layout (/api/v3): a repository, an issue, issue comments."""
    api = f"http://{req.headers['host']}/api/v3"  # PyGithub follows the absolute URLs objects carry
    path = req.path.removeprefix("/api/v3")
    user = {"login": "octo", "id": 1, "type": "User"}
    if m := re.fullmatch(r"/repos/([^/]+/[^/]+)", path):
        repo = m.group(1)
        return 200, {
            "id": 42,
            "name": repo.split("/")[1],
            "full_name": repo,
            "owner": user,
            "url": f"{api}/repos/{repo}",
        }
    if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)", path):
        repo, number = m.group(1), int(m.group(2))
        return 200, {
            "id": 7,
            "number": number,
            "title": "A bug",
            "state": "open",
            "user": user,
            "url": f"{api}/repos/{repo}/issues/{number}",
            "repository_url": f"{api}/repos/{repo}",
        }
    if re.fullmatch(r"/app/installations/\d+/access_tokens", path) and req.method == "POST":
        # a GitHub App's JWT (Bearer) buys an installation token
        assert req.headers["authorization"].startswith("Bearer ey"), req.headers
        return 201, {"token": "ghs_installation", "expires_at": "2099-01-01T00:00:00Z"}
    if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path)) and req.method == "POST":
        return 201, {"id": 99, "body": req.json["body"], "user": user}
    return 404, {"message": "Not Found"}


def google(req: Request) -> Answer:
    """Gmail v1, Sheets v4 (values and spreadsheet metadata) and the OAuth token endpoint, by path."""
    if req.path == "/token":  # a service account's signed JWT, exchanged for an access token
        return 200, {"access_token": "ya29.from-jwt", "expires_in": 3600, "token_type": "Bearer"}
    if req.path == "/gmail/v1/users/me/messages":
        return 200, {"messages": [{"id": "m1", "threadId": "t1"}], "resultSizeEstimate": 1}
    if m := re.fullmatch(r"/v4/spreadsheets/([^/]+)/values/(.+)", req.path):
        return 200, {"range": m.group(2), "majorDimension": "ROWS", "values": [["name", "age"], ["Ada", "36"]]}
    if m := re.fullmatch(r"/v4/spreadsheets/([^/]+)", req.path):
        sheet = {"sheetId": 0, "title": "Sheet1", "index": 0, "gridProperties": {"rowCount": 10, "columnCount": 2}}
        return 200, {"spreadsheetId": m.group(1), "properties": {"title": "People"}, "sheets": [{"properties": sheet}]}
    return 404, {"error": {"code": 404, "message": "no such path", "status": "NOT_FOUND"}}


def jira(req: Request) -> Answer:
    """Jira REST v2: one issue."""
    if m := re.fullmatch(r"/rest/api/2/issue/([A-Z]+-\d+)", req.path):
        return 200, {"id": "10001", "key": m.group(1), "fields": {"summary": "Printer on fire"}}
    return 404, {"errorMessages": ["no such path"]}


def twilio(req: Request) -> Answer:
    """Twilio's Messages resource."""
    if (m := re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages.json", req.path)) and req.method == "POST":
        return 201, {
            "sid": "SM1",
            "account_sid": m.group(1),
            "status": "queued",
            "body": req.form.get("Body"),
            "to": req.form.get("To"),
            "from": req.form.get("From"),
        }
    return 404, {"code": 20404, "message": "not found"}


def echo(req: Request) -> Answer:
    """What the request looked like (an httpbin-like endpoint)."""
    return 200, {"path": req.path, "authorization": req.headers.get("authorization")}
