"""The web UI's core: logging in (token, password), the project, settings, admin and account pages, and
the rules around them — CSRF, the cookie's flags, logout revoking, team scoping. Browser tests drive
headless chromium against one real server; the rules a browser would hide are checked with httpx."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from helpers import Server, wait_until

pytestmark = pytest.mark.slow  # one real server for the module; the browser tests are marked by conftest.py

PROJECT = "uishop"
MANIFEST = f"""\
version: v1
project:
  name: {PROJECT}
  vars:
    - name: GREETING
      value: hello
    - name: API_KEY
      value: sk-manifest-secret
      secret: true
  connections:
    - name: chat
      integration: slack
  triggers:
    - name: order_placed
      type: webhook
      call: program.py:on_order
    - name: nightly
      schedule: "0 3 * * *"
      call: program.py:on_order
"""
PROGRAM = "def on_order(event):\n    print('order', event)\n"

Shot = Callable[[Page, str], Path]
Login = Callable[..., None]


def tar_gz(files: dict[str, str], top: str = "") -> bytes:
    """A .tar.gz of `files`, under the folder `top` when given (as `tar czf x.tgz folder` makes it)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def form_csrf(html: str) -> str:
    """The CSRF token a page put in its forms."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@contextmanager
def ui_client(server: Server, token: str) -> Iterator[httpx.Client]:
    """An httpx client logged in through the login form, as a browser is (cookies kept, no redirects)."""
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as client:
        login_form = client.get("/login")
        answer = client.post("/login", data={"csrf": form_csrf(login_form.text), "token": token, "next": "/account"})
        assert answer.status_code == 303 and answer.headers["location"] == "/account", answer.text
        yield client


def deploy_upload(page: Page, archive: Path) -> None:
    page.goto("/projects")
    page.get_by_label("Archive").set_input_files(str(archive))
    page.get_by_role("button", name="Deploy").click()


# -- logging in -----------------------------------------------------------------------------------
def test_log_in_with_the_admin_token(ui_server: Server, page: Page, login: Login, shot: Shot) -> None:
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next=/account$"))  # not logged in: sent to log in first
    shot(page, "login")
    login(page, ui_server.token, next_path="/account")
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_text("Role")).to_be_visible()
    shot(page, "account")


def test_set_a_password_then_log_in_with_it(ui_server: Server, page: Page, login: Login, shot: Shot) -> None:
    with ui_server.client() as api:
        made = api.post("/api/v1/users", json={"username": "pat", "role": "member"}).json()
    login(page, made["token"], next_path="/account")
    page.get_by_label("New password", exact=True).fill("correct horse battery")
    page.get_by_label("New password again").fill("correct horse battery")
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("status")).to_have_text("Your password is set.")
    expect(page.get_by_label("Current password")).to_be_visible()  # changing it now needs the current one
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password", exact=True).fill("wrong horse")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("unknown user or wrong password")
    shot(page, "login-wrong-password")
    page.get_by_label("Username").fill("nobody-by-that-name")
    page.get_by_label("Password", exact=True).fill("wrong horse")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("unknown user or wrong password")  # no hint which was wrong

    login(page, "pat", "correct horse battery", next_path="/account")
    expect(page.get_by_text("pat", exact=True).first).to_be_visible()


def test_repeated_wrong_passwords_are_slowed(ui_server: Server) -> None:
    with ui_server.client() as api:
        made = api.post("/api/v1/users", json={"username": "guessed"}).json()
        headers = {"Authorization": f"Bearer {made['token']}"}
        assert api.put("/api/v1/users/me/password", json={"password": "long enough pw"}, headers=headers).is_success
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        csrf = form_csrf(client.get("/login").text)
        messages = [
            client.post("/login", data={"csrf": csrf, "username": "guessed", "password": f"guess{n}"}).text
            for n in range(4)
        ]
        right = client.post("/login", data={"csrf": csrf, "username": "guessed", "password": "long enough pw"})
    assert all("unknown user or wrong password" in text for text in messages[:3])
    assert "too many failed logins for &#39;guessed&#39;" in messages[3]
    assert right.status_code == 401 and "too many failed logins" in right.text  # even the right one waits


def test_the_password_api_needs_the_current_one_to_change_it(ui_server: Server) -> None:
    with ui_server.client() as api:
        made = api.post("/api/v1/users", json={"username": "changer"}).json()
        headers = {"Authorization": f"Bearer {made['token']}"}
        url = "/api/v1/users/me/password"
        short = api.put(url, json={"password": "short"}, headers=headers)
        assert short.status_code == 400 and "8–1024 characters" in short.json()["error"]["message"]
        assert api.put(url, json={"password": "first password"}, headers=headers).status_code == 200
        refused = api.put(url, json={"password": "second password"}, headers=headers)
        assert (
            refused.status_code == 403
            and refused.json()["error"]["message"] == "changing a password needs the current one"
        )
        wrong = api.put(url, json={"password": "second password", "current": "nope"}, headers=headers)
        assert wrong.status_code == 403
        ok = api.put(url, json={"password": "second password", "current": "first password"}, headers=headers)
        assert ok.status_code == 200


# -- the session cookie and CSRF ------------------------------------------------------------------
def test_the_cookie_is_httponly_and_samesite_strict(ui_server: Server, page: Page, login: Login) -> None:
    login(page, ui_server.token)
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "purr_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["secure"] is False  # the server is plain http here; on https it is Secure
    assert cookie["value"] != ui_server.token  # a token of its own, minted for this login
    assert page.evaluate("document.cookie").find("purr_session") == -1  # scripts cannot read it


def test_a_post_without_the_csrf_token_is_refused(ui_server: Server) -> None:
    with ui_client(ui_server, ui_server.token) as client:
        missing = client.post("/settings/config", data={"key": "colour", "value": "blue"})
        forged = client.post("/settings/config", data={"key": "colour", "value": "blue", "csrf": "0" * 64})
        assert missing.status_code == 403 and forged.status_code == 403
        assert "not sent by a page of this server" in missing.text
        with ui_server.client() as api:
            assert "colour" not in api.get("/api/v1/config").json().get("config", {})
        page_csrf = form_csrf(client.get("/settings/config").text)
        accepted = client.post("/settings/config", data={"key": "colour", "value": "blue", "csrf": page_csrf})
        assert accepted.status_code == 303


def test_the_login_form_needs_its_own_csrf_cookie(ui_server: Server) -> None:
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        refused = client.post("/login", data={"csrf": "made-up", "token": ui_server.token})
    assert refused.status_code == 403 and "purr_session" not in refused.cookies


def test_logout_revokes_the_cookie(ui_server: Server) -> None:
    with ui_client(ui_server, ui_server.token) as client:
        cookie = client.cookies["purr_session"]
        csrf = form_csrf(client.get("/account").text)
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    with httpx.Client(base_url=ui_server.url, timeout=30, cookies={"purr_session": cookie}) as stolen:
        page_answer = stolen.get("/account", headers={"Accept": "text/html"})
        script_answer = stolen.get("/account", headers={"Accept": "*/*"})
    assert page_answer.status_code == 303 and page_answer.headers["location"].startswith("/login?next=")
    assert script_answer.status_code == 401
    # the login's token is revoked, not just forgotten by the browser: it no longer works anywhere
    assert httpx.get(f"{ui_server.url}/api/v1/me", headers={"Authorization": f"Bearer {cookie}"}).status_code == 401


def test_login_never_redirects_to_another_site(ui_server: Server) -> None:
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        csrf = form_csrf(client.get("/login").text)
        answer = client.post("/login", data={"csrf": csrf, "token": ui_server.token, "next": "//evil.example/x"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


# -- projects --------------------------------------------------------------------------------------
def test_upload_a_project_and_see_its_triggers(
    ui_server: Server, page: Page, login: Login, shot: Shot, tmp_path: Path
) -> None:
    archive = tmp_path / "uishop.tar.gz"
    archive.write_bytes(tar_gz({"purrflow.yaml": MANIFEST, "program.py": PROGRAM}, top="uishop"))
    login(page, ui_server.token, next_path="/projects")
    deploy_upload(page, archive)
    expect(page).to_have_url(re.compile(rf"/projects/{PROJECT}\?deployed=dep"))
    expect(page.get_by_role("heading", name=f"Project {PROJECT}")).to_be_visible()
    triggers = page.get_by_role("region", name="Triggers")
    expect(triggers.get_by_role("cell", name="order_placed")).to_be_visible()
    expect(triggers.get_by_text("0 3 * * *")).to_be_visible()
    webhook = triggers.locator("code", has_text="/webhooks/").inner_text()
    expect(triggers.get_by_role("button", name=f"Copy URL: {webhook}")).to_be_visible()
    assert httpx.post(webhook, json={"n": 1}).status_code in (200, 202)  # the URL shown is the live webhook
    vars_region = page.get_by_role("region", name="Vars")
    expect(vars_region.get_by_text("hello")).to_be_visible()
    expect(vars_region.get_by_text("sk-manifest-secret")).to_have_count(0)  # a secret var is masked
    expect(page.get_by_role("region", name="Connections").get_by_text("chat")).to_be_visible()
    expect(page.get_by_role("region", name="Deployments").get_by_text("current")).to_be_visible()
    vars_region.get_by_label("Name").fill("REGION")
    vars_region.get_by_label("Value").fill("eu-west")
    vars_region.get_by_role("button", name="Set var").click()
    expect(vars_region.get_by_role("cell", name="eu-west")).to_be_visible()
    with ui_server.client() as api:
        listed = api.get(f"/api/v1/projects/{PROJECT}/vars").json()
    assert {"REGION": "eu-west"}.items() <= {v["name"]: v["value"] for v in listed["vars"]}.items()
    vars_region.get_by_label("Name").fill("bad name!")
    vars_region.get_by_role("button", name="Set var").click()
    expect(page.get_by_role("alert")).to_contain_text("bad name!")  # the service's refusal, on the page
    shot(page, "project")
    page.goto(f"/projects/{PROJECT}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete var REGION").click()
    expect(page.get_by_role("region", name="Vars").get_by_role("cell", name="eu-west")).to_have_count(0)

    page.goto("/projects")
    row = page.get_by_role("row", name=re.compile(PROJECT))
    expect(row.get_by_role("cell").nth(2)).to_have_text("2")
    shot(page, "projects")
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"/projects/{PROJECT}")
    shot(page, "project-narrow")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1  # nothing sticks out sideways


def test_init_a_connection_from_its_project_page(ui_server: Server, page: Page, login: Login, tmp_path: Path) -> None:
    archive = tmp_path / "linked.zip"
    archive.write_bytes(zipped({"purrflow.yaml": MANIFEST.replace(PROJECT, "linked"), "program.py": PROGRAM}))
    login(page, ui_server.token, next_path="/projects")
    deploy_upload(page, archive)
    expect(page).to_have_url(re.compile(r"/projects/linked\?"))
    token_mode = page.locator("details", has_text="Init with token")
    token_mode.locator("summary").click()
    token_mode.get_by_label(re.compile("oauth_access_token")).fill("xoxb-from-the-page")
    token_mode.get_by_role("button", name="Save credentials").click()
    expect(page.get_by_role("alert")).to_contain_text("signing_secret")  # a required field left out, named
    token_mode = page.locator("details", has_text="Init with token")
    token_mode.locator("summary").click()
    token_mode.get_by_label(re.compile("oauth_access_token")).fill("xoxb-from-the-page")
    token_mode.get_by_label(re.compile("signing_secret")).fill("shh-signing")
    token_mode.get_by_role("button", name="Save credentials").click()
    expect(page.get_by_role("status")).to_have_text("Connection chat saved.")
    connections = page.get_by_role("region", name="Connections")
    expect(connections.locator("dd", has_text="oauth_access_token")).to_be_visible()  # the fields it has
    expect(connections.get_by_text("xoxb-from-the-page")).to_have_count(0)  # secret fields are never shown
    with ui_server.client() as api:
        shown = api.get("/api/v1/connections/chat", params={"project": "linked"}).json()["connection"]
    assert shown["auth_mode"] == "token" and set(shown["fields"]) >= {"oauth_access_token", "signing_secret"}


def test_a_refused_upload_shows_the_deploys_error(
    ui_server: Server, page: Page, login: Login, shot: Shot, tmp_path: Path
) -> None:
    login(page, ui_server.token, next_path="/projects")
    escaping = tmp_path / "escape.zip"
    escaping.write_bytes(zipped({"../outside.py": "x = 1\n", "purrflow.yaml": MANIFEST}))
    deploy_upload(page, escaping)
    expect(page.get_by_role("alert")).to_contain_text("a path outside the project")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(zipped({"purrflow.yaml": "version: v1\nproject: {name: broken, triggers: [{name: t}]}\n"}))
    deploy_upload(page, broken)
    expect(page.get_by_role("alert")).to_contain_text("purrflow.yaml")  # the manifest error names its file
    not_archive = tmp_path / "notes.zip"
    not_archive.write_bytes(b"just some text")
    deploy_upload(page, not_archive)
    expect(page.get_by_role("alert")).to_contain_text("cannot be read as a .zip or .tar.gz archive")
    shot(page, "projects-upload-refused")


def test_delete_a_project(ui_server: Server, page: Page, login: Login, tmp_path: Path) -> None:
    archive = tmp_path / "gone.zip"
    archive.write_bytes(zipped({"purrflow.yaml": MANIFEST.replace(PROJECT, "gone"), "program.py": PROGRAM}))
    login(page, ui_server.token, next_path="/projects")
    deploy_upload(page, archive)
    expect(page).to_have_url(re.compile(r"/projects/gone\?"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete project").click()
    expect(page.get_by_role("status")).to_have_text("Project gone was deleted.")
    assert page.goto("/projects/gone").status == 404


# -- settings --------------------------------------------------------------------------------------
def test_set_and_delete_a_value_config_and_secret(
    ui_server: Server, page: Page, login: Login, shot: Shot, tmp_path: Path
) -> None:
    archive = tmp_path / "valued.zip"
    archive.write_bytes(zipped({"purrflow.yaml": MANIFEST.replace(PROJECT, "valued"), "program.py": PROGRAM}))
    login(page, ui_server.token, next_path="/projects")
    deploy_upload(page, archive)

    page.goto("/settings/values?project=valued")
    page.get_by_label("Key", exact=True).fill("limits")
    page.get_by_label("Value", exact=True).fill('{"max": 3}')
    page.get_by_label("As", exact=True).select_option("json")
    page.get_by_role("button", name="Set value").click()
    expect(page.get_by_role("status")).to_have_text("Value limits set.")
    expect(page.get_by_role("cell", name='{"max": 3}')).to_be_visible()
    with ui_server.client() as api:
        assert api.get("/api/v1/values/limits", params={"project": "valued"}).json()["value"] == {"max": 3}
    page.get_by_label("Value", exact=True).fill("{not json")
    page.get_by_label("Key", exact=True).fill("bad")
    page.get_by_label("As", exact=True).select_option("json")
    page.get_by_role("button", name="Set value").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid JSON")
    shot(page, "settings-values")
    page.goto("/settings/values?project=valued")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete value limits").click()
    expect(page.get_by_role("status")).to_have_text("Value limits deleted.")

    page.goto("/settings/config")
    page.get_by_label("Key", exact=True).fill("region")
    page.get_by_label("Value", exact=True).fill("eu-west")
    page.get_by_role("button", name="Set config").click()
    expect(page.get_by_role("cell", name="eu-west", exact=True)).to_be_visible()
    shot(page, "settings-config")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete config region").click()
    expect(page.get_by_role("status")).to_have_text("Config region deleted.")
    expect(page.get_by_role("cell", name="eu-west", exact=True)).to_have_count(0)

    page.goto("/settings/secrets")
    page.get_by_label("Name", exact=True).fill("STRIPE_KEY")
    page.get_by_label("Value", exact=True).fill("sk-live-very-secret")
    page.get_by_role("button", name="Set secret").click()
    expect(page.get_by_role("cell", name="STRIPE_KEY", exact=True)).to_be_visible()
    expect(page.get_by_text("sk-live-very-secret")).to_have_count(0)  # names only
    shot(page, "settings-secrets")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete secret STRIPE_KEY").click()
    expect(page.get_by_role("status")).to_have_text("Secret STRIPE_KEY deleted.")
    with ui_server.client() as api:
        assert api.get("/api/v1/secrets").json()["secrets"] == []


# -- administration --------------------------------------------------------------------------------
def test_create_and_revoke_a_token(ui_server: Server, page: Page, login: Login, shot: Shot) -> None:
    login(page, ui_server.token, next_path="/admin/tokens")
    page.get_by_label("What it is for").fill("ci deploys")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token code").inner_text()
    assert token.startswith("purr_")
    assert httpx.get(f"{ui_server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    shot(page, "admin-tokens")
    page.goto("/admin/tokens")
    expect(page.locator("#new-token")).to_have_count(0)  # shown once
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke token ci deploys").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    wait_until(
        lambda: (
            httpx.get(f"{ui_server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        ),
        timeout=5,
        what="the revoked token to be refused",
    )


def test_admin_pages_render_and_add_a_user(ui_server: Server, page: Page, login: Login, shot: Shot) -> None:
    login(page, ui_server.token, next_path="/admin/users")
    page.get_by_label("Username").fill("robin")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("heading", name=re.compile("User robin added"))).to_be_visible()
    expect(page.get_by_role("cell", name="robin")).to_be_visible()
    shot(page, "admin-users")
    page.goto("/admin/teams")
    expect(page.get_by_role("button", name="Create team")).to_be_visible()  # the operator's team's admin
    shot(page, "admin-teams")


def test_members_find_no_admin_pages(ui_server: Server) -> None:
    with ui_server.client() as api:
        member = api.post("/api/v1/users", json={"username": "plain-member"}).json()["token"]
    with ui_client(ui_server, member) as client:
        for path in ("/admin", "/admin/tokens", "/admin/users", "/admin/teams"):
            answer = client.get(path, headers={"Accept": "text/html"})
            assert answer.status_code == 404, path
            assert "Not found" in answer.text
        assert 'href="/admin"' not in client.get("/account").text


def test_a_wrong_link_is_a_page_for_a_browser_and_json_for_a_script(ui_server: Server) -> None:
    with ui_client(ui_server, ui_server.token) as client:
        browser = client.get("/projectz", headers={"Accept": "text/html"})
        script = client.get("/projectz", headers={"Accept": "application/json"})
        api = client.get("/api/v1/nothing-here", headers={"Accept": "text/html"})
    assert browser.status_code == 404 and "text/html" in browser.headers["content-type"]
    assert "there is no page at /projectz" in browser.text and 'href="/sessions"' in browser.text
    assert script.status_code == 404 and script.json()["error"]["type"] == "HTTPError"
    assert api.status_code == 404 and api.json()["error"]["type"] == "HTTPError"  # the API keeps its form


def test_another_teams_projects_are_invisible(
    ui_server: Server, page: Page, login: Login, shot: Shot, tmp_path: Path
) -> None:
    archive = tmp_path / "private.zip"
    archive.write_bytes(zipped({"purrflow.yaml": MANIFEST.replace(PROJECT, "private"), "program.py": PROGRAM}))
    login(page, ui_server.token, next_path="/projects")
    deploy_upload(page, archive)
    expect(page).to_have_url(re.compile(r"/projects/private\?"))
    with ui_server.client() as api:
        other = api.post("/api/v1/teams", json={"name": "rivals", "admin": "rival-admin"}).json()["token"]
    page.context.clear_cookies()
    login(page, other, next_path="/projects")
    expect(page.get_by_text("No projects yet")).to_be_visible()
    response = page.goto("/projects/private")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("no project named 'private'")).to_be_visible()
    shot(page, "not-found")
    page.goto("/settings/values?project=private")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


@pytest.mark.parametrize("path", ["/account", "/projects", "/settings/config", "/admin/tokens"])
def test_pages_send_people_to_log_in_first(ui_server: Server, path: str) -> None:
    answer = httpx.get(f"{ui_server.url}{path}", headers={"Accept": "text/html"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/login?next={path}"


def test_purr_password_sets_the_password_the_login_form_takes(ui_server: Server) -> None:
    with ui_server.client() as api:
        token = api.post("/api/v1/users", json={"username": "cli-user"}).json()["token"]
    env = {
        **os.environ,
        "PURRFLOW_URL": ui_server.url,
        "PURRFLOW_TOKEN": token,
        "PURRFLOW_HOME": str(ui_server.outside),
    }
    command = [sys.executable, "-m", "purrflow.cli.main", "password"]
    done = subprocess.run(
        [*command, "--new", "typed twice", "--current", ""], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and "password set" in done.stdout, done.stderr
    refused = subprocess.run(
        [*command, "--new", "another one", "--current", "not it"], capture_output=True, text=True, env=env, timeout=60
    )
    assert refused.returncode != 0 and "the current password is wrong" in refused.stderr + refused.stdout
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        csrf = form_csrf(client.get("/login").text)
        answer = client.post("/login", data={"csrf": csrf, "username": "cli-user", "password": "typed twice"})
    assert answer.status_code == 303 and "purr_session" in answer.cookies
