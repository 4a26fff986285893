"""The sessions, session, prompts, events and Insights pages in a real browser against a real server: a
webhook's session appears on the sessions page and its log lines arrive without a reload, every prompt
type is answered through its widget, failed sessions are restarted and rerun from a step, events are
redispatched, and another team sees none of it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from helpers import Server, wait_until

PROGRAM = """
from purrflow import sdk

@sdk.activity
def double(n):
    return n * 2

@sdk.activity
def add(a, b):
    return a + b

def chat(event):
    body = event.data.get("body") or {}
    print("first line:", (body.get("json") or {}).get("word", "-"))
    name = sdk.prompt.input("name", "Your name?")
    print("second line:", name)
    return name

def steps(event):
    x = double(2)
    y = add(x, 1)
    return y

def broken(event):
    raise RuntimeError("broken on purpose")

def ask_all(event):
    answers = [
        sdk.prompt.input("name", "Your name?"),
        sdk.prompt.number("count", "How many?", minimum=1, maximum=10),
        sdk.prompt.secret("token", "A secret?"),
        sdk.prompt.password("pw", "A password?", confirm=True),
        sdk.prompt.confirm("sure", "Sure?"),
        sdk.prompt.list("color", "Colour?", ["red", "green", "blue"]),
        sdk.prompt.autocomplete("city", "City?", ["Paris", "Lima", "Oslo"]),
        sdk.prompt.checkbox("tags", "Tags?", ["a", "b", "c"]),
        sdk.prompt.editor("notes", "Notes?"),
        sdk.prompt.datetime("when", "When?"),
    ]
    answers[2], answers[3] = len(answers[2]), len(answers[3])
    return answers
"""

MANIFEST = """version: v1
project:
  name: shop
  triggers:
    - name: hook
      type: webhook
      call: program.py:chat
"""


@pytest.fixture(scope="module")
def alpha(ui_server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The admin team's project `shop`, deployed through the API: its webhook URL."""
    folder = tmp_path_factory.mktemp("shop")
    (folder / "purrflow.yaml").write_text(MANIFEST)
    (folder / "program.py").write_text(PROGRAM)
    deployed = ui_server.deploy(folder)
    return {"webhook": deployed["triggers"][0]["webhook_url"]}


@pytest.fixture(scope="module")
def api(ui_server: Server) -> Iterator[httpx.Client]:
    with ui_server.client() as client:
        yield client


def start(api: httpx.Client, entrypoint: str) -> str:
    answer = api.post("/api/v1/sessions", json={"project": "shop", "entrypoint": entrypoint})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["session_id"])


def open_prompt(api: httpx.Client, session_id: str, kind: str) -> dict[str, Any]:
    """Wait until the session asks its prompt of type `kind`."""

    def asked() -> dict[str, Any] | None:
        found = api.get("/api/v1/prompts", params={"session_id": session_id}).json()["prompts"]
        return next((p for p in found if p["type"] == kind), None)

    return wait_until(asked, timeout=20, what=f"a {kind} prompt of {session_id}")


def mark(page: Page) -> None:
    """Leave a mark in the page's window: it is still there only if the page was never reloaded."""
    page.evaluate("window.__notReloaded = true")


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def test_webhook_session_appears_live_and_streams_its_log(
    ui_server: Server, alpha: dict[str, Any], api: httpx.Client, page: Page, login: Callable[..., None],
    shot: Callable[[Page, str], Path],
) -> None:  # fmt: skip
    login(page, ui_server.token, next_path="/sessions")
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
    mark(page)
    fired = httpx.post(alpha["webhook"], json={"word": "meow"}, timeout=10)
    assert fired.status_code < 300, fired.text
    session_id = wait_until(
        lambda: next(iter(api.get("/api/v1/sessions", params={"trigger": "hook"}).json()["sessions"]), None),
        what="the webhook's session",
    )["id"]
    row = page.locator(f'tr[data-session-id="{session_id}"]')
    expect(row).to_be_visible()
    expect(row.locator("td.state")).to_have_text("waiting", timeout=20_000)
    assert not_reloaded(page)
    shot(page, "sessions-live")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "sessions-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})

    row.get_by_role("link").click()
    expect(page).to_have_url(f"{ui_server.url}/sessions/{session_id}")
    log = page.get_by_role("log", name="Session output")
    expect(log).to_contain_text("first line: meow")
    expect(page.locator("#session-waiting")).to_contain_text("an answer to prompt")
    mark(page)
    prompt = open_prompt(api, session_id, "input")
    assert api.post(f"/api/v1/prompts/{prompt['id']}/answer", json={"value": "Tom"}).status_code == 200
    expect(log).to_contain_text("second line: Tom")  # arrived by the stream
    expect(page.locator("#session-state")).to_have_text("completed", timeout=20_000)  # refreshed when it ended
    expect(page.locator("#step-1")).to_contain_text("prompt")
    assert not_reloaded(page)
    shot(page, "session-completed")


def test_every_prompt_type_is_answered_through_its_widget(
    ui_server: Server, alpha: dict[str, Any], api: httpx.Client, page: Page, login: Callable[..., None],
    shot: Callable[[Page, str], Path],
) -> None:  # fmt: skip
    session_id = start(api, "program.py:ask_all")
    login(page, ui_server.token, next_path="/prompts")

    def answer(kind: str, fill: Callable[[Any], None], *, refused: str | None = None) -> None:
        prompt = open_prompt(api, session_id, kind)
        page.goto("/prompts")
        form = page.locator(f"#prompt-{prompt['id']}")
        expect(form).to_have_attribute("data-prompt-type", kind)
        fill(form)
        shot(page, f"prompt-{kind}")
        form.get_by_role("button", name="Answer").click()
        if refused is not None:
            expect(page.locator(f"#prompt-{prompt['id']}").get_by_role("alert")).to_contain_text(refused)
        else:
            expect(page.get_by_role("status")).to_contain_text("Answered")

    answer("input", lambda f: f.get_by_label("Answer").fill("Ann"))
    # the browser itself refuses a number out of bounds; without its check, the server says why
    answer(
        "number",
        lambda f: (f.evaluate("form => { form.noValidate = true; }"), f.get_by_label("Number").fill("0")),
        refused="below the minimum of 1",
    )
    answer("number", lambda f: f.get_by_label("Number").fill("7"))
    answer("secret", lambda f: f.get_by_label("Secret").fill("s3cret"))
    answer(
        "password",
        lambda f: (f.get_by_label("Password").fill("hunter22"), f.get_by_label("Again, to confirm").fill("other")),
        refused="the two entries differ",
    )
    answer(
        "password",
        lambda f: (f.get_by_label("Password").fill("hunter22"), f.get_by_label("Again, to confirm").fill("hunter22")),
    )
    answer("confirm", lambda f: f.get_by_label("Yes").check())
    answer("list", lambda f: f.get_by_label("Choose").select_option("green"))
    answer(
        "autocomplete", lambda f: f.get_by_label("Type to choose").fill("Atlantis"), refused="not one of the choices"
    )
    answer("autocomplete", lambda f: f.get_by_label("Type to choose").fill("Lima"))
    answer("checkbox", lambda f: (f.get_by_label("a", exact=True).check(), f.get_by_label("c", exact=True).check()))
    answer("editor", lambda f: f.get_by_label("Text").fill("line one\nline two"))
    answer("datetime", lambda f: (f.get_by_label("Date").fill("2026-11-25"), f.get_by_label("Time").fill("10:30:00")))

    done = ui_server.wait_state(session_id, "completed", "error")
    assert done["state"] == "completed", done
    assert done["result_repr"] == (
        "['Ann', 7, 6, 8, True, 'green', 'Lima', ['a', 'c'], 'line one\\nline two', '2026-11-25T10:30:00Z']"
    )
    page.goto("/prompts")
    expect(page.locator("#no-prompts")).to_be_visible()
    shot(page, "prompts-empty")


def test_a_sessions_pending_prompt_is_answered_on_its_page(
    ui_server: Server, alpha: dict[str, Any], api: httpx.Client, page: Page, login: Callable[..., None],
    shot: Callable[[Page, str], Path],
) -> None:  # fmt: skip
    session_id = start(api, "program.py:chat")
    open_prompt(api, session_id, "input")
    login(page, ui_server.token, next_path=f"/sessions/{session_id}")
    prompts = page.locator("#session-prompts")
    prompts.get_by_label("Answer").fill("Zed")
    # The page refreshes itself whenever the session moves on; what a person typed survives that.
    page.evaluate("refreshSession(document.getElementById('session-live'))")
    expect(page.locator("#session-prompts").get_by_label("Answer")).to_have_value("Zed")
    shot(page, "session-prompt")
    prompts.get_by_role("button", name="Answer").click()
    expect(page).to_have_url(re.compile(rf"/sessions/{session_id}\?answered=prm_\w+$"))
    expect(page.get_by_role("log", name="Session output")).to_contain_text("second line: Zed")
    assert ui_server.wait_state(session_id, "completed")["result_repr"] == "'Zed'"


def test_restart_a_failed_session_and_rerun_one_from_a_step(
    ui_server: Server, alpha: dict[str, Any], api: httpx.Client, page: Page, login: Callable[..., None],
    shot: Callable[[Page, str], Path],
) -> None:  # fmt: skip
    page.on("dialog", lambda dialog: dialog.accept())
    failed = start(api, "program.py:broken")
    assert ui_server.wait_state(failed, "completed", "error")["state"] == "error"
    login(page, ui_server.token, next_path=f"/sessions/{failed}")
    expect(page.get_by_role("note")).to_contain_text("RuntimeError: broken on purpose")
    shot(page, "session-failed")
    page.get_by_role("button", name="Restart").click()
    page.wait_for_url(lambda url: "/sessions/" in url and failed not in url)
    restarted = page.url.rsplit("/", 1)[-1]
    assert api.get(f"/api/v1/sessions/{restarted}").json()["session"]["entrypoint"] == "program.py:broken"
    expect(page.locator("#session-state")).to_have_text("error", timeout=20_000)

    done = start(api, "program.py:steps")
    assert ui_server.wait_state(done, "completed")["result_repr"] == "5"
    page.goto(f"/sessions/{done}")
    journal = page.locator("#session-journal")
    expect(journal.locator("#step-1")).to_contain_text("program.double")
    expect(journal.locator("#step-2")).to_contain_text("program.add")
    shot(page, "session-journal")
    journal.get_by_role("button", name="Rerun from step 2").click()
    page.wait_for_url(lambda url: "/sessions/" in url and done not in url)
    rerun = page.url.rsplit("/", 1)[-1]
    assert ui_server.wait_state(rerun, "completed")["result_repr"] == "5"
    page.reload()
    expect(page.locator("#step-1")).to_contain_text("program.double")
    expect(page.locator("#step-2")).to_contain_text("program.add")
    shot(page, "session-rerun")

    refused = page.request.post(
        f"/sessions/{rerun}/rerun",
        form={"csrf": page.locator('input[name="csrf"]').first.input_value(), "from_step": "9"},
    )
    assert refused.status == 400 and "cannot be rerun from step 9" in refused.text()


def test_insights_show_the_four_metrics_as_charts_and_numbers(
    ui_server: Server, api: httpx.Client, page: Page, login: Callable[..., None], shot: Callable[[Page, str], Path]
) -> None:
    for action, commit in (("success", "c1"), ("failure", "c2"), ("success", "c3")):
        posted = api.post(
            "/api/v1/analytics/events",
            json={"event_name": "deployment", "event_action": action, "repo": "shop", "commit": commit},
        )
        assert posted.status_code == 201, posted.text
    login(page, ui_server.token, next_path="/insights?days=7")
    charts = page.get_by_role("img")
    expect(charts).to_have_count(4)
    for title in ("Deployment frequency", "Lead time for changes", "Change failure rate", "Time to restore service"):
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        expect(page.get_by_role("img", name=f"{title}, day by day")).to_be_visible()
    expect(page.locator("#metric-change_failure_rate .metric-value")).to_have_text("33%")
    page.locator("#metric-change_failure_rate summary").click()
    expect(page.locator("#metric-change_failure_rate table")).to_contain_text("33%")
    shot(page, "insights")
    page.goto("/insights?repo=nothing-here&days=30")
    expect(page.locator("#metric-deployment_frequency .metric-value")).to_contain_text("not known")
    page.goto("/insights?days=12")
    expect(page.get_by_role("alert")).to_contain_text("a window of 12 days is not offered")


def test_redispatch_an_event_from_its_page(
    ui_server: Server, alpha: dict[str, Any], api: httpx.Client, page: Page, login: Callable[..., None],
    shot: Callable[[Page, str], Path],
) -> None:  # fmt: skip
    page.on("dialog", lambda dialog: dialog.accept())
    assert httpx.post(alpha["webhook"], json={"word": "again"}, timeout=10).status_code < 300
    login(page, ui_server.token, next_path="/events")
    expect(page.locator("#events tbody tr").first).to_contain_text("hook")
    shot(page, "events")
    page.locator("#events tbody tr").first.get_by_role("link").click()
    expect(page.locator("#payload")).to_contain_text('"word": "again"')
    before = page.locator("#event-sessions li").count()
    shot(page, "event")
    page.get_by_role("button", name="Redispatch").click()
    expect(page.locator("#redispatched")).to_contain_text("it started")
    new_session = page.locator("#redispatched a").first.inner_text()
    expect(page.locator("#event-sessions li")).to_have_count(before + 1)
    assert api.get(f"/api/v1/sessions/{new_session}").json()["session"]["trigger"] == "hook"


def test_another_team_sees_nothing_of_the_first(
    ui_server: Server, alpha: dict[str, Any], api: httpx.Client, browser: Browser, page: Page,
    login: Callable[..., None], shot: Callable[[Page, str], Path],
) -> None:  # fmt: skip
    beta = api.post("/api/v1/teams", json={"name": "beta-ui", "admin": "bo"})
    assert beta.status_code == 201, beta.text
    login(page, beta.json()["token"], next_path="/sessions")
    expect(page.locator("#no-sessions")).to_be_visible()
    mark(page)
    alpha_context = browser.new_context(base_url=ui_server.url)
    try:
        alpha_page = alpha_context.new_page()
        login(alpha_page, ui_server.token, next_path="/sessions")
        rows = alpha_page.locator("#sessions tbody tr")
        before = rows.count()
        assert httpx.post(alpha["webhook"], json={"word": "private"}, timeout=10).status_code < 300
        expect(rows).to_have_count(before + 1)  # alpha's page heard of it, live
        alpha_session = alpha_page.locator("#sessions tbody tr").first.get_attribute("data-session-id")
        alpha_page.goto("/events")
        event_id = alpha_page.locator("#events tbody tr").first.get_attribute("data-event-id")
    finally:
        alpha_context.close()
    assert not_reloaded(page) and page.locator("#sessions tbody tr").count() == 0
    shot(page, "sessions-other-team")
    for path in (f"/sessions/{alpha_session}", f"/events/{event_id}"):
        response = page.goto(path)
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    shot(page, "session-other-team-404")
    page.goto("/events")
    expect(page.locator("#no-events")).to_be_visible()
    page.goto("/prompts")
    expect(page.locator("#no-prompts")).to_be_visible()


def test_streams_and_pages_want_a_login(ui_server: Server) -> None:
    """Without a login cookie, pages send the browser to log in and the live streams refuse (401)."""
    with httpx.Client(base_url=ui_server.url, timeout=10) as anonymous:
        listing = anonymous.get("/sessions?state=error", headers={"Accept": "text/html"})
        assert listing.status_code == 303 and listing.headers["location"] == "/login?next=/sessions%3Fstate%3Derror"
        for path in ("/sessions/stream", "/sessions/ses_x/logs/stream"):
            refused = anonymous.get(path, headers={"Accept": "text/event-stream"})
            assert refused.status_code == 401 and "not logged in" in refused.text
