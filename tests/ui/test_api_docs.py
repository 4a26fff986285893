"""`/api/v1/docs` in a real browser with every off-host request refused: Swagger UI loads from the server
alone, and its "Authorize" sends the token, so "Try it out" on an authenticated route answers 200."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from helpers import Server

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route


def test_swagger_ui_authorizes_with_a_token_and_needs_nothing_off_host(page: Page, ui_server: Server) -> None:
    off_host: list[str] = []

    def only_the_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == urlsplit(ui_server.url).netloc:
            route.continue_()
        else:
            off_host.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.goto("/api/v1/docs")
    page.locator(".swagger-ui .info .title", has_text="purrflow").wait_for()

    page.locator("button.authorize").first.click()
    page.locator(".modal-ux input").fill(ui_server.token)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()

    me = page.locator(".opblock-get", has=page.locator(".opblock-summary-path", has_text="/api/v1/me")).first
    me.locator(".opblock-summary").click()
    me.locator("button.try-out__btn").click()
    me.locator("button.execute").click()
    status = me.locator(".live-responses-table tbody td.response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert off_host == []
