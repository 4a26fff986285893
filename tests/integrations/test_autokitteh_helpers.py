"""The autokitteh helper modules: AutoKitteh's names and signatures, on purrflow's integrations, with and
without the PyPI package installed."""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
from datetime import datetime
from importlib import import_module, metadata
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from no_autokitteh import hide_autokitteh
from service_standins import connect, running, slack

from purrflow.compat.autokitteh import connections, errors
from purrflow.compat.autokitteh.slack import normalize_channel_name, slack_client
from purrflow.integrations import errors as integration_errors

PYPI = Path(str(metadata.distribution("autokitteh").locate_file("autokitteh")))
HELPERS = {
    "slack": ["slack_client", "normalize_channel_name"],
    "github": ["github_client"],
    "google": [
        "gmail_client",
        "google_calendar_client",
        "google_creds",
        "google_drive_client",
        "google_forms_client",
        "google_id",
        "google_sheets_client",
        "gspread_client",
    ],
    "atlassian": ["confluence_client", "get_base_url", "jira_client"],
    "twilio": ["twilio_client"],
    "connections": ["check_connection_name", "encode_jwt", "refresh_oauth"],
}


def _pypi_parameters(module: str) -> dict[str, list[tuple[str, str]]]:
    """Each function's parameters (name, kind) in the PyPI package's source, read without importing it
    (its google module imports Gemini's SDK)."""
    tree = ast.parse((PYPI / f"{module}.py").read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            params = [(p.arg, "POSITIONAL_OR_KEYWORD") for p in a.args]
            params += [("*", "VAR_POSITIONAL")] if a.vararg else []
            params += [(p.arg, "KEYWORD_ONLY") for p in a.kwonlyargs]
            params += [("**", "VAR_KEYWORD")] if a.kwarg else []
            found[node.name] = params
    return found


def _our_parameters(fn: object) -> list[tuple[str, str]]:
    out = []
    for p in inspect.signature(fn).parameters.values():  # type: ignore[arg-type]
        name = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}.get(p.kind.name, p.name)
        out.append((name, p.kind.name))
    return out


@pytest.mark.parametrize("module", sorted(HELPERS))
def test_helpers_have_autokittehs_names_and_signatures(module: str) -> None:
    theirs = _pypi_parameters(module)
    ours = import_module(f"purrflow.compat.autokitteh.{module}")
    assert sorted(ours.__all__) == sorted(HELPERS[module])
    for name in HELPERS[module]:
        assert _our_parameters(getattr(ours, name)) == theirs[name], name


def test_errors_define_every_error_the_package_does() -> None:
    tree = ast.parse((PYPI / "errors.py").read_text())
    names = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    assert names <= set(vars(errors)), names - set(vars(errors))
    assert issubclass(errors.ConnectionInitError, errors.AutoKittehError)
    assert issubclass(errors.ConnectionInitError, integration_errors.ConnectionInitError)
    assert "not initialized" in str(errors.ConnectionInitError("c"))  # AutoKitteh's one-argument form


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("", ""),
        ('Release 1.2 — "Ready"!', "release-1-2-ready"),
        ("  team's  __ channel  ", "teams-channel"),
        ("-x-", "x"),
        ("a" * 60, "a" * 50),
        ("'\"", ""),
        ("ok_name-1", "ok_name-1"),
    ],
)
def test_normalize_channel_name(name: str, channel: str) -> None:
    assert normalize_channel_name(name) == channel


def test_the_helper_raises_autokittehs_error_with_purrflows_message(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "other_conn", oauth_access_token="xoxb-not-for-slack_conn")
    with pytest.raises(errors.ConnectionInitError, match="purr connections init acme slack_conn") as caught:
        slack_client("slack_conn")
    assert isinstance(caught.value, integration_errors.ConnectionInitError)
    assert caught.value.missing[0] == "oauth_access_token"


PROGRAM = """
import json, sys
from purrflow.compat import autokitteh_loader
autokitteh_loader.install()
import autokitteh, autokitteh.errors
from autokitteh.slack import slack_client
import purrflow.compat.autokitteh.slack as ours
from purrflow.integrations.errors import ConnectionInitError
client = slack_client("slack_conn")
sent = client.chat_postMessage(channel="C1", text="hi")
try:
    slack_client("nothing")
except autokitteh.errors.ConnectionInitError as err:
    caught = isinstance(err, ConnectionInitError) and isinstance(err, autokitteh.AutoKittehError)
print(json.dumps({
    "package": "purrflow" not in autokitteh.__file__,
    "one_module": sys.modules["autokitteh.slack"] is ours,
    "ours": slack_client is ours.slack_client,
    "errors_ours": autokitteh.errors.__name__,
    "caught": caught,
    "ts": sent["ts"],
}))
"""


@pytest.mark.parametrize("with_package", [True, False], ids=["with-package", "without-package"])
def test_import_autokitteh_slack_talks_to_the_base_url(tmp_path: Path, with_package: bool) -> None:
    with running(slack) as api:
        env = {**os.environ, "slack_conn__base_url": api.url + "/api/", "slack_conn__oauth_access_token": "xoxb-1"}
        if not with_package:
            env.update(hide_autokitteh(tmp_path / "hide"))
        done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got == {
        "package": with_package,
        "one_module": not with_package,  # with the package, its module keeps its own functions' company
        "ours": True,
        "errors_ours": "purrflow.compat.autokitteh.errors",
        "caught": True,
        "ts": "1700000000.000100",
    }
    assert api.paths() == ["POST /api/auth.test", "POST /api/chat.postMessage"]


def test_without_the_package_every_helper_module_is_ours(tmp_path: Path) -> None:
    script = (
        "import sys; from purrflow.compat import autokitteh_loader; autokitteh_loader.install()\n"
        "import autokitteh.slack, autokitteh.github, autokitteh.google, autokitteh.atlassian\n"
        "import autokitteh.twilio, autokitteh.connections\n"
        "names = ['slack', 'github', 'google', 'atlassian', 'twilio', 'connections', 'errors']\n"
        "print(all(sys.modules['autokitteh.' + n] is sys.modules['purrflow.compat.autokitteh.' + n] for n in names))"
    )
    env = {**os.environ, **hide_autokitteh(tmp_path / "hide")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_encode_jwt_signs_with_the_connections_private_key(monkeypatch: pytest.MonkeyPatch) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    connect(monkeypatch, "gh", private_key=pem.decode())
    token = connections.encode_jwt({"iss": "12", "exp": 4102444800}, "gh", "RS256")
    assert jwt.decode(token, key.public_key(), algorithms=["RS256"]) == {"iss": "12", "exp": 4102444800}
    with pytest.raises(errors.ConnectionInitError, match="missing field private_key"):
        connections.encode_jwt({}, "other", "RS256")


def test_refresh_oauth_answers_the_connections_token(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "gmail_conn", oauth_AccessToken="ya29.now", oauth_Expiry="2099-01-01 00:00:00 +0000 UTC")
    assert connections.refresh_oauth("gmail", "gmail_conn") == ("ya29.now", datetime(2099, 1, 1))
    with pytest.raises(ValueError, match="invalid connection name"):
        connections.check_connection_name("1bad")
