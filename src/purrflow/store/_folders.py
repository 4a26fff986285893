"""The files of carried folders: a session's folders, kept in the store where its runs move between
workers (services/carried_folders.py says why and when). They go with their owner: `delete_sessions`
and `delete_project` remove them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from purrflow.store._db import Database


@dataclass(frozen=True, slots=True)
class CarriedFile:
    """One entry of a carried folder: `path` is relative, `/`-separated; `kind` is "file", "dir" or
    "link"; `content` is a file's bytes or a link's target (empty for a folder)."""

    path: str
    kind: str
    mode: int
    size: int
    mtime_ns: int
    content: bytes


class FolderStore(Database):
    def carried_files(self, folder: str) -> list[CarriedFile]:
        """Every entry kept of `folder`, parents before their children."""
        rows = self._all("SELECT path, kind, mode, size, mtime_ns, content FROM carried_files WHERE folder = ?", folder)
        entries = [
            CarriedFile(row[0], row[1], int(row[2]), int(row[3]), int(row[4]), self._open(row[5])) for row in rows
        ]
        return sorted(entries, key=lambda entry: (entry.path.count("/"), entry.path))  # (whatever the collation)

    def keep_carried_files(
        self, folder: str, owner_id: str, changed: Iterable[CarriedFile], gone: Iterable[str]
    ) -> None:
        """Write what changed in `folder` (of `owner_id`: the session or project it goes with) and remove
        what went; entries nobody touched stay as they are (so two workers' changes to different files of
        one folder both hold)."""
        for entry in changed:
            self._exec(
                "INSERT INTO carried_files (folder, path, owner_id, kind, mode, size, mtime_ns, content)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (folder, path) DO UPDATE SET kind = excluded.kind,"
                " mode = excluded.mode, size = excluded.size, mtime_ns = excluded.mtime_ns, content = excluded.content",
                folder, entry.path, owner_id, entry.kind, entry.mode, entry.size, entry.mtime_ns,
                self._seal(entry.content),
            )  # fmt: skip
        for path in gone:
            self._exec("DELETE FROM carried_files WHERE folder = ? AND path = ?", folder, path)
