"""Browser tests of the web UI: Playwright driving Debian's headless chromium against a real server.

`scripts/install-browser` installs both; without them every browser test skips, saying what is missing.
Each test here that uses the browser fixtures is marked `slow` and `browser` by this file.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from helpers import Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
#: What each browser test waits at most for one page action (a real server answers in milliseconds).
ACTION_TIMEOUT_MS = 10_000


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: run scripts/install-browser (as root), or apt-get install chromium"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -e '.[dev]' (or run scripts/install-browser)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this folder's browser tests `slow` and `browser`, and skip them, saying why, without a browser.

    Only the tests that use the browser fixtures skip: httpx tests of the UI's rules run everywhere."""
    here = Path(__file__).parent
    missing = _missing()
    for item in items:
        if here not in Path(str(item.fspath)).parents:
            continue
        uses_browser = bool({"browser", "page", "login"} & set(getattr(item, "fixturenames", ())))
        if uses_browser:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(reason=missing))


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real purrflow server on 127.0.0.1 with its own data folder, shared by one test module."""
    srv = Server(tmp_path_factory.mktemp("ui") / "data", extra_args=["--hot-wait", "0.5"]).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium per test file. Playwright's sync API keeps an event loop running on this thread until it
    stops, so a browser kept for the whole run would break every later test that runs a loop of its own (as
    tests after these do, on the same worker of a parallel run)."""
    from playwright.sync_api import sync_playwright  # imported here: collection works without playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, ui_server: Server) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page, 1280×800, with the server as its base URL."""
    context = browser.new_context(base_url=ui_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def login() -> Callable[..., None]:
    """`login(page, token)` or `login(page, username, password)`: log in through the form, and wait until
    the page has left /login (a failed login stays there and fails the test with the page's message)."""

    def do_login(page: Page, token_or_user: str, password: str | None = None, *, next_path: str = "/") -> None:
        page.goto(f"/login?next={next_path}")
        if password is None:
            page.get_by_label("Token").fill(token_or_user)
        else:
            page.get_by_label("Username").fill(token_or_user)
            page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        if "/login" in page.url:
            alert = page.get_by_role("alert")
            raise AssertionError(f"login failed: {alert.inner_text() if alert.count() else page.content()[:500]}")

    return do_login


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    """`shot(page, name)`: a full-page screenshot in build/screenshots/<name>.png (for people to look at)."""

    def take(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
