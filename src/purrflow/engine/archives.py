"""A project uploaded as one archive (.zip, .tar.gz): its files, under the limits of any deployment.

Reading is bounded before anything is unpacked — at most MAX_FILES members and MAX_TOTAL_BYTES of content,
counted as bytes come out, so a small archive that inflates to gigabytes stops at the limit. Links,
devices and paths that leave the project are refused; the paths then go through `check_files` like any
other deployment's. An archive of one folder (`myproject/purrflow.yaml`, as `zip -r` or `tar czf` of a
folder makes it) is read as that folder's contents.
"""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO

from purrflow.engine.deploy import MAX_FILES, MAX_TOTAL_BYTES
from purrflow.errors import InvalidInputError, TooLargeError
from purrflow.manifest import MANIFEST_NAMES
from purrflow.opsyml import OPS_NAMES
from purrflow.rules.sizes import describe_size

_HINT = "upload a .zip or .tar.gz of the project folder (the one that holds purrflow.yaml)"


def files_of_archive(filename: str, data: bytes) -> dict[str, bytes]:
    """The files of an uploaded archive, by their path in the project (raises InvalidInputError)."""
    if not data:
        raise InvalidInputError(f"the upload {filename!r} is empty", hint=_HINT)
    members = _zip_members(data) if zipfile.is_zipfile(io.BytesIO(data)) else _tar_members(filename, data)
    files: dict[str, bytes] = {}
    total = 0
    for path, handle in members:
        if len(files) == MAX_FILES:
            raise InvalidInputError(
                f"the archive {filename!r} has more than {MAX_FILES} files; the limit is {MAX_FILES}"
            )
        content = handle.read(MAX_TOTAL_BYTES - total + 1)
        total += len(content)
        if total > MAX_TOTAL_BYTES:
            raise TooLargeError(
                f"the archive {filename!r} unpacks to more than {describe_size(MAX_TOTAL_BYTES)},"
                " the limit of a deployment",
                hint="keep large data out of the project folder (fetch it at run time), or split the project",
            )
        files[_project_path(filename, path)] = content
    if not files:
        raise InvalidInputError(f"the archive {filename!r} holds no files", hint=_HINT)
    return _without_common_folder(files)


def _zip_members(data: bytes) -> Iterator[tuple[str, IO[bytes]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        for info in archive.infolist():
            if info.is_dir():
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise InvalidInputError(
                    f"the archive holds a link, {info.filename!r}", hint="archive the files themselves"
                )
            with archive.open(info) as handle:
                yield info.filename, handle
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as err:
        raise InvalidInputError(f"the .zip archive cannot be read: {err}", hint=_HINT) from None


def _tar_members(filename: str, data: bytes) -> Iterator[tuple[str, IO[bytes]]]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive:
                if member.isdir():
                    continue
                if not member.isfile():
                    what = "a link" if member.issym() or member.islnk() else "a device or other special file"
                    raise InvalidInputError(
                        f"the archive holds {what}, {member.name!r}", hint="archive the files themselves"
                    )
                handle = archive.extractfile(member)
                assert handle is not None  # a regular file always has content
                yield member.name, handle
    except (tarfile.TarError, EOFError, OSError) as err:  # a damaged .tar.gz fails in zlib/gzip: OSError
        raise InvalidInputError(
            f"{filename!r} cannot be read as a .zip or .tar.gz archive ({err})", hint=_HINT
        ) from None


def _project_path(filename: str, name: str) -> str:
    """The member's path inside the project; one that would leave it (absolute, `..`) is refused here."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise InvalidInputError(
            f"the archive {filename!r} holds {name!r}, a path outside the project",
            hint="archive the project folder with relative paths (e.g. `tar czf project.tar.gz -C myproject .`)",
        )
    return pure.as_posix()


def _without_common_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """An archive of one folder, without a manifest at its root, read as that folder's contents."""
    if any(path in MANIFEST_NAMES + OPS_NAMES for path in files):
        return files
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) != 1 or any("/" not in path for path in files):
        return files
    return {path.split("/", 1)[1]: content for path, content in files.items()}
