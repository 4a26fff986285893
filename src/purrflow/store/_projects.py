"""Projects, their immutable deployments (files kept content-addressed) and triggers."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any

from purrflow.store._db import Database, dumps, loads, new_id
from purrflow.store.records import Deployment, Project, Trigger

_PROJECT_COLS = "id, team_id, name, deployment_id, created_at, owner_id"
_TRIGGER_COLS = "id, project_id, name, slug, kind, spec"


def _trigger(row: Any) -> Trigger:
    return Trigger(id=row[0], project_id=row[1], name=row[2], slug=row[3], kind=row[4], spec=loads(row[5]))


class ProjectStore(Database):
    # -- projects ----------------------------------------------------------------------------
    def lock_deploys(self, team_id: str, name: str) -> None:
        """Hold deployments of the team's project `name` until the transaction ends: two API servers that
        deploy it at once (or make it) take turns, rather than both insert its row or its triggers. One
        process writes a SQLite file, so only a shared database needs it."""

    def get_or_create_project(self, team_id: str, name: str, *, owner_id: str | None = None) -> Project:
        found = self.get_project_by_name(team_id, name)
        if found:
            return found
        project = Project(
            id=new_id("prj"), team_id=team_id, name=name, deployment_id=None, created_at=time.time(), owner_id=owner_id
        )
        self._exec(
            "INSERT INTO projects (id, team_id, name, deployment_id, created_at, owner_id) VALUES (?, ?, ?, ?, ?, ?)",
            project.id, team_id, name, None, project.created_at, owner_id,
        )  # fmt: skip
        return project

    def get_project_by_name(self, team_id: str, name: str) -> Project | None:
        row = self._one(f"SELECT {_PROJECT_COLS} FROM projects WHERE team_id = ? AND name = ?", team_id, name)
        return Project(*row) if row else None

    def get_project(self, project_id: str) -> Project | None:
        row = self._one(f"SELECT {_PROJECT_COLS} FROM projects WHERE id = ?", project_id)
        return Project(*row) if row else None

    def list_projects(self, team_id: str) -> list[Project]:
        rows = self._all(f"SELECT {_PROJECT_COLS} FROM projects WHERE team_id = ? ORDER BY name", team_id)
        return [Project(*row) for row in rows]

    def set_project_retention(self, project_id: str, seconds: float | None) -> None:
        self._exec("UPDATE projects SET retention = ? WHERE id = ?", seconds, project_id)

    def project_retentions(self) -> dict[str, float]:
        """The projects that keep their ended sessions for a time of their own: project id → seconds."""
        rows = self._all("SELECT id, retention FROM projects WHERE retention IS NOT NULL")
        return {row[0]: float(row[1]) for row in rows}

    def delete_project(self, project_id: str) -> list[str]:
        """Remove a project that has no sessions left, and everything of it: triggers (and their schedules'
        last ticks), connections (their inbound deliveries and OAuth flows), events, signals, waits,
        subscriptions, values, vars, deployments and the file contents no other deployment shares. The ids
        of its deployments, whose folders on disk the caller removes once this is committed."""
        where = "WHERE project_id = ?"
        deployments = [row[0] for row in self._all(f"SELECT id FROM deployments {where}", project_id)]
        self._exec(f"DELETE FROM schedule_runs WHERE trigger_id IN (SELECT id FROM triggers {where})", project_id)
        for table in ("inbound_deliveries", "oauth_states"):
            self._exec(f"DELETE FROM {table} WHERE connection_id IN (SELECT id FROM connections {where})", project_id)
        for table in ("triggers", "connections", "events", "signals", "waits", "subscriptions"):
            self._exec(f"DELETE FROM {table} {where}", project_id)
        for table in ("project_values", "project_vars", "subscription_versions"):
            self._exec(f"DELETE FROM {table} {where}", project_id)
        of_project = f"FROM deployment_files WHERE deployment_id IN (SELECT id FROM deployments {where})"
        contents = [row[0] for row in self._all(f"SELECT DISTINCT sha256 {of_project}", project_id)]
        self._exec(f"DELETE {of_project}", project_id)
        self._exec(f"DELETE FROM deployments {where}", project_id)
        for digest in contents:
            self._exec(
                "DELETE FROM blobs WHERE sha256 = ? AND NOT EXISTS (SELECT 1 FROM deployment_files WHERE sha256 = ?)",
                digest, digest,
            )  # fmt: skip
        self._exec("DELETE FROM carried_files WHERE owner_id = ?", project_id)  # its sessions' config folder
        self._exec("DELETE FROM projects WHERE id = ?", project_id)
        return deployments

    # -- deployments -------------------------------------------------------------------------
    def create_deployment(
        self, project_id: str, manifest: dict[str, Any], files: Mapping[str, bytes], *, env: str | None = None
    ) -> Deployment:
        """Store the files content-addressed and make this deployment the project's current one."""
        deployment = Deployment(
            id=new_id("dep"), project_id=project_id, manifest=manifest, created_at=time.time(), env=env
        )
        self._exec(
            "INSERT INTO deployments (id, project_id, manifest, created_at, env) VALUES (?, ?, ?, ?, ?)",
            deployment.id, project_id, dumps(manifest), deployment.created_at, env,
        )  # fmt: skip
        for path, content in files.items():
            digest = hashlib.sha256(content).hexdigest()
            self._exec("INSERT INTO blobs (sha256, content) VALUES (?, ?) ON CONFLICT DO NOTHING", digest, content)
            self._exec(
                "INSERT INTO deployment_files (deployment_id, path, sha256) VALUES (?, ?, ?)",
                deployment.id, path, digest,
            )  # fmt: skip
        self._exec("UPDATE projects SET deployment_id = ? WHERE id = ?", deployment.id, project_id)
        return deployment

    def get_deployment(self, deployment_id: str) -> Deployment | None:
        row = self._one("SELECT id, project_id, manifest, created_at, env FROM deployments WHERE id = ?", deployment_id)
        if row is None:
            return None
        return Deployment(id=row[0], project_id=row[1], manifest=loads(row[2]), created_at=row[3], env=row[4])

    def list_deployments(self, project_id: str, *, limit: int) -> list[Deployment]:
        """The project's deployments, newest first."""
        rows = self._all(
            "SELECT id, project_id, manifest, created_at, env FROM deployments WHERE project_id = ?"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            project_id,
            limit,
        )
        return [Deployment(id=r[0], project_id=r[1], manifest=loads(r[2]), created_at=r[3], env=r[4]) for r in rows]

    def deployment_files(self, deployment_id: str) -> dict[str, bytes]:
        rows = self._all(
            "SELECT f.path, b.content FROM deployment_files f JOIN blobs b ON b.sha256 = f.sha256"
            " WHERE f.deployment_id = ?",
            deployment_id,
        )
        return {path: bytes(content) for path, content in rows}

    # -- triggers ----------------------------------------------------------------------------
    def replace_triggers(self, project_id: str, triggers: list[tuple[str, str, dict[str, Any]]]) -> list[Trigger]:
        """Make the project's triggers exactly these (name, kind, spec); a kept webhook keeps its slug.

        Keeping slugs stable across deployments matters: people paste webhook URLs into other systems.
        """
        current = {t.name: t for t in self.list_triggers(project_id)}
        wanted = {name for name, _, _ in triggers}
        for name in set(current) - wanted:
            self._exec("DELETE FROM triggers WHERE id = ?", current[name].id)
        for name, kind, spec in triggers:
            old = current.get(name)
            slug = (old.slug if old and old.slug else secrets.token_urlsafe(18)) if kind == "webhook" else None
            if old:
                self._exec(
                    "UPDATE triggers SET kind = ?, spec = ?, slug = ? WHERE id = ?",
                    kind,
                    dumps(spec),
                    slug,
                    old.id,
                )
            else:
                self._exec(
                    f"INSERT INTO triggers ({_TRIGGER_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
                    new_id("trg"), project_id, name, slug, kind, dumps(spec),
                )  # fmt: skip
        return self.list_triggers(project_id)

    def list_triggers(self, project_id: str) -> list[Trigger]:
        rows = self._all(f"SELECT {_TRIGGER_COLS} FROM triggers WHERE project_id = ? ORDER BY name", project_id)
        return [_trigger(row) for row in rows]

    def list_triggers_of_kind(self, kind: str) -> list[Trigger]:
        rows = self._all(f"SELECT {_TRIGGER_COLS} FROM triggers WHERE kind = ? ORDER BY project_id, name", kind)
        return [_trigger(row) for row in rows]

    def get_trigger(self, trigger_id: str) -> Trigger | None:
        row = self._one(f"SELECT {_TRIGGER_COLS} FROM triggers WHERE id = ?", trigger_id)
        return _trigger(row) if row else None

    def last_schedule_fire(self, trigger_id: str) -> float | None:
        row = self._one("SELECT last_fire_at FROM schedule_runs WHERE trigger_id = ?", trigger_id)
        return float(row[0]) if row else None

    def claim_schedule_fire(self, trigger_id: str, at: float) -> bool:
        """Record that the trigger's tick due at `at` fires; False (nothing changed) when that tick or a later
        one has fired already. The check and the write are one statement: of two processes that claim one
        tick (a retried Temporal activity, say), only one fires it."""
        cursor = self._exec(
            "INSERT INTO schedule_runs (trigger_id, last_fire_at) VALUES (?, ?)"
            " ON CONFLICT (trigger_id) DO UPDATE SET last_fire_at = excluded.last_fire_at"
            " WHERE schedule_runs.last_fire_at < excluded.last_fire_at",
            trigger_id, at,
        )  # fmt: skip
        return cursor.rowcount > 0

    def get_trigger_by_slug(self, slug: str) -> Trigger | None:
        row = self._one(f"SELECT {_TRIGGER_COLS} FROM triggers WHERE slug = ?", slug)
        return _trigger(row) if row else None
