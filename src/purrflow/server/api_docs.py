"""`/api/v1/docs`: Swagger UI over the OpenAPI document, its assets served from the installed wheel.

FastAPI's own docs page loads Swagger UI from a CDN: a server without internet access, or a browser that
must not reach one, would get a blank page. `swagger-ui-bundle` ships the same files; nothing on the page
leaves the host (not even Swagger UI's spec validator).
"""

from __future__ import annotations

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from purrflow import __version__

OPENAPI_URL = "/api/v1/openapi.json"
DOCS_URL = "/api/v1/docs"
ASSETS_URL = f"{DOCS_URL}/assets"


async def docs_page(_: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"purrflow {__version__} API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )


routes: list[BaseRoute] = [
    Route(DOCS_URL, docs_page, methods=["GET"], include_in_schema=False),
    Mount(ASSETS_URL, app=StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui"),
]
