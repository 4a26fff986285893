"""Deployment files: which paths can be deployed, what a project folder uploads, leftover staging folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from purrflow.engine.deploy import DeploymentFiles, check_files, collect_files, stage
from purrflow.errors import InvalidInputError
from purrflow.store import open_store

MANIFEST = b"version: v1\nproject:\n  name: p\n"


@pytest.mark.parametrize(
    ("paths", "words"),
    [
        (["lib", "lib/util.py"], ["'lib'", "'lib/util.py'", "a file and a folder"]),
        (["lib/util.py", "lib"], ["'lib'", "'lib/util.py'"]),
        (["a/b/c.py", "a/b"], ["'a/b'", "'a/b/c.py'"]),
        (["x" * 256 + ".py"], ["255 bytes"]),
        (["d/" + "é" * 128 + "/f.py"], ["255 bytes"]),  # 256 bytes in UTF-8
        (["a\nb.py"], ["control character", "'a\\nb.py'"]),
        (["a\tb.py"], ["control character"]),
        (["a\x7fb.py"], ["control character"]),
        (["a\x85b.py"], ["control character"]),
        (["a\ud800.py"], ["not valid"]),
        (["/".join(["d"] * 600) + ".py"], ["1024 bytes"]),
    ],
)
def test_paths_that_cannot_be_written_are_refused(paths: list[str], words: list[str]) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_files({"purrflow.yaml": MANIFEST, **dict.fromkeys(paths, b"x")})
    text = f"{refused.value.message} {refused.value.hint}"
    for word in words:
        assert word in text, text


def test_ordinary_paths_are_fine() -> None:
    check_files({"purrflow.yaml": MANIFEST, "lib/util.py": b"", "lib/more/x.py": b"", "n" * 255: b"", "ünï.py": b""})


def test_a_refused_path_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        stage(tmp_path, {"purrflow.yaml": MANIFEST, "a": b"x", "a/b": b"y"})
    assert list(tmp_path.iterdir()) == []


def project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "purrflow.yaml").write_bytes(MANIFEST)
    (folder / "program.py").write_text("def main(event): pass\n")
    return folder


def test_links_to_files_inside_the_folder_are_uploaded_as_copies(tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    (folder / "lib").mkdir()
    (folder / "lib" / "same.py").symlink_to("../program.py")
    os.mkfifo(folder / "pipe")  # neither a file nor a folder: skipped (reading it would block)
    files = collect_files(folder)
    assert files == {
        "lib/same.py": b"def main(event): pass\n",
        "program.py": files["program.py"],
        "purrflow.yaml": MANIFEST,
    }


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("secret.txt", "../outside/secret.txt"),  # a file outside
        ("etc", "../outside"),  # a folder outside
        ("hostname", "/etc/hostname"),  # an absolute link
        ("dangling.py", "missing.py"),  # nothing
        ("loop", "."),  # a folder inside: its files would be uploaded twice (or forever)
    ],
)
def test_links_that_lead_out_of_the_folder_are_refused(tmp_path: Path, name: str, target: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not upload")
    folder = project(tmp_path / "p")
    (folder / "sub").mkdir()
    (folder / "sub" / name).symlink_to(target if target.startswith("/") or target == "." else f"../{target}")
    with pytest.raises(InvalidInputError) as refused:
        collect_files(folder)
    assert f"sub/{name}" in refused.value.message
    assert refused.value.hint


def test_skipped_folders_are_not_looked_into(tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    (folder / ".venv").symlink_to(tmp_path)  # a link to a virtualenv elsewhere is skipped like the folder
    (folder / "node_modules").mkdir()
    (folder / "node_modules" / "x").symlink_to("/etc/hostname")
    assert sorted(collect_files(folder)) == ["program.py", "purrflow.yaml"]


def test_sweep_staging_removes_what_a_cut_short_deploy_left(tmp_path: Path) -> None:
    store = open_store(tmp_path / "purrflow.db")
    try:
        root = tmp_path / "deployments"
        files = DeploymentFiles(store, root)
        assert files.sweep_staging() == 0  # no folder yet
        kept = root / "dep_1"
        kept.mkdir(parents=True)
        (kept / "program.py").write_text("x")
        for leftover in (".staging-abc123", ".staging-x/deep/er", ".dep_2-k3j4h5"):
            (root / leftover).mkdir(parents=True)
            (root / leftover / "file.py").write_text("x")
        (root / ".staging-file").write_text("a file, not a folder of ours")
        (root / ".staging-link").symlink_to(kept)
        assert files.sweep_staging() == 3
        assert sorted(p.name for p in root.iterdir()) == [".staging-file", ".staging-link", "dep_1"]
        assert (kept / "program.py").read_text() == "x"
    finally:
        store.close()
