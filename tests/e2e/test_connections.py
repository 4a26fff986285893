"""Connections for real: credentials stored encrypted and never shown, tested against a stand-in of the
service, signed Slack and GitHub deliveries verified (forged, unsigned and stale ones refused, retries
taken once), and the OAuth flow with PKCE against a stand-in provider, whose token is refreshed once
however many sessions use it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from projects import write_project

from helpers import Server, wait_until
from standin_server import Reply, Request, StandIn
from store_rows import stored_bytes

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-right-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
GITHUB_SECRET = "It's a Secret to Everybody"

MANIFEST = """
version: v1
project:
  name: linked
  connections:
    - name: slack_conn
      integration: slack
    - name: gh
      integration: github
  triggers:
    - name: on_mention
      connection: slack_conn
      event_type: app_mention
      call: program.py:on_event
    - name: on_slash
      connection: slack_conn
      event_type: slash_command
      call: program.py:on_event
    - name: on_comment
      connection: gh
      event_type: issue_comment
      filter: data.action == "created"
      call: program.py:on_event
"""
PROGRAM = """
import json
import os


def on_event(event):
    data = event.data
    print("event", event.event_type, json.dumps({"text": data.get("text"), "thread_ts": data.get("thread_ts"),
                                                  "command": data.get("command"), "action": data.get("action")}))


def install_token():
    from purrflow.integrations import github

    return os.environ["gh__install_token"], github.client("gh").get_user().login


def who_am_i():
    from autokitteh.slack import slack_client

    return slack_client("slack_conn").auth_test()["user"]
"""


def purr(server: Server, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PURRFLOW_URL": server.url, "PURRFLOW_HOME": str(server.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "purrflow.cli.main", *args], capture_output=True, text=True, env=env, input=stdin
    )


class SlackStandIn(StandIn):
    """Slack's Web API (`auth.test`) and, for OAuth, its authorize and token endpoints."""

    def __init__(self) -> None:
        self.tokens = {BOT_TOKEN: "purrbot"}
        self.challenges: dict[str, str] = {}
        self.refreshes = 0
        self.lock = threading.Lock()
        super().__init__(
            {
                ("POST", "/api/auth.test"): self.auth_test,
                ("GET", "/oauth/authorize"): self.authorize,
                ("POST", "/api/oauth.v2.access"): self.token,
            }
        )

    def auth_test(self, request: Request) -> Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        return Reply(200, {"ok": True, "team": "Purr Inc", "user": self.tokens[token]})

    def authorize(self, request: Request) -> Reply:
        """The person said yes: back to the redirect URI with a code tied to the PKCE challenge."""
        assert request.query["code_challenge_method"] == "S256" and request.query["client_id"] == "cid"
        code = f"code-{len(self.challenges)}"
        self.challenges[code] = request.query["code_challenge"]
        back = request.query["redirect_uri"] + "?" + urlencode({"code": code, "state": request.query["state"]})
        return Reply(302, b"", {"Location": back})

    def token(self, request: Request) -> Reply:
        form = request.form
        if form.get("client_secret") != "csecret":
            return Reply(200, {"ok": False, "error": "invalid_client"})
        with self.lock:
            if form["grant_type"] == "authorization_code":
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if self.challenges.pop(form["code"], None) != digest:
                    return Reply(200, {"ok": False, "error": "invalid_code_verifier"})
                self.tokens["xoxe-first"] = "first"
                return Reply(200, {"ok": True, "access_token": "xoxe-first", "refresh_token": "r-1", "expires_in": 4})
            assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "r-1"
            self.refreshes += 1
            fresh = f"xoxe-refreshed-{self.refreshes}"
            self.tokens[fresh] = "refreshed"
            return Reply(200, {"ok": True, "access_token": fresh, "refresh_token": "r-1", "expires_in": 3600})


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    stand_in = SlackStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def linked(server: Server, tmp_path: Path) -> dict[str, str]:
    """The project deployed; its connections' inbound URLs by name."""
    server.deploy(write_project(tmp_path / "linked", {"purrflow.yaml": MANIFEST, "program.py": PROGRAM}))
    with server.client() as client:
        connections = client.get("/api/v1/connections", params={"project": "linked"}).json()["connections"]
    return {c["name"]: c["inbound_url"] for c in connections}


def api(server: Server, method: str, path: str, body: object = None) -> httpx.Response:
    with server.client() as client:
        return client.request(method, "/api/v1" + path, params={"project": "linked"}, json=body)


def sessions(server: Server) -> list[dict[str, object]]:
    return list(api(server, "GET", "/sessions").json()["sessions"])


def slack_post(url: str, body: bytes, content_type: str, *, age: float = 0, secret: str = SIGNING_SECRET,
               signed: bool = True, retry: int | None = None) -> httpx.Response:  # fmt: skip
    stamp = str(int(time.time() - age))
    headers = {"Content-Type": content_type}
    if signed:
        mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        headers |= {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={mac}"}
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return httpx.post(url, content=body, headers=headers, timeout=10)


def test_credentials_are_encrypted_never_shown_and_tested_against_the_service(
    server: Server, linked: dict[str, str], slack: SlackStandIn
) -> None:
    missing = api(server, "POST", "/connections/slack_conn/init", {"fields": {"oauth_access_token": BOT_TOKEN}})
    assert missing.status_code == 400
    assert "signing_secret" in missing.json()["error"]["message"]
    assert "purr connections init linked slack_conn" in missing.json()["error"]["hint"]

    fields = [f"oauth_access_token={BOT_TOKEN}", f"signing_secret={SIGNING_SECRET}", f"base_url={slack.url}/api/"]
    done = purr(server, "connections", "init", "linked", "slack_conn", *fields, "--json")
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert view["status"] == "ok" and "purrbot" in view["status_detail"]
    assert view["fields"] == {
        "auth_type": "token",
        "base_url": f"{slack.url}/api/",
        "oauth_access_token": "(hidden)",
        "signing_secret": "(hidden)",
    }
    assert view["inbound_url"] == linked["slack_conn"] and "/inbound/slack/" in view["inbound_url"]
    listed = purr(server, "connections", "list", "linked")
    assert listed.returncode == 0 and BOT_TOKEN not in listed.stdout and SIGNING_SECRET not in listed.stdout
    assert BOT_TOKEN.encode() not in stored_bytes(server.database)  # encrypted at rest, WAL included

    assert purr(server, "connections", "set", "linked", "slack_conn", "oauth_access_token=xoxb-wrong").returncode == 0
    tested = purr(server, "connections", "test", "linked", "slack_conn")
    assert tested.returncode == 1 and "invalid_auth" in tested.stdout
    statuses = {
        c["name"]: c["status"] for c in json.loads(purr(server, "connections", "list", "linked", "--json").stdout)
    }
    assert statuses == {"gh": "unset", "slack_conn": "error"}

    unknown = purr(server, "connections", "init", "linked", "slack_conn", "--auth", "carrier-pigeon", "a=b")
    assert unknown.returncode == 1 and "token, oauth" in unknown.stderr


def test_slack_deliveries_are_verified_and_taken_once(server: Server, linked: dict[str, str]) -> None:
    assert api(server, "PATCH", "/connections/slack_conn", {"vars": {"signing_secret": SIGNING_SECRET}}).is_success
    url = linked["slack_conn"]
    handshake = slack_post(
        url, json.dumps({"type": "url_verification", "challenge": "ch4ll"}).encode(), "application/json"
    )
    assert handshake.status_code == 200 and handshake.text == "ch4ll"

    event = {"type": "app_mention", "channel": "C1", "user": "U1", "text": "<@B1> hi", "ts": "1.2"}
    body = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": event}).encode()
    for refused in (
        slack_post(url, body, "application/json", secret="not-the-secret"),
        slack_post(url, body, "application/json", signed=False),
        slack_post(url, body, "application/json", age=360),
    ):
        assert refused.status_code == 401, refused.text
    assert sessions(server) == []

    accepted = slack_post(url, body, "application/json")
    assert accepted.status_code == 200 and len(accepted.json()["session_ids"]) == 1
    retried = slack_post(url, body, "application/json", retry=1)  # Slack's retry: same event id, new signature
    assert retried.status_code == 200 and retried.json() == {"duplicate": True}
    session_id = accepted.json()["session_ids"][0]
    server.wait_state(session_id, "completed")
    assert 'event app_mention {"text": "<@B1> hi", "thread_ts": "", "command": null, "action": null}' in server.logs(
        session_id
    )

    slash = urlencode({"command": "/deploy", "text": "prod", "user_id": "U1", "channel_id": "C1"}).encode()
    started = slack_post(url, slash, "application/x-www-form-urlencoded")
    assert started.status_code == 200, started.text
    slash_session = started.json()["session_ids"][0]
    server.wait_state(slash_session, "completed")
    assert any('"command": "/deploy"' in line for line in server.logs(slash_session))
    assert len(sessions(server)) == 2


def test_github_deliveries_are_verified_and_taken_once(server: Server, linked: dict[str, str], tmp_path: Path) -> None:
    assert api(server, "PATCH", "/connections/gh", {"vars": {"webhook_secret": GITHUB_SECRET}}).is_success
    url = linked["gh"]
    redeployed = purr(server, "deploy", str(tmp_path / "linked"))  # a redeploy keeps ids, URLs and secrets
    assert redeployed.returncode == 0, redeployed.stderr
    assert f"connection gh (github, untested): deliveries to {url}" in " ".join(redeployed.stdout.split())
    body = json.dumps({"action": "created", "comment": {"body": "/assign"}, "issue": {"number": 7}}).encode()

    def deliver(delivery: str, *, secret: str | None = GITHUB_SECRET) -> httpx.Response:
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": delivery}
        if secret is not None:
            headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return httpx.post(url, content=body, headers=headers, timeout=10)

    assert deliver("d-1", secret="wrong").status_code == 401
    assert deliver("d-1", secret=None).status_code == 401
    assert sessions(server) == []
    first = deliver("d-1")
    assert first.status_code == 200 and len(first.json()["session_ids"]) == 1
    assert deliver("d-1").json() == {"duplicate": True}  # redelivered from GitHub's UI
    session_id = first.json()["session_ids"][0]
    server.wait_state(session_id, "completed")
    assert any('"action": "created"' in line for line in server.logs(session_id))
    assert len(sessions(server)) == 1
    assert httpx.post(url.replace("/github/", "/slack/"), content=b"{}", timeout=10).status_code == 404


def test_oauth_grant_with_pkce_then_one_refresh_for_every_session(
    server: Server, linked: dict[str, str], slack: SlackStandIn
) -> None:
    fields = {
        "client_id": "cid",
        "client_secret": "csecret",
        "signing_secret": SIGNING_SECRET,
        "oauth_authorize_url": f"{slack.url}/oauth/authorize",
        "oauth_token_url": f"{slack.url}/api/oauth.v2.access",
        "base_url": f"{slack.url}/api/",
    }
    assert api(server, "POST", "/connections/slack_conn/init", {"auth_mode": "oauth", "fields": fields}).is_success
    start_url = api(server, "POST", "/connections/slack_conn/oauth").json()["url"]
    assert start_url.startswith(server.url + "/oauth/slack/start?state=")

    to_provider = httpx.get(start_url, timeout=10)
    assert to_provider.status_code == 302
    authorize = urlsplit(to_provider.headers["location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == slack.url
    assert dict(parse_qsl(authorize.query))["redirect_uri"] == server.url + "/oauth/slack/callback"
    back = httpx.get(to_provider.headers["location"], timeout=10)
    assert back.status_code == 302
    done = httpx.get(back.headers["location"], timeout=10)
    assert done.status_code == 200 and "Connected" in done.text
    assert httpx.get(start_url, timeout=10).status_code == 400  # a state is good once

    view = api(server, "GET", "/connections/slack_conn").json()["connection"]
    assert view["status"] == "ok" and view["fields"]["oauth_access_token"] == "(hidden)"
    # The first token lives 4 s: the server renews it before it expires, once.
    wait_until(lambda: slack.refreshes == 1, timeout=10, what="the token refresh")

    def start() -> str:
        body = {"project": "linked", "entrypoint": "program.py:who_am_i"}
        return str(api(server, "POST", "/sessions", body).json()["session_id"])

    started = [start(), start()]
    for session_id in started:
        assert server.wait_state(session_id, "completed")["result_repr"] == "'refreshed'"
    assert slack.refreshes == 1

    # Restarted, the server keeps the refreshed token (an hour long: nothing to renew).
    server.stop()
    server.start()
    assert server.wait_state(start(), "completed")["result_repr"] == "'refreshed'"
    assert slack.refreshes == 1


def test_github_app_installation_tokens_are_minted_by_the_server(server: Server, linked: dict[str, str]) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    minted: list[str] = []

    def signed_by_the_app(request: Request) -> bool:
        jwt = request.headers.get("authorization", "").removeprefix("Bearer ")
        head, payload, signature = jwt.split(".")
        padded = signature + "=" * (-len(signature) % 4)
        try:
            key.public_key().verify(
                base64.urlsafe_b64decode(padded), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except Exception:
            return False
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return bool(claims["iss"] == "1234" and claims["exp"] - claims["iat"] <= 600)

    def access_tokens(request: Request) -> Reply:
        if not signed_by_the_app(request):
            return Reply(401, {"message": "A JSON web token could not be decoded"})
        minted.append(f"ghs_{len(minted)}")
        return Reply(201, {"token": minted[-1], "expires_at": "2099-01-01T00:00:00Z"})

    github = StandIn(
        {
            ("GET", "/api/v3/app"): lambda r: Reply(200, {"slug": "purr-app"}) if signed_by_the_app(r) else Reply(401),
            ("POST", "/api/v3/app/installations/77/access_tokens"): access_tokens,
            ("GET", "/api/v3/user"): lambda r: (
                Reply(200, {"login": "purr-app[bot]"})
                if r.headers.get("authorization", "").split()[-1] == "ghs_0"
                else Reply(401, {"message": "Bad credentials"})
            ),
        }
    )
    try:
        fields = {"app_id": "1234", "private_key": pem, "install_id": "77", "base_url": f"{github.url}/api/v3"}
        done = api(server, "POST", "/connections/gh/init", {"auth_mode": "app", "fields": fields})
        assert done.status_code == 200, done.text
        wait_until(lambda: minted, timeout=10, what="an installation token")
        tested = api(server, "POST", "/connections/gh/test").json()["connection"]
        assert tested["status"] == "ok" and "purr-app" in tested["status_detail"]
        assert tested["fields"]["private_key"] == "(hidden)" and tested["fields"]["install_token"] == "(hidden)"
        body = {"project": "linked", "entrypoint": "program.py:install_token"}
        session_id = api(server, "POST", "/sessions", body).json()["session_id"]
        assert server.wait_state(session_id, "completed")["result_repr"] == "('ghs_0', 'purr-app[bot]')"
    finally:
        github.close()


GMAIL_MANIFEST = """
version: v1
project:
  name: mailbox
  connections:
    - name: mail
      integration: gmail
  triggers:
    - name: on_mail
      connection: mail
      event_type: mailbox_change
      call: program.py:on_mail
"""
GMAIL_PROGRAM = """
def on_mail(event):
    return [m.id for m in event.data.messages_added]
"""


class GmailStandIn(StandIn):
    """Gmail's profile and history: `history` grows as a test delivers mail."""

    def __init__(self) -> None:
        self.history: list[dict[str, object]] = []
        super().__init__(
            {("GET", "/gmail/v1/users/me/profile"): self.profile, ("GET", "/gmail/v1/users/me/history"): self.changes}
        )

    def latest(self) -> int:
        return 100 + len(self.history)

    def profile(self, request: Request) -> Reply:
        if request.headers.get("authorization") != "Bearer ya29.mail":
            return Reply(401, {"error": "unauthenticated"})
        return Reply(200, {"emailAddress": "cat@example.com", "historyId": str(self.latest())})

    def changes(self, request: Request) -> Reply:
        start = int(request.query["startHistoryId"])
        newer = [h for h in self.history if int(str(h["id"])) > start]
        return Reply(200, {"history": newer, "historyId": str(self.latest())})

    def deliver(self, message_id: str) -> None:
        history_id = self.latest() + 1
        self.history.append(
            {"id": str(history_id), "messagesAdded": [{"message": {"id": message_id, "threadId": "t"}}]}
        )


def test_gmail_mailbox_changes_are_polled_and_never_delivered_twice(server: Server, tmp_path: Path) -> None:
    server.deploy(write_project(tmp_path / "mailbox", {"purrflow.yaml": GMAIL_MANIFEST, "program.py": GMAIL_PROGRAM}))
    gmail = GmailStandIn()
    try:
        gmail.deliver("before-the-connection")  # the present: not an event
        fields = {
            "base_url": f"{gmail.url}/",
            "auth_type": "oauth",
            "oauth_AccessToken": "ya29.mail",
            "poll_interval": "0.3",
        }
        with server.client() as client:
            assert client.patch(
                "/api/v1/connections/mail", params={"project": "mailbox"}, json={"vars": fields}
            ).is_success

            def results() -> list[str]:
                listed = client.get("/api/v1/sessions", params={"project": "mailbox"}).json()["sessions"]
                return sorted(server.wait_state(s["id"], "completed")["result_repr"] for s in listed)

            wait_until(lambda: gmail.calls("/gmail/v1/users/me/profile"), timeout=15, what="the first poll")
            gmail.deliver("m1")
            gmail.deliver("m2")
            wait_until(lambda: len(results()) == 2, timeout=15, what="two mailbox_change sessions")
            assert results() == ["['m1']", "['m2']"]
        server.kill9()
        server.start()
        gmail.deliver("m3")
        with server.client() as client:
            wait_until(lambda: len(results()) == 3, timeout=15, what="the third change after the restart")
            polls = len(gmail.calls("/gmail/v1/users/me/history"))
            wait_until(lambda: len(gmail.calls("/gmail/v1/users/me/history")) > polls + 2, timeout=15, what="polls")
            assert results() == ["['m1']", "['m2']", "['m3']"]  # nothing twice across the kill
    finally:
        gmail.close()
