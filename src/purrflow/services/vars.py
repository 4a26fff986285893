"""Project vars: the manifest's `vars`, overridden (or added to) from outside with `purr vars set`.

A var set here applies to sessions created afterwards; a session already created keeps the vars it
started with, even when its runner replays later (the store keeps every change, and a session reads them
as of its creation). Secret vars are encrypted with the secret box before they are stored and are never
shown again: only sessions of the project get their value, as an environment variable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.secretbox import SecretBox
from purrflow.errors import NotFoundError
from purrflow.rules.vars import check_var_name, check_var_value
from purrflow.store import Project, Store, VarRecord


@dataclass(frozen=True, slots=True)
class ProjectVar:
    """One var as people see it: a secret one never carries its value."""

    name: str
    value: str | None
    secret: bool
    #: "manifest": the deployment's value; "set": set with `purr vars set` (over the manifest's, if any).
    source: Literal["manifest", "set"]
    set_at: float | None = None
    description: str = ""


class VarService:
    def __init__(self, store: Store, committer: GroupCommitter, box: SecretBox) -> None:
        self._store = store
        self._committer = committer
        self._box = box

    # -- people (the API) ------------------------------------------------------------------------
    def all(self, project: Project) -> list[ProjectVar]:
        """Every var of the project: the manifest's, with those set from outside over them."""
        found = {spec["name"]: _from_manifest(spec) for spec in self._manifest_vars(project)}
        for name, record in self._store.vars_as_of(project.id).items():
            found[name] = self._shown(record, found.get(name))
        return [found[name] for name in sorted(found)]

    def get(self, project: Project, name: str) -> ProjectVar:
        check_var_name(name)
        manifest = next((_from_manifest(v) for v in self._manifest_vars(project) if v["name"] == name), None)
        record = self._store.get_var(project.id, name)
        if record is not None:
            return self._shown(record, manifest)
        if manifest is None:
            raise NotFoundError(
                f"project {project.name!r} has no var {name!r}",
                hint=f"set it with `purr vars set {project.name} {name} VALUE`, or list them with `purr vars list`",
            )
        return manifest

    def set(self, project: Project, name: str, value: str, *, secret: bool = False) -> ProjectVar:
        """Set a var for sessions created from now on. A var the manifest marks secret stays secret."""
        check_var_name(name)
        check_var_value(name, value)
        manifest = next((v for v in self._manifest_vars(project) if v["name"] == name), None)
        secret = secret or bool(manifest and manifest.get("secret"))
        stored = self._box.encrypt(value.encode()) if secret else value.encode()
        with self._committer.write(atomic=False):
            set_at = self._store.put_var(project.id, name, stored, secret=secret)
        return ProjectVar(name, None if secret else value, secret, "set", set_at)

    def delete(self, project: Project, name: str) -> ProjectVar | None:
        """Remove the value set from outside; the manifest's value (returned, if any) applies again."""
        check_var_name(name)
        if self._store.get_var(project.id, name) is None:
            raise NotFoundError(
                f"project {project.name!r} has no var {name!r} set with `purr vars set`",
                hint="a var of the manifest is changed by deploying a new manifest, or overridden with `purr vars set`",
            )
        with self._committer.write(atomic=False):
            self._store.put_var(project.id, name, None)
        return next((_from_manifest(v) for v in self._manifest_vars(project) if v["name"] == name), None)

    # -- sessions --------------------------------------------------------------------------------
    def environment(self, project_id: str, manifest_vars: Iterable[Mapping[str, Any]], as_of: float) -> dict[str, str]:
        """The vars a session created at `as_of` sees, in clear: the manifest's, then those set before it."""
        env = {str(var["name"]): str(var.get("value") or "") for var in manifest_vars}
        for name, record in self._store.vars_as_of(project_id, as_of).items():
            env[name] = (self._box.decrypt(record.value) if record.secret else record.value).decode()
        return env

    # -- helpers ---------------------------------------------------------------------------------
    def _manifest_vars(self, project: Project) -> list[dict[str, Any]]:
        if project.deployment_id is None:
            return []
        deployment = self._store.get_deployment(project.deployment_id)
        if deployment is None:
            return []
        found: list[dict[str, Any]] = deployment.manifest.get("project", {}).get("vars", [])
        return found

    def _shown(self, record: VarRecord, manifest: ProjectVar | None) -> ProjectVar:
        description = manifest.description if manifest else ""
        value = None if record.secret else record.value.decode()
        return ProjectVar(record.name, value, record.secret, "set", record.set_at, description)


def _from_manifest(spec: Mapping[str, Any]) -> ProjectVar:
    secret = bool(spec.get("secret"))
    value = None if secret else str(spec.get("value") or "")
    return ProjectVar(str(spec["name"]), value, secret, "manifest", None, str(spec.get("description") or ""))
