"""A deployment's files: checked, staged with their manifest loaded, and kept as immutable folders.

Runners import a deployment from a folder on disk (`<data dir>/deployments/<id>`), written once from the
content-addressed files in the store and never changed afterwards; a lost folder is simply rewritten.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from purrflow.errors import DeploymentError, InvalidInputError, NotFoundError
from purrflow.manifest import Manifest, defined_names, find_manifest, load_manifest, parse_entrypoint
from purrflow.opsyml import check_ops_call, is_ops_call
from purrflow.store import Store

MAX_FILES = 1000
MAX_TOTAL_BYTES = 20 * 1024 * 1024


class DeploymentFiles:
    """The on-disk folders runners import deployments from."""

    def __init__(self, store: Store, root: Path) -> None:
        self._store = store
        self.root = root

    def ensure(self, deployment_id: str) -> Path:
        folder = self.root / deployment_id
        if folder.is_dir():
            return folder
        files = self._store.deployment_files(deployment_id)
        if not files and self._store.get_deployment(deployment_id) is None:
            raise NotFoundError(f"deployment {deployment_id} does not exist")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{deployment_id}-", dir=self.root))
        write_files(staging, files)
        try:
            os.rename(staging, folder)
        except OSError:  # another writer won the race; theirs is identical
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    def adopt(self, staging: Path, deployment_id: str) -> Path:
        folder = self.root / deployment_id
        os.rename(staging, folder)
        return folder


def check_files(files: Mapping[str, bytes]) -> None:
    """Refuse paths that could escape the project folder, and oversized uploads."""
    if not files:
        raise InvalidInputError("the deployment has no files", hint="deploy a folder that holds purrflow.yaml")
    if len(files) > MAX_FILES:
        raise InvalidInputError(f"the deployment has {len(files)} files; the limit is {MAX_FILES}")
    total = sum(len(content) for content in files.values())
    if total > MAX_TOTAL_BYTES:
        raise InvalidInputError(f"the deployment is {total} bytes; the limit is {MAX_TOTAL_BYTES}")
    for path in files:
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in path or "\x00" in path:
            raise InvalidInputError(
                f"file path {path!r} is not allowed",
                hint="paths must be relative and stay inside the project",
            )


def write_files(folder: Path, files: Mapping[str, bytes]) -> None:
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def stage(root: Path, files: Mapping[str, bytes], name: str | None = None) -> tuple[Path, Manifest]:
    """Write the files to a fresh folder and load its manifest (errors name file, line and field).

    `name` names a project whose only manifest is an ops.yml."""
    check_files(files)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        write_files(staging, files)
        manifest = load_manifest(staging, name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, manifest


def trigger_rows(manifest: Manifest) -> list[tuple[str, str, dict[str, object]]]:
    rows: list[tuple[str, str, dict[str, object]]] = []
    for trigger in manifest.project.triggers:
        spec = trigger.model_dump(mode="json", exclude={"name", "kind", "line", "call_line"})
        rows.append((trigger.name, trigger.kind, spec))
    return rows


def check_entrypoint(project_dir: Path, loc: str) -> None:
    """`loc` must name a function defined in a file of this deployment (checked without importing),
    or a command, pipeline or job of its ops.yml (`ops:…`)."""
    if is_ops_call(loc):
        check_ops_call(project_dir, loc)
        return
    file, function = parse_entrypoint(loc)
    path = (project_dir / file).resolve()
    if not path.is_relative_to(project_dir.resolve()):
        raise InvalidInputError(f"{loc!r} points outside the project", hint="use a file inside the project folder")
    if not path.is_file():
        raise DeploymentError(f"{loc!r}: the project has no file {file!r}")
    if function not in defined_names(path):
        raise DeploymentError(
            f"{loc!r}: {file} defines no function {function!r}",
            hint=f"define `def {function}(event):` in {file}",
        )


_SKIP_DIRS = {
    ".git",
    "__pycache__",
    ".venv",
    "venv",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
}


def collect_files(folder: Path) -> dict[str, bytes]:
    """A project folder's files as `{relative posix path: content}`, without caches and VCS folders."""
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} is not a folder", hint="pass the project folder that holds purrflow.yaml")
    find_manifest(folder)
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        if path.is_file() and path.suffix != ".pyc" and not path.name.startswith("."):
            files[relative.as_posix()] = path.read_bytes()
    check_files(files)
    return files
