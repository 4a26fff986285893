"""The web UI: server-rendered pages over the same services as the API (see docs/architecture.md).

Each page module has its own `router` (built with `route_class=UiRoute`); this one gathers them.
"""

from __future__ import annotations

from fastapi import APIRouter

from purrflow.server.ui import account, admin, auth, projects, settings
from purrflow.server.ui import events as event_pages
from purrflow.server.ui import insights as insight_pages
from purrflow.server.ui import prompts as prompt_pages
from purrflow.server.ui import sessions as session_pages
from purrflow.server.ui.render import not_found_page

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(account.router)
router.include_router(projects.router)
router.include_router(settings.router)
router.include_router(admin.router)
router.include_router(session_pages.router)
router.include_router(prompt_pages.router)
router.include_router(event_pages.router)
router.include_router(insight_pages.router)

__all__ = ["not_found_page", "router"]
