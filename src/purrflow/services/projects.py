"""Projects and their deployments: validate a project's files, store an immutable snapshot, make its
triggers and connections live, and announce the deployment (schedules re-arm on it)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.deploy import DeploymentFiles, stage, trigger_rows
from purrflow.errors import InvalidInputError, NotFoundError
from purrflow.store import LIVE_STATES, Deployment, Project, Store, Trigger


@dataclass(frozen=True, slots=True)
class DeployResult:
    project: Project
    deployment: Deployment
    triggers: list[Trigger]
    migrated_sessions: int


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    project: Project
    deployment: Deployment | None


class ProjectService:
    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        deployments: DeploymentFiles,
        *,
        may_run_code: Callable[[str], None],
        triggers_changed: Callable[[str], None],
        on_deployed: Callable[[str], None],
    ) -> None:
        self._store = store
        self._committer = committer
        self._deployments = deployments
        self._may_run_code = may_run_code
        self._triggers_changed = triggers_changed
        self._on_deployed = on_deployed
        self._teams: dict[str, str] = {}

    # -- reading -------------------------------------------------------------------------------
    def named(self, team_id: str, name: str) -> Project:
        """The team's project `name`; another team's projects do not exist for it."""
        project = self._store.get_project_by_name(team_id, name)
        if project is None:
            raise NotFoundError(f"no project named {name!r}", hint="deploy it with `purr deploy`, or check the name")
        return project

    def get(self, project_id: str) -> Project:
        project = self._store.get_project(project_id)
        if project is None:
            raise NotFoundError(f"no project {project_id!r}")
        return project

    def team_of(self, project_id: str) -> str:
        """The project's team (it never changes: remembered after the first lookup)."""
        team_id = self._teams.get(project_id)
        if team_id is None:
            team_id = self._teams[project_id] = self.get(project_id).team_id
        return team_id

    def of_team(self, team_id: str) -> list[ProjectInfo]:
        return [
            ProjectInfo(p, self._store.get_deployment(p.deployment_id) if p.deployment_id else None)
            for p in self._store.list_projects(team_id)
        ]

    def deployment(self, deployment_id: str) -> Deployment | None:
        return self._store.get_deployment(deployment_id)

    # -- deploying -----------------------------------------------------------------------------
    def deploy(
        self,
        team_id: str,
        files: Mapping[str, bytes],
        *,
        name: str | None = None,
        migrate: bool = False,
        owner_id: str | None = None,
    ) -> DeployResult:
        """Store a new deployment and make its triggers live (joins the write batch).

        With `migrate`, the project's unfinished sessions move to the new code: each replays its journal
        against it when it next runs, and fails as non-deterministic if the new code diverges.
        A team whose code this server would not run (it cannot sandbox it) is refused here, not later.
        """
        self._may_run_code(team_id)
        staging, manifest = stage(self._deployments.root, files, name)
        store = self._store
        try:
            with self._committer.write():
                project = store.get_or_create_project(team_id, name or manifest.project.name, owner_id=owner_id)
                deployment = store.create_deployment(project.id, manifest.model_dump(mode="json"), dict(files))
                store.replace_connections(
                    project.id, {conn.name: conn.integration for conn in manifest.project.connections}
                )
                triggers = store.replace_triggers(project.id, trigger_rows(manifest))
                self._triggers_changed(project.id)
                migrated = store.move_sessions_to_deployment(project.id, deployment.id, LIVE_STATES) if migrate else 0
            self._deployments.adopt(staging, deployment.id)
            deployed, changed = self._on_deployed, self._triggers_changed
            self._committer.after_commit(lambda: deployed(project.id), lambda: changed(project.id))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return DeployResult(
            project=self.get(project.id), deployment=deployment, triggers=triggers, migrated_sessions=migrated
        )

    # -- connections ---------------------------------------------------------------------------
    def connection_fields(self, project: Project) -> dict[str, list[str]]:
        """Each connection's field names (their values are never shown)."""
        return {name: sorted(values) for name, values in self._store.connection_vars(project.id).items()}

    def connection_vars(self, project_id: str) -> dict[str, dict[str, str]]:
        """Each connection's fields with their values (for the sessions' environment only)."""
        return self._store.connection_vars(project_id)

    def set_connection_vars(self, project: Project, connection: str, values: Mapping[str, str | None]) -> list[str]:
        """Merge fields into a connection (None removes one); the connection's field names after it."""
        bad = [key for key in values if not key or not key.replace("_", "").isalnum()]
        if bad:
            raise InvalidInputError(
                f"connection field names must be letters, digits and '_': {', '.join(map(repr, bad))}"
            )
        with self._committer.write():
            known = self._store.set_connection_vars(project.id, connection, values)
        if not known:
            raise NotFoundError(
                f"project {project.name!r} has no connection named {connection!r}", hint="declare it in purrflow.yaml"
            )
        return self.connection_fields(project)[connection]
