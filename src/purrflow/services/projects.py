"""Projects and their deployments: validate a project's files, store an immutable snapshot, make its
triggers and connections live, and announce the deployment (schedules re-arm on it). Connections' credentials
are the connection service's (`services/connections.py`)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.deploy import DeploymentFiles, stage, trigger_rows
from purrflow.engine.envs import EnvReport, ProjectEnvs, requirements_of
from purrflow.errors import NotFoundError, SessionStateError
from purrflow.manifest import Manifest
from purrflow.store import LIVE_STATES, Deployment, Project, Store, Trigger


@dataclass(frozen=True, slots=True)
class StagedDeploy:
    """A deploy on its way: its files checked and written to a staging folder, its manifest loaded, and
    (once `install_requirements` ran) its requirements.txt installed. Nothing is stored yet."""

    team_id: str
    files: Mapping[str, bytes]
    name: str | None
    staging: Path
    manifest: Manifest
    requirements: EnvReport | None = None


@dataclass(frozen=True, slots=True)
class DeployResult:
    project: Project
    deployment: Deployment
    triggers: list[Trigger]
    migrated_sessions: int
    #: The deployment's requirements.txt environment (None: it has none).
    requirements: EnvReport | None = None


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    project: Project
    deployment: Deployment | None


@dataclass(frozen=True, slots=True)
class ProjectDeleted:
    """What deleting a project removed: its sessions (`stopped` of them were under way) and deployments."""

    project: Project
    sessions: int
    stopped: int
    deployments: int


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
        stop_session: Callable[[str, str, str], object],
        delete_sessions: Callable[[str], int],
        on_deleted: Callable[[str], None],
        envs: ProjectEnvs | None = None,
    ) -> None:
        self._store = store
        self._stop_session = stop_session
        self._delete_sessions = delete_sessions
        self._on_deleted = on_deleted
        self._envs = envs
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

    def history(self, project: Project, *, limit: int = 50) -> list[Deployment]:
        """The project's latest deployments, newest first (the first is the current one)."""
        return self._store.list_deployments(project.id, limit=limit)

    # -- deploying -----------------------------------------------------------------------------
    def stage(self, team_id: str, files: Mapping[str, bytes], name: str | None = None) -> StagedDeploy:
        """The cheap checks of a deploy (may the team run code, are the files and the manifest sound),
        before anything slow: a broken manifest is refused before its requirements are installed."""
        self._may_run_code(team_id)
        staging, manifest = stage(self._deployments.root, files, name)
        return StagedDeploy(team_id, files, name, staging, manifest)

    def install_requirements(self, staged: StagedDeploy) -> StagedDeploy:
        """Install the staged deploy's requirements.txt (nothing when an environment of the same file
        exists). Slow, and touches neither the store nor the event loop: the API runs it in a thread. A
        failed install discards the staged deploy and raises `RequirementsError`; nothing was stored."""
        requirements = requirements_of(staged.files)
        if requirements is None or self._envs is None or staged.requirements is not None:
            return staged
        try:
            report = self._envs.ensure(requirements, cwd=staged.staging)
        except BaseException:
            self.discard(staged)
            raise
        return replace(staged, requirements=report)

    def discard(self, staged: StagedDeploy) -> None:
        """Forget a staged deploy that will not be stored."""
        shutil.rmtree(staged.staging, ignore_errors=True)

    def deploy(
        self,
        team_id: str,
        files: Mapping[str, bytes],
        *,
        name: str | None = None,
        migrate: bool = False,
        owner_id: str | None = None,
        staged: StagedDeploy | None = None,
    ) -> DeployResult:
        """Store a new deployment and make its triggers live (joins the write batch).

        With `migrate`, the project's unfinished sessions move to the new code: each replays its journal
        against it when it next runs, and fails as non-deterministic if the new code diverges.
        A team whose code this server would not run (it cannot sandbox it) is refused here, not later.
        `staged` is what `stage` and `install_requirements` prepared (off the event loop); without it,
        both run here, and an install blocks the caller (`purr run`, the demo).
        """
        staged = self.install_requirements(staged or self.stage(team_id, files, name))
        staging, manifest, env = staged.staging, staged.manifest, staged.requirements
        store = self._store
        try:
            project_name = name or manifest.project.name
            with self._committer.write():
                store.lock_deploys(team_id, project_name)
                project = store.get_or_create_project(team_id, project_name, owner_id=owner_id)
                deployment = store.create_deployment(
                    project.id, manifest.model_dump(mode="json"), dict(files), env=env.digest if env else None
                )
                store.replace_connections(
                    project.id, {conn.name: conn.integration for conn in manifest.project.connections}
                )
                triggers = store.replace_triggers(project.id, trigger_rows(manifest))
                store.set_project_retention(project.id, manifest.project.retention)
                self._triggers_changed(project.id)
                migrated = store.move_sessions_to_deployment(project.id, deployment.id, LIVE_STATES) if migrate else 0
            self._deployments.adopt(staging, deployment.id)
            deployed, changed = self._on_deployed, self._triggers_changed
            self._committer.after_commit(lambda: deployed(project.id), lambda: changed(project.id))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return DeployResult(
            project=self.get(project.id),
            deployment=deployment,
            triggers=triggers,
            migrated_sessions=migrated,
            requirements=env,
        )

    def retentions(self) -> dict[str, float]:
        """How long the projects whose manifests say `retention:` keep ended sessions (id → seconds)."""
        return self._store.project_retentions()

    # -- deleting ------------------------------------------------------------------------------
    def delete(self, team_id: str, name: str, *, force: bool = False) -> ProjectDeleted:
        """Remove the team's project and everything of it, in one commit: its sessions, triggers and
        schedules, subscriptions, connections, vars, values, events and deployments; then, once that is
        committed, its deployment and state folders on disk. Its webhook URLs answer 404 from then on.

        A project with sessions under way is refused unless `force`, which stops them first (in the same
        commit): deleting it under them would leave runners writing for sessions that no longer exist."""
        project = self.named(team_id, name)
        live = self._store.project_session_ids(project.id, LIVE_STATES)
        if live and not force:
            raise SessionStateError(
                f"project {name!r} has {len(live)} session(s) still under way, e.g. {live[0]}",
                hint="stop them first (`purr sessions stop ID`), or let the delete stop them: add --force",
            )
        with self._committer.write():
            for session_id in live:
                self._stop_session(team_id, session_id, f"project {name} deleted")
            sessions = self._delete_sessions(project.id)
            deployments = self._store.delete_project(project.id)
        folders = [self._deployments.root / deployment_id for deployment_id in deployments]

        def forget() -> None:
            self._teams.pop(project.id, None)
            self._triggers_changed(project.id)
            self._on_deleted(project.id)  # its schedules stop, what its sessions kept on disk goes
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)

        self._committer.after_commit(forget)
        return ProjectDeleted(project, sessions=sessions, stopped=len(live), deployments=len(deployments))

    def environment_of(self, deployment: Deployment) -> Path | None:
        """The folder of installed packages the deployment's runners import from (None: it has none)."""
        if deployment.env is None or self._envs is None:
            return None
        return self._envs.site_dir(deployment.env)
