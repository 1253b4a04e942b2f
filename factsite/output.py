"""Write the built site as one atomic swap of the output folder.

The new site is staged in a hidden sibling folder. Files whose bytes did not
change are hard-linked from the old output, so their mtimes stay and sync
tools upload only what changed. Then the staged folder and the output folder
are exchanged in one rename; a build killed at any moment leaves the previous
output whole. Only files listed in the manifest (files this generator wrote)
are ever dropped; anything else found in the output folder is carried over.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import itertools
import json
import os
import shutil
import stat
import sys
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .cache import digest
from .parallel import in_thread
from .uptodate import beside, output_stamps
from .urls import check_relative

MANIFEST = ".factsite-manifest.json"


class OutputError(Exception):
    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass
class WriteStats:
    written: int = 0  # files whose bytes changed (or are new)
    unchanged: int = 0  # hard-linked from the previous output
    removed: int = 0  # files of the previous build that are gone now
    kept: int = 0  # files the generator did not write, carried over
    bytes: int = 0


@dataclass(frozen=True)
class Previous:
    """A file the build did not re-render: take it from the previous output as it is."""
    digest: str


@dataclass(frozen=True)
class Written:
    """A file already written into the staging folder (by a render worker)."""
    digest: str
    size: int


def read_manifest(out_dir: Path) -> dict[str, str] | None:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        files = data["files"]
        return {str(k): str(v) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def check_output_dir(out_dir: Path, protected: list[Path], inside: list[Path] = ()) -> None:
    """Refuse folders the generator must never replace, or write into (`inside`)."""
    resolved = out_dir.resolve()
    for place in inside:
        place = place.resolve()
        if place in resolved.parents:
            raise OutputError(f"refusing to write the site to {out_dir}: it is inside {place}",
                              "keep the output folder outside content/ and templates/")
    for place in protected + [Path.home(), Path("/")]:
        place = place.resolve()
        if resolved == place or resolved in place.parents:
            raise OutputError(f"refusing to write the site to {out_dir}: it contains {place}",
                              "choose an output folder of its own, e.g. output/")
    if out_dir.is_symlink():
        raise OutputError(f"refusing to replace {out_dir}: it is a symbolic link",
                          "point --output at a real folder")
    if os.path.ismount(out_dir):
        raise OutputError(f"refusing to build into {out_dir}: it is a mount point, and a build replaces "
                          "the output folder as a whole (a new one is renamed into its place), which "
                          "cannot be done to a mount point",
                          f"set output_dir to a folder inside it, such as {out_dir / 'site'}, and "
                          "serve that folder")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise OutputError(f"{out_dir} exists and is not a folder", "remove it or choose another --output")
        if any(out_dir.iterdir()) and read_manifest(out_dir) is None:
            raise OutputError(f"refusing to replace {out_dir}: it is not empty and was not made by factsite",
                              "choose an empty or new folder, or move its files away first")


@contextmanager
def build_lock(out_dir: Path) -> Iterator[None]:
    """One build per output folder at a time."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = beside(out_dir, "lock")
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise OutputError(f"another build is writing {out_dir} right now",
                                  "wait for it to finish (or stop the other `build.py`), then run again")
            raise
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result != 0:
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM):
            return False
        raise OSError(err, os.strerror(err), str(a))
    return True


def _recover(out_dir: Path) -> None:
    """Put back an output folder left aside by a build killed mid-swap (non-Linux path)."""
    aside = beside(out_dir, "previous")
    if aside.is_dir() and not out_dir.exists():
        os.rename(aside, out_dir)
    elif aside.is_dir():
        shutil.rmtree(aside)
    for stale in out_dir.parent.glob(beside(out_dir, "staging-*").name):
        shutil.rmtree(stale, ignore_errors=True)


def _write_file(path: str, data: bytes) -> None:
    """A new file with these bytes, through the file descriptor: a Python file object
    costs ~5 us to set up, 0.1 s over 20,000 pages."""
    # (the mode `open` gives, before the umask; no newline translation on Windows)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


class Staging:
    """The new output, file by file, swapped in whole by `commit`.

    Files arrive as they are rendered (`put`), so the build never holds the
    whole site in memory. Until the first file that differs from the previous
    output arrives, nothing touches the disk: a build that changes nothing
    costs no file operations at all.
    """

    def __init__(self, out_dir: Path):
        _recover(out_dir)
        self.out_dir = out_dir
        self.old = (read_manifest(out_dir) or {}) if out_dir.is_dir() else {}
        try:
            self._written_at = (out_dir / MANIFEST).stat().st_mtime_ns
        except OSError:
            self._written_at = 0
        self.new: dict[str, str] = {}
        self._base = str(out_dir)
        self._checked: dict[str, int] = {}  # reusable files already checked: their size
        self.stats = WriteStats()
        self.folder: Path | None = None
        self._pending: list[str] = []  # unchanged files not yet linked into the folder
        self._removing: Future | None = None  # the previous output's removal, after `commit`
        self._made: set[str] = set()
        self._unwritten: list[tuple[str, bytes]] = []  # taken by `write`, for `flush`
        # (inode, mtime, size) of every file of the committed site, taken before the swap
        # (a rename keeps them), so nothing written into the output after it can be mistaken
        # for this build's work by the up-to-date check
        self.stamps: dict[str, tuple[int, int, int]] | None = None

    def _target(self, relative: str) -> str:
        """Where `relative` goes in the staging folder, its folder created. Plain strings
        and one mkdir a new folder: at 20,000 files pathlib's overhead was most of an
        incremental write, and os.makedirs' own checks half of a cold build's writing."""
        assert self.folder is not None
        # the staging folder is new and ours (no links inside), so a lexical check suffices
        check_relative(relative)
        target = os.path.join(self.folder, relative)
        parent = os.path.dirname(target)
        if parent not in self._made:
            try:
                os.mkdir(parent)  # a page's own folder: its parent was made for an earlier one
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(parent, exist_ok=True)
                made = os.path.dirname(parent)
                while len(made) > len(str(self.folder)):  # the folders made on the way
                    self._made.add(made)
                    made = os.path.dirname(made)
            self._made.add(parent)
        return target

    def _materialise(self) -> None:
        if self.folder is None:
            # (one name per build: the last output is removed under it after the swap, and
            # that may go on while another build of this process stages)
            self.folder = beside(self.out_dir, f"staging-{os.getpid()}-{next(_BUILDS)}")
            self.folder.mkdir(parents=True)
            self._made.add(str(self.folder))
            base = str(self.out_dir)
            for relative in self._pending:
                os.link(os.path.join(base, relative), self._target(relative))
            self._pending = []

    def reusable(self, relative: str, hashed: str) -> bool:
        """The previous output holds this file as the generator wrote it: listed with this
        hash, still a plain file, and not modified after the manifest was written."""
        if self.old.get(relative) != hashed:
            return False
        if relative in self._checked:
            return True
        try:
            info = os.lstat(os.path.join(self._base, relative))
        except OSError:
            return False
        if stat.S_ISREG(info.st_mode) and info.st_mtime_ns <= self._written_at:
            self._checked[relative] = info.st_size  # `put` will not look again
            return True
        return False

    def prepare(self) -> None:
        """Create the staging folder now, so forked render workers can write into it."""
        self._materialise()

    def write(self, relative: str, data: bytes) -> Written | Previous:
        """A file for the prepared staging folder, unless the previous output has these
        bytes; it is written by the next `flush`. Safe in a forked worker: it changes no
        state the parent keeps; the parent records the result with `put`. At 20,000 pages
        the parent writing every file itself was the slowest part of a cold build."""
        hashed = digest(data)
        if self.reusable(relative, hashed):
            return Previous(hashed)
        self._unwritten.append((relative, data))
        return Written(hashed, len(data))

    def flush(self) -> None:
        """Write the files `write` took, one after another. A render worker writes a chunk's
        pages together, after drawing them: a file written between two pages drawn met the
        kernel's caches cold, ~60 us a page against 26 on its own. (Cold 10,000-claim builds,
        5 interleaved pairs: render workers' CPU 8.91 -> 8.68 s median, their system time
        0.84 -> 0.65 s; writing itself 1.1-1.5 -> 0.8 CPU-s, some of it now met in drawing.)"""
        unwritten, self._unwritten = self._unwritten, []
        for relative, data in unwritten:
            _write_file(self._target(relative), data)

    def put(self, relative: str, data: bytes | Previous | Written) -> None:
        if relative in self.new:
            raise OutputError(f"/{relative} would be written twice",
                              "two entries produce the same address; rename one of them")
        if isinstance(data, Written):
            self.new[relative] = data.digest
            self.stats.written += 1
            self.stats.bytes += data.size
            return
        hashed = data.digest if isinstance(data, Previous) else digest(data)
        previous = os.path.join(self._base, relative)
        unchanged = self.reusable(relative, hashed)
        if isinstance(data, Previous) and not unchanged:
            raise OutputError(f"/{relative} is not in the previous output as expected",
                              "run the build again; if it persists, delete the .cache folder")
        self.new[relative] = hashed
        if unchanged:
            self.stats.unchanged += 1
            self.stats.bytes += self._checked.pop(relative)
            if self.folder is None:
                self._pending.append(relative)
            else:
                os.link(previous, self._target(relative))
            return
        assert isinstance(data, bytes)
        self._materialise()
        _write_file(self._target(relative), data)
        self.stats.written += 1
        self.stats.bytes += len(data)

    def commit(self) -> WriteStats:
        """Swap the new site in; only files of the old manifest that are gone are dropped."""
        self.stats.removed = len(set(self.old) - set(self.new))
        if self.folder is None and set(self.old) == set(self.new) and self.out_dir.is_dir():
            self.stamps = output_stamps(self.out_dir, sorted(self.new) + [MANIFEST])
            return self.stats  # the output already is this site
        self._materialise()
        assert self.folder is not None
        try:
            if self.out_dir.is_dir():
                self.stats.kept = _carry_foreign(self.out_dir, self.folder, self.old, self.new)
            (self.folder / MANIFEST).write_text(
                json.dumps({"generator": "factsite", "files": self.new}, indent=0, sort_keys=True)
                + "\n", encoding="utf-8")
            self.stamps = output_stamps(self.folder, sorted(self.new) + [MANIFEST])
            if self.out_dir.exists():
                old = self.folder
                if not _exchange(self.folder, self.out_dir):
                    aside = beside(self.out_dir, "previous")
                    os.rename(self.out_dir, aside)
                    os.rename(self.folder, self.out_dir)
                    try:
                        os.rename(aside, old)  # where the exchange leaves it
                    except OSError:
                        old = aside  # the new site is in place all the same
                # the last output, removed while the build finishes (its cache is saved): 0.3 s
                # of system calls for 21,000 files (see `wait`). Another build may start
                # meanwhile; it removes leftover staging folders too, and either removal gives
                # way to the other.
                self._removing = in_thread(lambda: _remove(old), "factsite-remove-last-output")
            else:
                os.rename(self.folder, self.out_dir)
        except BaseException:
            self.abort()
            raise
        self.folder = None
        return self.stats

    def wait(self) -> list[str]:
        """Until the last output, swapped out by `commit`, is removed; what could not be
        removed (left beside the output, where the next build tries again)."""
        failed: list[str] = []
        if self._removing is not None:
            failed = self._removing.result()
            self._removing = None
        return failed

    def abort(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


_BUILDS = itertools.count(1)


def _remove(folder: Path) -> list[str]:
    """Remove a folder tree; the paths that could not be removed, and why."""
    failed: list[str] = []

    def note(_function: Any, path: str, error: Any) -> None:
        exc = error[1] if isinstance(error, tuple) else error  # exc_info before 3.12
        failed.append(f"{path}: {getattr(exc, 'strerror', None) or exc}")

    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=note)
    else:
        shutil.rmtree(folder, onerror=note)
    return failed


def _carry_foreign(out_dir: Path, staging: Path, old: dict[str, str], new: dict[str, str]) -> int:
    """Link into the new site every file the generator did not write (a CNAME, say).

    Links are carried as links, to folders too (never entered); a folder that cannot be
    listed is skipped. Site paths are made by joining strings: `os.walk` with a `relpath` per
    folder took 0.28 s over 20,000 page folders (0.11 s so), a third of a CLI build's commit
    after one edit."""
    kept = 0

    def visit(folder: str, prefix: str) -> None:
        nonlocal kept
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            return
        for entry in entries:
            relative = prefix + entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                visit(entry.path, relative + "/")
                continue
            if relative == MANIFEST or relative in old or relative in new:
                continue
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(entry.path, target, follow_symlinks=False)
            except OSError:
                shutil.copy2(entry.path, target, follow_symlinks=False)
            kept += 1

    visit(str(out_dir), "")
    return kept
