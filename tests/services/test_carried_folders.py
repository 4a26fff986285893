"""Carried folders over a real store, with two data folders standing for two workers' disks: what one kept,
the other lays out; changes to different files of one folder both hold; nothing follows a link."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.secretbox import SecretBox
from purrflow.errors import FolderLimitError, InternalError
from purrflow.services.carried_folders import CarriedFolders, FolderLimits, FolderUse
from purrflow.store import CarriedFile, Store, open_store

RUN = "ses_run"
KEY = f"state/team/{RUN}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "purrflow.db", cipher=SecretBox.load(tmp_path).data_cipher())
    yield opened
    opened.close()


class Worker:
    """One worker's side: its own data folder, the shared store."""

    def __init__(self, root: Path, store: Store, limits: FolderLimits | None = None) -> None:
        self.data_dir = root
        (root / "state" / "team").mkdir(parents=True)
        self.committer = GroupCommitter(store)
        self.folders = CarriedFolders(store, self.committer, root, limits=limits or FolderLimits())
        self.folder = root / KEY

    def arrive(self, session_id: str) -> Path:
        self.folders.arrive(session_id, [FolderUse(self.folder, RUN, f"the state folder of {RUN}")], None)
        return self.folder

    async def keep(self, session_id: str) -> None:
        self.folders.keep(session_id)
        await self.committer.flushed()


def run(scenario: Callable[[], object]) -> None:
    async def main() -> None:
        await scenario()  # type: ignore[misc]

    asyncio.run(main())


def tree(folder: Path) -> dict[str, tuple[str, int, str]]:
    """Each entry: its kind, its mode, and its content (a file's) or target (a link's)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[rel] = ("link", 0, os.readlink(path))
        elif path.is_dir():
            found[rel] = ("dir", path.stat().st_mode & 0o777, "")
        else:
            found[rel] = ("file", path.stat().st_mode & 0o777, path.read_text())
    return found


def test_what_one_worker_kept_the_next_lays_out_as_it_was_and_a_worker_keeps_no_copy_once_done(
    tmp_path: Path, store: Store
) -> None:
    async def scenario() -> None:
        a, b = Worker(tmp_path / "a", store), Worker(tmp_path / "b", store)
        folder = a.arrive("ses_1")
        (folder / "notes" / "empty").mkdir(parents=True)
        (folder / "notes" / "first.txt").write_text("first")
        (folder / "notes" / "first.txt").chmod(0o640)
        (folder / "run.sh").write_text("#!/bin/sh\n")
        (folder / "run.sh").chmod(0o755)
        (folder / "shared").mkdir(mode=0o777)
        (folder / "shared").chmod(0o777)  # (past the umask: laid out as it was, not as a new folder would be)
        (folder / "frozen").mkdir()
        (folder / "frozen" / "kept.txt").write_text("in a read-only folder")
        (folder / "frozen").chmod(0o555)
        (folder / "latest").symlink_to("notes/first.txt")
        written = tree(folder)
        mtime = (folder / "notes" / "first.txt").stat().st_mtime_ns
        await a.keep("ses_1")
        a.folders.leave("ses_1")
        assert not folder.exists(), "the worker's copy goes once no runner of it uses the folder"

        laid_out = b.arrive("ses_1")
        assert tree(laid_out) == written
        assert (laid_out / "notes" / "first.txt").stat().st_mtime_ns == mtime
        assert (laid_out / "latest").read_text() == "first"

    run(scenario)


def test_two_workers_changing_different_files_of_one_folder_both_keep_them_and_a_removal_is_kept(
    tmp_path: Path, store: Store
) -> None:
    async def scenario() -> None:
        a, b = Worker(tmp_path / "a", store), Worker(tmp_path / "b", store)
        (a.arrive("ses_parent") / "from-a").write_text("a")
        (b.arrive("ses_child") / "from-b").write_text("b")
        await a.keep("ses_parent")
        await b.keep("ses_child")
        assert set(tree(Worker(tmp_path / "c", store).arrive("ses_later"))) == {"from-a", "from-b"}

        (a.folder / "from-a").unlink()
        await a.keep("ses_parent")
        await b.keep("ses_child")  # b still has nothing new: it removes nothing of a's, and keeps its own
        assert tree(Worker(tmp_path / "d", store).arrive("ses_later")) == {"from-b": ("file", 0o644, "b")}

    run(scenario)


def test_a_rewrite_that_keeps_the_size_and_the_mtime_is_still_seen_when_it_came_within_a_clock_tick(
    tmp_path: Path, store: Store
) -> None:
    async def scenario() -> None:
        a = Worker(tmp_path / "a", store)
        note = a.arrive("ses_1") / "note"
        note.write_text("aaaa")
        await a.keep("ses_1")
        stamp = note.stat().st_mtime_ns
        note.write_text("bbbb")
        os.utime(note, ns=(stamp, stamp))  # the file system's clock did not move between the two writes
        await a.keep("ses_1")
        assert [entry.content for entry in store.carried_files(KEY)] == [b"bbbb"]

    run(scenario)


def test_a_folder_the_sessions_code_removed_is_kept_as_empty(tmp_path: Path, store: Store) -> None:
    async def scenario() -> None:
        a = Worker(tmp_path / "a", store)
        folder = a.arrive("ses_1")
        (folder / "note").write_text("soon gone")
        await a.keep("ses_1")
        (folder / "note").unlink()
        folder.rmdir()  # as `shutil.rmtree(os.environ["SDK_STATE_DIR"])` would
        await a.keep("ses_1")
        assert store.carried_files(KEY) == []
        a.folders.leave("ses_1")

    run(scenario)


def test_a_folder_past_its_limit_is_refused_with_its_size_and_what_was_kept_before_stays(
    tmp_path: Path, store: Store
) -> None:
    async def scenario() -> None:
        a = Worker(tmp_path / "a", store, limits=FolderLimits(bytes=1 << 20, entries=100))
        folder = a.arrive("ses_1")
        (folder / "small").write_text("kept")
        await a.keep("ses_1")
        (folder / "big").write_bytes(b"x" * (2 << 20))
        with pytest.raises(FolderLimitError) as refused:
            a.folders.keep("ses_1")
        assert "holds 2.0 MiB in 2 entries, over the 1.0 MiB and 100 entries" in refused.value.message
        assert "--carried-folder-limit" in str(refused.value.hint)
        await a.committer.flushed()
        assert [entry.path for entry in store.carried_files(KEY)] == ["small"]

        (folder / "big").unlink()
        for n in range(101):
            (folder / f"many-{n}").touch()
        with pytest.raises(FolderLimitError, match="in 102 entries"):
            a.folders.keep("ses_1")
        for n in range(101):
            (folder / f"many-{n}").unlink()
        (folder / "small").write_text("changed, and kept again")
        await a.keep("ses_1")
        assert [entry.content for entry in store.carried_files(KEY)] == [b"changed, and kept again"]

    run(scenario)


def test_links_are_kept_as_links_and_the_walk_never_reads_through_one(tmp_path: Path, store: Store) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("hunter2")

    async def scenario() -> None:
        a = Worker(tmp_path / "a", store)
        folder = a.arrive("ses_1")
        (folder / "leak").symlink_to(secret)
        (folder / "leak-dir").symlink_to(secret.parent)
        await a.keep("ses_1")
        kept = {entry.path: (entry.kind, entry.content) for entry in store.carried_files(KEY)}
        assert kept == {"leak": ("link", str(secret).encode()), "leak-dir": ("link", str(secret.parent).encode())}

        # The team's code swaps its whole folder for a link to somewhere else: the walk does not enter it.
        (folder / "leak").unlink()
        (folder / "leak-dir").unlink()
        folder.rmdir()
        folder.symlink_to(secret.parent)
        await a.keep("ses_1")
        assert store.carried_files(KEY) == []
        a.folders.leave("ses_1")
        assert secret.read_text() == "hunter2", "removing the worker's copy did not follow the link either"

    run(scenario)


def test_stored_entries_cannot_make_the_layout_write_outside_the_folder(tmp_path: Path, store: Store) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    now = time.time_ns()

    def stored(*entries: CarriedFile) -> None:
        store.keep_carried_files(KEY, RUN, entries, [])
        store.commit()

    async def scenario() -> None:
        stored(
            CarriedFile("a", "link", 0o777, 0, 0, str(outside).encode()),
            CarriedFile("a/planted", "file", 0o644, 5, now, b"owned"),
        )
        with pytest.raises(OSError):
            Worker(tmp_path / "a", store).arrive("ses_1")
        assert not (outside / "planted").exists()

        store.keep_carried_files(KEY, RUN, [], ["a", "a/planted"])
        stored(CarriedFile("../escape", "file", 0o644, 5, now, b"owned"))
        with pytest.raises(InternalError, match="leaves its folder"):
            Worker(tmp_path / "b", store).arrive("ses_1")
        assert not (tmp_path / "b" / "state" / "team" / "escape").exists()

    run(scenario)


def test_a_folder_the_sandbox_binds_itself_keeps_its_inode_through_layouts_and_leaves(
    tmp_path: Path, store: Store
) -> None:
    """A project's config folder is bound as it is into warm runners: making it again would leave them
    writing into a folder that is gone."""

    async def scenario() -> None:
        config = tmp_path / "a" / "workflow-config" / "prj_1"
        config.mkdir(parents=True)
        inode = config.stat().st_ino
        a = Worker(tmp_path / "a", store)
        use = FolderUse(config, "prj_1", "the config folder of prj_1", stays=True)
        a.folders.arrive("ses_1", [use], None)
        (config / "config.json").write_text("{}")
        (config / "sub").mkdir()
        await a.keep("ses_1")
        a.folders.leave("ses_1")
        assert config.stat().st_ino == inode and list(config.iterdir()) == []

        a.folders.arrive("ses_2", [use], None)
        assert config.stat().st_ino == inode
        assert tree(config) == {"config.json": ("file", 0o644, "{}"), "sub": ("dir", 0o755, "")}

    run(scenario)


def test_a_folder_that_could_not_be_laid_out_is_laid_out_again_by_the_next_runner(tmp_path: Path, store: Store) -> None:
    async def scenario() -> None:
        store.keep_carried_files(KEY, RUN, [CarriedFile("../escape", "file", 0o644, 1, 1, b"x")], [])
        store.commit()
        a = Worker(tmp_path / "a", store)
        with pytest.raises(InternalError):
            a.arrive("ses_1")
        a.folders.leave("ses_1")
        store.keep_carried_files(KEY, RUN, [CarriedFile("note", "file", 0o644, 4, 1, b"kept")], ["../escape"])
        store.commit()
        assert tree(a.arrive("ses_2")) == {"note": ("file", 0o644, "kept")}

    run(scenario)
