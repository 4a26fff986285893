"""Carried folders: the folders a session's runner writes, kept in the store where its runs move between
workers.

On one machine, a run's state folder (`SDK_STATE_DIR`, shared by every session its first session starts)
and its project's CTO.ai config folder (`SDK_CONFIG_DIR`) are folders of the data folder that outlive any
runner. On a scaled platform each stretch of a session may run on another worker, so there these folders
live in the store, and a worker holds a copy only while one of its runners uses it:

- before a runner starts (`arrive`), each folder it uses is laid out from the store — unless another
  runner on this worker uses it already, and then the copy here is as new as the store's, or newer;
- at each step the runner reaches (`keep`, called by the driver before it journals the step), what changed
  in the folder since it was laid out or last kept is written in the step's commit. A journaled step has
  its files kept with it, so a worker killed later loses none of them; the step in flight's writes happen
  again, with the step;
- once no runner here uses a folder (`leave`), the copy is removed: the store's is the folder.

A change is found by a walk that compares each entry's kind, mode, size, mtime and inode with what was seen
last; a file whose mtime is too recent to tell by (a file system's clock ticks coarser than writes come) is
read and compared by digest. Only changed entries are written, and entries nobody changed stay: two
sessions of one run on two workers that write different files of their folder both keep them; two that
write the same file, the later step wins.

The walk and the layout run as the server's user over folders the team's code writes, so neither follows
a symbolic link: every entry is opened relative to its parent's descriptor with O_NOFOLLOW, and a link is
kept as a link (its target as text), never read through.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from purrflow.engine.commit import GroupCommitter
from purrflow.errors import FolderLimitError, InternalError, InvalidInputError
from purrflow.store import CarriedFile, Store

#: A file modified this close to when its folder was last looked at may have changed within one tick of
#: the file system's clock: it is read and compared.
_RACY_NS = 50_000_000
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIRECTORY = _READ | os.O_DIRECTORY
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class FolderLimits:
    """What one carried folder may hold: each step's changes are written in its commit, and a runner's
    start lays the whole folder out. Each step also walks the folder on the worker's loop (a stat an
    entry, about a microsecond each), which is what bounds its entries."""

    bytes: int = 64 * 1024 * 1024
    entries: int = 1_000


@dataclass(frozen=True)
class FolderUse:
    """A folder a session's runner uses: where it is here, whose it is (the session or project it is
    deleted with), and what to call it in an error."""

    path: Path
    owner_id: str
    label: str
    #: The runners' sandbox binds this folder itself (not its parent), warm zygotes included, so it is never
    #: removed or made again here: only what is in it comes and goes.
    stays: bool = False


@dataclass(frozen=True, slots=True)
class _Seen:
    kind: str
    mode: int
    size: int
    mtime_ns: int
    ino: int
    #: A file's content digest; a link's target.
    digest: bytes


@dataclass
class _Folder:
    use: FolderUse
    key: str
    users: set[str] = field(default_factory=set)
    #: The entries as last laid out or kept; None when that is not known (a commit failed), and then the
    #: store's are read instead.
    seen: dict[str, _Seen] | None = None
    looked_at_ns: int = 0

    def forget_seen(self) -> None:
        """What was kept last did not commit: the next step compares with the store's copy."""
        self.seen = None


class CarriedFolders:
    """This worker's copies of carried folders, and the store's, kept equal step by step."""

    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        data_dir: Path,
        *,
        limits: FolderLimits = FolderLimits(),
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._store = store
        self._committer = committer
        self._data_dir = data_dir
        self._limits = limits
        self._clock_ns = clock_ns
        self._folders: dict[str, _Folder] = {}
        self._uses: dict[str, list[str]] = {}

    def arrive(self, session_id: str, uses: list[FolderUse], uid: int | None) -> None:
        """Lay out the folders a session's runner is about to use (owned by `uid`, the team's user, when
        runners are sandboxed)."""
        keys = self._uses.setdefault(session_id, [])  # (so that `leave` frees what was laid out before a failure)
        for use in uses:
            key = use.path.relative_to(self._data_dir).as_posix()
            folder = self._folders.get(key)
            if folder is None:
                folder = _Folder(use, key)
                self._lay_out(folder, uid)  # (a folder that could not be laid out is not taken as there)
                self._folders[key] = folder
            if key not in keys:
                folder.users.add(session_id)
                keys.append(key)

    def keep(self, session_id: str) -> None:
        """Write what changed in the session's folders since they were last kept, in the caller's commit.
        A folder past its limits is not written, and `FolderLimitError` says which and by how much."""
        for key in self._uses.get(session_id, ()):
            folder = self._folders[key]
            now = self._clock_ns()
            seen = folder.seen if folder.seen is not None else self._stored(key)
            current, changed = self._changes(folder, seen)
            self._check_limits(folder, current)
            gone = [path for path in seen if path not in current]
            if changed or gone:
                with self._committer.write():
                    self._store.keep_carried_files(key, folder.use.owner_id, changed, gone)
                self._committer.after_commit(_nothing, on_abort=folder.forget_seen)
            folder.seen, folder.looked_at_ns = current, now

    def leave(self, session_id: str) -> None:
        """A session's runner has ended: the folders no runner here uses any more are removed here."""
        for key in self._uses.pop(session_id, ()):
            folder = self._folders[key]
            folder.users.discard(session_id)
            if not folder.users:
                del self._folders[key]
                if not folder.use.stays:
                    _remove(folder.use.path)
                elif _is_folder(folder.use.path):
                    with _opened(folder.use.path) as top:
                        _empty(top)

    # -- laying out ------------------------------------------------------------------------------
    def _lay_out(self, folder: _Folder, uid: int | None) -> None:
        """The store's copy of the folder, here, owned by `uid`. With none stored, a folder left here (by a
        server that ran sessions before this platform carried folders) is taken as it is, and kept at the
        next step."""
        entries = self._store.carried_files(folder.key)
        path = folder.use.path
        there = _is_folder(path)
        folder.looked_at_ns = self._clock_ns()
        if not entries and there:
            folder.seen = {}
            return
        if not (folder.use.stays and there):
            _remove(path)
            parent = os.open(path.parent, _DIRECTORY)
            try:
                os.mkdir(path.name, 0o700, dir_fd=parent)
                if uid is not None:
                    os.chown(path.name, uid, uid, dir_fd=parent, follow_symlinks=False)
            finally:
                os.close(parent)
        with _opened(path) as top:
            _empty(top)
            folder.seen = {entry.path: _write_entry(top, entry, uid) for entry in entries}
            for entry in reversed(entries):  # children first
                if entry.kind == "dir":
                    _set_mode(top, entry)

    def _stored(self, key: str) -> dict[str, _Seen]:
        """The store's entries as if seen here (no inode: each file is read and compared once)."""
        seen = {}
        for entry in self._store.carried_files(key):
            digest = _digest(entry.content) if entry.kind == "file" else entry.content
            seen[entry.path] = _Seen(entry.kind, entry.mode, entry.size, entry.mtime_ns, 0, digest)
        return seen

    # -- keeping ---------------------------------------------------------------------------------
    def _changes(self, folder: _Folder, seen: dict[str, _Seen]) -> tuple[dict[str, _Seen], list[CarriedFile]]:
        """The folder's entries now, and those of them that changed (with their contents)."""
        current: dict[str, _Seen] = {}
        changed: list[CarriedFile] = []
        racy_after = folder.looked_at_ns - _RACY_NS
        try:
            self._look(folder, seen, racy_after, current, changed)
        except PermissionError as err:  # (only when the server does not run as root: unsandboxed)
            raise InvalidInputError(
                f"{folder.use.label}: the server cannot read {err.filename or 'an entry'} ({err.strerror}), so it"
                " cannot carry the folder to the next worker; its changes since the last step were not kept",
                hint="leave what is in the folder readable by its owner",
            ) from None
        return current, changed

    def _look(
        self,
        folder: _Folder,
        seen: dict[str, _Seen],
        racy_after: int,
        current: dict[str, _Seen],
        changed: list[CarriedFile],
    ) -> None:
        for rel, name, dir_fd, st in _walk(folder.use.path):
            before = seen.get(rel)
            if stat.S_ISDIR(st.st_mode):
                now = _seen_of(st, "dir", b"")
                content = b""
            elif stat.S_ISLNK(st.st_mode):
                try:
                    content = os.fsencode(os.readlink(name, dir_fd=dir_fd))
                except FileNotFoundError:
                    continue  # it went since it was listed
                now = _seen_of(st, "link", content)
            else:
                same_stat = (
                    before is not None
                    and before.kind == "file"
                    and (before.mode, before.size, before.mtime_ns, before.ino)
                    == (stat.S_IMODE(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ino)
                )
                if same_stat and before is not None and st.st_mtime_ns < racy_after:
                    current[rel] = before
                    continue
                read = _read_file(name, dir_fd, st, self._limits.bytes)
                if read is None:
                    continue  # it went, or is no longer a plain file: the next step sees what it became
                content, st = read
                now = _seen_of(st, "file", _digest(content))
            current[rel] = now
            if before is None or _kept_as(before) != _kept_as(now):
                changed.append(CarriedFile(rel, now.kind, now.mode, now.size, now.mtime_ns, content))

    def _check_limits(self, folder: _Folder, current: dict[str, _Seen]) -> None:
        size = sum(entry.size for entry in current.values() if entry.kind == "file")
        limits = self._limits
        if size <= limits.bytes and len(current) <= limits.entries:
            return
        raise FolderLimitError(
            f"{folder.use.label} holds {_mib(size)} in {_entries(len(current))}, over the {_mib(limits.bytes)}"
            f" and {limits.entries:,} entries a scaled platform carries between workers; its changes since the"
            " last step were not kept",
            hint="keep large or many files elsewhere (an object store, a database) and their names in the folder,"
            " or raise the server's --carried-folder-limit",
        )


def _walk(top: Path) -> Iterator[tuple[str, str, int, os.stat_result]]:
    """Every entry under `top` (not `top` itself): its relative path, its name, its parent's descriptor
    and its own stat, parents first. Neither `top` nor anything in it is followed if it is a link; a `top`
    the team's code removed has nothing in it."""
    if not os.path.lexists(top):
        return
    for dir_path, dir_names, file_names, dir_fd in os.fwalk(top, follow_symlinks=False, onerror=_unreadable):
        rel_dir = os.path.relpath(dir_path, top)
        for name in (*dir_names, *file_names):
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                yield (name if rel_dir == "." else f"{rel_dir}/{name}"), name, dir_fd, st


def _unreadable(err: OSError) -> None:
    """A folder the walk cannot enter: one that went meanwhile has nothing in it; any other is an error
    (taking it as empty would remove what it holds from the store)."""
    if not isinstance(err, FileNotFoundError):
        raise err


def _read_file(name: str, dir_fd: int, st: os.stat_result, limit: int) -> tuple[bytes, os.stat_result] | None:
    """A plain file's content and stat, read through a descriptor that is not a link's; None when it
    changed into something else or went since it was listed."""
    try:
        fd = os.open(name, _READ, dir_fd=dir_fd)
    except PermissionError as err:
        err.filename = name
        raise
    except OSError:  # it went, or became a link (O_NOFOLLOW) since it was listed
        return None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or opened.st_ino != st.st_ino:
            return None
        if opened.st_size > limit:  # (its size alone refuses the folder: it is not read)
            return b"", opened
        with os.fdopen(os.dup(fd), "rb") as file:
            return file.read(), opened
    finally:
        os.close(fd)


def _write_entry(top: int, entry: CarriedFile, uid: int | None) -> _Seen:
    """Make one entry under the folder open as `top`, through its parents' descriptors. A folder is made
    open to this process (its children come next); `_set_mode` gives it its own mode after them."""
    with _parent_of(top, entry.path) as (parent, name):
        if entry.kind == "dir":
            os.mkdir(name, 0o700, dir_fd=parent)
            digest = b""
        elif entry.kind == "link":
            os.symlink(os.fsdecode(entry.content), name, dir_fd=parent)
            digest = entry.content
        else:
            fd = os.open(name, _CREATE, 0o600, dir_fd=parent)
            with os.fdopen(fd, "wb") as file:
                os.fchmod(fd, entry.mode & 0o777)  # (as it was, whatever this process's umask)
                file.write(entry.content)
                file.flush()
                os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))
            digest = _digest(entry.content)
        if uid is not None:
            os.chown(name, uid, uid, dir_fd=parent, follow_symlinks=False)
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
    return replace(_seen_of(st, entry.kind, digest), mode=entry.mode & 0o777)  # (a folder's, once set)


def _set_mode(top: int, entry: CarriedFile) -> None:
    """A laid out folder's own mode (a read-only one, say), once its children are in it."""
    with _parent_of(top, entry.path) as (parent, name), _opened(name, dir_fd=parent) as made:
        os.fchmod(made, entry.mode & 0o777)


@contextmanager
def _opened(path: Path | str, *, dir_fd: int | None = None) -> Iterator[int]:
    """A folder's descriptor, opened through no link."""
    fd = os.open(path, _DIRECTORY, dir_fd=dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _parent_of(top: int, path: str) -> Iterator[tuple[int, str]]:
    """The descriptor of the folder an entry's `path` is in, opened part by part from `top` through no
    link, and the entry's own name."""
    *parents, name = _checked_parts(path)
    parent = top
    try:
        for part in parents:
            opened = os.open(part, _DIRECTORY, dir_fd=parent)
            if parent != top:
                os.close(parent)
            parent = opened
        yield parent, name
    finally:
        if parent != top:
            os.close(parent)


def _checked_parts(path: str) -> list[str]:
    parts = path.split("/")
    if not path or path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise InternalError(f"a carried folder's entry has a path that leaves its folder: {path!r}")
    return parts


def _seen_of(st: os.stat_result, kind: str, digest: bytes) -> _Seen:
    """A folder or a link is the same while its mode (and a link's target) is: their sizes and times are
    not carried."""
    if kind != "file":
        return _Seen(kind, stat.S_IMODE(st.st_mode), 0, 0, st.st_ino, digest)
    return _Seen(kind, stat.S_IMODE(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ino, digest)


def _kept_as(seen: _Seen) -> tuple[str, int, bytes, int]:
    """What the store keeps of an entry (a file touched keeps its new mtime too)."""
    return seen.kind, seen.mode, seen.digest, seen.mtime_ns


def _digest(content: bytes) -> bytes:
    return hashlib.blake2b(content, digest_size=16).digest()


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def _empty(top: int) -> None:
    """Remove what is in the folder open as `top`, following no link."""
    for entry in os.scandir(top):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.name, dir_fd=top)
        else:
            os.unlink(entry.name, dir_fd=top)


def _remove(path: Path) -> None:
    """Remove a folder (or whatever the team's code left in its place) without following a link."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        path.unlink()


def _nothing() -> None:
    pass


def _entries(count: int) -> str:
    return "1 entry" if count == 1 else f"{count:,} entries"


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"
