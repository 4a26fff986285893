"""`GET /metrics`: the server's Prometheus metrics, in the text format.

The metrics name every team's projects and triggers, so a scrape needs the operator's admin token as a
bearer token (an admin of the default team; Prometheus sends it with `authorization: {credentials_file: …}`),
unless the operator started the server with `--metrics-public` (a scraper on a private network).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from purrflow.errors import ForbiddenError
from purrflow.server.deps import platform_of
from purrflow.telemetry import CONTENT_TYPE


async def scrape(request: Request) -> Response:
    """Asynchronous on purpose: the gauges read the orchestrator, which lives on the event loop."""
    platform = platform_of(request)
    if not request.app.state.config.metrics_public:
        user = platform.identity.authenticate(request.headers.get("authorization", ""))
        if not platform.identity.is_operator(user):
            raise ForbiddenError(
                "/metrics names every team's projects: it needs an admin of the default team",
                hint="scrape with the operator's token (the server's data folder holds it in admin-token), "
                "or start the server with --metrics-public",
            )
    return Response(platform.telemetry.metrics.exposition(), media_type=CONTENT_TYPE)


routes = [Route("/metrics", scrape, methods=["GET"])]
