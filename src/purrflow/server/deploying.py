"""A deploy as the server makes one, for the API's JSON and the web UI's upload alike: the cheap checks,
then the requirements.txt install in a thread (it may take minutes; the server goes on serving), then the
write. An install that fails refuses the deploy with the installer's last lines; the current deployment
is untouched, and a client that goes away meanwhile leaves nothing stored."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from purrflow.services.projects import DeployResult, ProjectService
from purrflow.store import User


async def deploy_files(
    projects: ProjectService, user: User, files: Mapping[str, bytes], *, name: str | None, migrate: bool
) -> DeployResult:
    staged = projects.stage(user.team_id, files, name)
    try:
        staged = await asyncio.to_thread(projects.install_requirements, staged)
    except asyncio.CancelledError:  # the client went away: nothing is stored
        projects.discard(staged)
        raise
    return projects.deploy(user.team_id, files, name=name, migrate=migrate, owner_id=user.id, staged=staged)
