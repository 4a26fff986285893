"""Reading an uploaded project archive: its files, the limits of a deployment, and what it may not hold."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from purrflow.engine.archives import files_of_archive
from purrflow.engine.deploy import MAX_FILES, MAX_TOTAL_BYTES
from purrflow.errors import InvalidInputError, TooLargeError


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz(members: list[tarfile.TarInfo], contents: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info in members:
            data = (contents or {}).get(info.name)
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def regular(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def test_a_zip_and_a_tar_gz_give_the_same_files() -> None:
    files = {"purrflow.yaml": b"version: v1\n", "pkg/mod.py": b"x = 1\n"}
    assert files_of_archive("p.zip", zipped(files)) == files
    assert files_of_archive("p.tar.gz", tar_gz([regular(n) for n in files], files)) == files


def test_an_archive_of_one_folder_is_read_as_its_contents() -> None:
    files = {"shop/purrflow.yaml": b"version: v1\n", "shop/lib/a.py": b""}
    assert files_of_archive("shop.zip", zipped(files)) == {"purrflow.yaml": b"version: v1\n", "lib/a.py": b""}
    # a project whose root holds its manifest keeps its folders as they are
    rooted = {"purrflow.yaml": b"", "lib/a.py": b""}
    assert files_of_archive("r.zip", zipped(rooted)) == rooted


@pytest.mark.parametrize("name", ["../escape.py", "/etc/passwd", "a/../../b.py"])
def test_paths_outside_the_project_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError, match="a path outside the project"):
        files_of_archive("bad.zip", zipped({"purrflow.yaml": b"", name: b"x"}))


def test_links_and_devices_in_a_tar_are_refused() -> None:
    link = tarfile.TarInfo("secrets.py")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    with pytest.raises(InvalidInputError, match=r"holds a link, 'secrets\.py'"):
        files_of_archive("l.tar.gz", tar_gz([link]))
    device = tarfile.TarInfo("null")
    device.type = tarfile.CHRTYPE
    with pytest.raises(InvalidInputError, match="a device or other special file"):
        files_of_archive("d.tar.gz", tar_gz([device]))


def test_an_archive_that_inflates_past_the_limit_stops_at_it() -> None:
    bomb = zipped({"purrflow.yaml": b"", "zeros.bin": b"\0" * (MAX_TOTAL_BYTES + 1)})
    assert len(bomb) < MAX_TOTAL_BYTES // 100  # small on the wire
    with pytest.raises(TooLargeError, match="unpacks to more than"):
        files_of_archive("bomb.zip", bomb)


def test_too_many_files_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=f"more than {MAX_FILES} files"):
        files_of_archive("many.zip", zipped({f"f{n}.py": b"" for n in range(MAX_FILES + 1)}))


@pytest.mark.parametrize(
    "data",
    [b"", b"plain text, not an archive", zipped({"a": b"x"})[:-30]],
    ids=["empty", "plain text", "a cut zip"],  # (a zip's bytes hold its time: every test worker must see one id)
)
def test_what_is_not_a_readable_archive_says_so(data: bytes) -> None:
    with pytest.raises(InvalidInputError, match=r"is empty|cannot be read"):
        files_of_archive("upload.zip", data)
