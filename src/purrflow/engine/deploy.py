"""A deployment's files: checked, staged with their manifest loaded, and kept as immutable folders.

Runners import a deployment from a folder on disk (`<data dir>/deployments/<id>`), written once from the
content-addressed files in the store and never changed afterwards; a lost folder is simply rewritten.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from purrflow.errors import DeploymentError, InvalidInputError, NotFoundError
from purrflow.manifest import Manifest, defined_names, find_manifest, load_manifest, parse_entrypoint
from purrflow.opsyml import check_ops_call, is_ops_call
from purrflow.store import Store

MAX_FILES = 1000
MAX_TOTAL_BYTES = 20 * 1024 * 1024
#: A file or folder name (NAME_MAX on Linux), in UTF-8 bytes.
MAX_NAME_BYTES = 255
#: A whole relative path: the data folder's own path comes on top of it, within PATH_MAX (4096).
MAX_PATH_BYTES = 1024


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

    def sweep_staging(self) -> int:
        """Remove the staging folders that deploys (`.staging-*`) and `ensure` (`.<deployment id>-*`) cut
        short left behind, and say how many. Deployment folders are never hidden, so every hidden folder
        here is one of those. For start-up only: a deploy in progress stages in such a folder too."""
        if not self.root.is_dir():
            return 0
        removed = 0
        with os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                    removed += not os.path.lexists(entry.path)
        return removed


def check_files(files: Mapping[str, bytes]) -> None:
    """Refuse paths that could escape the project folder, and oversized uploads."""
    if not files:
        raise InvalidInputError("the deployment has no files", hint="deploy a folder that holds purrflow.yaml")
    if len(files) > MAX_FILES:
        raise InvalidInputError(f"the deployment has {len(files)} files; the limit is {MAX_FILES}")
    total = sum(len(content) for content in files.values())
    if total > MAX_TOTAL_BYTES:
        raise InvalidInputError(f"the deployment is {total} bytes; the limit is {MAX_TOTAL_BYTES}")
    parts_of: dict[tuple[str, ...], str] = {}
    for path in files:
        parts = _checked_parts(path)
        if parts in parts_of:
            raise InvalidInputError(
                f"file paths {parts_of[parts]!r} and {path!r} name the same file", hint="give each file once"
            )
        parts_of[parts] = path
    for parts, path in parts_of.items():
        for end in range(1, len(parts)):
            if parts[:end] in parts_of:
                raise InvalidInputError(
                    f"the deployment has a file and a folder of the same name: {parts_of[parts[:end]]!r} and {path!r}",
                    hint="rename one of them: a path cannot be a file and a folder at once",
                )


def _checked_parts(path: str) -> tuple[str, ...]:
    """The parts of a deployed path that can be written inside the deployment's folder on any Linux."""
    pure = PurePosixPath(path)
    refused = f"file path {path!r} is not allowed"
    rename = "rename the file (or folder), or leave it out of the project"
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in path:
        raise InvalidInputError(refused, hint="paths must be relative and stay inside the project")
    for char in path:
        category = unicodedata.category(char)
        if category == "Cc":
            raise InvalidInputError(f"{refused}: it holds the control character {char!r}", hint=rename)
        if category == "Cs":
            raise InvalidInputError(f"{refused}: it is not valid text (a lone surrogate {char!r})", hint=rename)
    size = len(path.encode("utf-8"))
    if size > MAX_PATH_BYTES:
        raise InvalidInputError(f"{refused}: it is {size} bytes long; the limit is {MAX_PATH_BYTES} bytes", hint=rename)
    for part in pure.parts:
        size = len(part.encode("utf-8"))
        if size > MAX_NAME_BYTES:
            shown = repr(part) if len(part) <= 40 else f"{part[:40]!r}…"
            raise InvalidInputError(
                f"{refused}: the name {shown} is {size} bytes long; a file or folder name may have at most "
                f"{MAX_NAME_BYTES} bytes (UTF-8)",
                hint=rename,
            )
    return pure.parts


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
    try:
        names = defined_names(path)
    except (SyntaxError, ValueError) as err:  # (a file no trigger names is not parsed when it is deployed)
        at = f"{file}:{err.lineno}" if isinstance(err, SyntaxError) else file
        problem = err.msg if isinstance(err, SyntaxError) else str(err)
        raise DeploymentError(
            f"{loc!r}: {at} does not parse: {problem}", hint=f"fix {file} and deploy the project again"
        ) from None
    if function not in names:
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
    """A project folder's files as `{relative posix path: content}`, without caches and VCS folders.

    Nothing outside the folder is read: a link to a file inside it is uploaded as a copy of that file; a
    link to anything else (outside, a folder, nothing) is refused, named. Hidden and skipped folders
    (`.git`, `node_modules`, …) are not looked into, nor are hidden files; fifos and sockets are skipped."""
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} is not a folder", hint="pass the project folder that holds purrflow.yaml")
    find_manifest(folder)
    root = folder.resolve()
    files: dict[str, bytes] = {}
    for current, dirnames, filenames in os.walk(folder):  # links to folders are listed, never followed
        here = Path(current)
        kept = []
        for name in dirnames:
            if name in _SKIP_DIRS or name.startswith("."):
                continue
            if (here / name).is_symlink():
                _refuse_link(folder, here / name, root)
            kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            path = here / name
            if name.startswith(".") or name.endswith(".pyc"):
                continue
            if path.is_symlink():
                _refuse_link(folder, path, root)
            elif not path.is_file():
                continue  # a fifo or a socket: reading it could block, and it is no source file
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    check_files(files)
    return dict(sorted(files.items()))


def _refuse_link(folder: Path, link: Path, root: Path) -> None:
    """Return when `link` leads to a file inside the project folder (it is uploaded as a copy)."""
    relative = link.relative_to(folder).as_posix()
    target = link.resolve()
    points_to = os.readlink(link)
    if not target.is_relative_to(root):
        raise InvalidInputError(
            f"{relative} is a link to {points_to}, outside the project folder: nothing outside it is uploaded",
            hint="copy what it points to into the project, or remove the link",
        )
    if target.is_dir():
        raise InvalidInputError(
            f"{relative} is a link to the folder {points_to}; links to folders are not uploaded",
            hint="replace the link with the folder itself, or remove it",
        )
    if not target.is_file():
        raise InvalidInputError(
            f"{relative} is a link to {points_to}, which does not exist", hint="remove the link, or fix it"
        )
