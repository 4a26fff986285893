"""End to end: an unmodified AutoKitteh program (`examples/ak_slack_notify`, `from autokitteh.slack import
slack_client` at import) deployed on a real server posts to a local Slack through its connection's
`base_url` — with the PyPI package installed in the runners, and without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from no_autokitteh import hide_autokitteh
from service_standins import running, slack

from helpers import Server, wait_until

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ak_slack_notify"


@pytest.fixture(params=["with-package", "without-package"])
def server_for(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, bool]]:
    with_package = request.param == "with-package"
    env = {} if with_package else hide_autokitteh(tmp_path / "hide")
    srv = Server(tmp_path / "data", extra_args=["--hot-wait", "0.5"], env=env).start()
    try:
        yield srv, with_package
    finally:
        srv.stop()


def _set_connection(server: Server, project: str, **values: str) -> None:
    with server.client() as client:
        answer = client.patch("/api/v1/connections/slack_conn", params={"project": project}, json={"vars": values})
    assert answer.status_code == 200, answer.text


def _notify(server: Server, url: str, who: str) -> dict[str, object]:
    session_id = httpx.get(url, params={"who": who}, timeout=30).json()["session_id"]
    return server.wait_state(session_id, "completed", "error", timeout=60)


def test_the_program_posts_to_the_connections_base_url(server_for: tuple[Server, bool]) -> None:
    server, _ = server_for
    deployed = server.deploy(EXAMPLE)
    url = {t["name"]: t["webhook_url"] for t in deployed["triggers"]}["notify"]
    project = deployed["project"]["name"]
    with running(slack) as api:
        _set_connection(server, project, base_url=api.url + "/api/", oauth_access_token="xoxb-e2e")
        session = _notify(server, url, "ada")
        assert session["state"] == "completed", (session, server.logs(str(session["id"])))
        posted = wait_until(lambda: [r for r in api.requests if r.path == "/api/chat.postMessage"], what="a post")
    assert posted[0].json == {"channel": "C0NOTIFY", "text": "hello, ada"}
    assert api.paths()[0] == "POST /api/auth.test"  # the helper checks its token, as AutoKitteh's does
    assert server.logs(str(session["id"])) == ["posted 1700000000.000100"]


def test_a_connection_without_a_token_fails_naming_the_fix(server_for: tuple[Server, bool]) -> None:
    server, _ = server_for
    deployed = server.deploy(EXAMPLE)
    url = {t["name"]: t["webhook_url"] for t in deployed["triggers"]}["notify"]
    session = _notify(server, url, "bob")
    assert session["state"] == "error"
    error = session["error"]
    assert error["type"].endswith("ConnectionInitError"), error
    assert "purr connections init ak_slack_notify slack_conn" in error["message"], error
    assert any("not connected" in line for line in server.logs(str(session["id"])))
