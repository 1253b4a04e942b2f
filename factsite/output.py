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
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .urls import safe_output_path

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


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_manifest(out_dir: Path) -> dict[str, str] | None:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        files = data["files"]
        return {str(k): str(v) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def check_output_dir(out_dir: Path, protected: list[Path]) -> None:
    """Refuse folders the generator must never replace."""
    resolved = out_dir.resolve()
    for place in protected + [Path.home(), Path("/")]:
        place = place.resolve()
        if resolved == place or resolved in place.parents:
            raise OutputError(f"refusing to write the site to {out_dir}: it contains {place}",
                              "choose an output folder of its own, e.g. output/")
    if out_dir.is_symlink():
        raise OutputError(f"refusing to replace {out_dir}: it is a symbolic link",
                          "point --output at a real folder")
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
    lock_path = out_dir.parent / f".{out_dir.name}.lock"
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
    aside = out_dir.parent / f".{out_dir.name}.previous"
    if aside.is_dir() and not out_dir.exists():
        os.rename(aside, out_dir)
    elif aside.is_dir():
        shutil.rmtree(aside)
    for stale in out_dir.parent.glob(f".{out_dir.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)


def write_site(files: dict[str, bytes | Previous], out_dir: Path) -> WriteStats:
    """Replace out_dir with exactly `files` (plus foreign files it already held)."""
    stats = WriteStats()
    _recover(out_dir)
    old_manifest = (read_manifest(out_dir) or {}) if out_dir.is_dir() else {}
    if old_manifest and set(old_manifest) == set(files) and all(
            isinstance(v, Previous) and old_manifest[k] == v.digest for k, v in files.items()):
        stats.unchanged = len(files)  # nothing to do: the output is already this site
        return stats
    staging = out_dir.parent / f".{out_dir.name}.staging-{os.getpid()}"
    staging.mkdir(parents=True)
    try:
        new_manifest: dict[str, str] = {}
        made: set[Path] = {staging}
        for relative in sorted(files):
            data = files[relative]
            target = safe_output_path(staging, relative)
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.update([target.parent, *target.parent.parents])
            previous = out_dir / relative
            if isinstance(data, Previous):
                if old_manifest.get(relative) != data.digest:
                    raise OutputError(f"/{relative} is not in the previous output as expected",
                                      "run the build again; if it persists, delete the .cache folder")
                new_manifest[relative] = data.digest
                stats.bytes += previous.stat().st_size
                os.link(previous, target)
                stats.unchanged += 1
                continue
            hashed = digest(data)
            new_manifest[relative] = hashed
            stats.bytes += len(data)
            if old_manifest.get(relative) == hashed and previous.is_file() and not previous.is_symlink():
                try:
                    os.link(previous, target)
                    stats.unchanged += 1
                    continue
                except OSError:
                    pass  # e.g. a filesystem without hard links: write instead
            target.write_bytes(data)
            stats.written += 1
        stats.removed = len(set(old_manifest) - set(new_manifest))
        if out_dir.is_dir():
            stats.kept = _carry_foreign(out_dir, staging, old_manifest, new_manifest)
        (staging / MANIFEST).write_text(
            json.dumps({"generator": "factsite", "files": new_manifest}, indent=0, sort_keys=True) + "\n",
            encoding="utf-8")
        if out_dir.exists():
            if not _exchange(staging, out_dir):
                aside = out_dir.parent / f".{out_dir.name}.previous"
                os.rename(out_dir, aside)
                os.rename(staging, out_dir)
                staging = aside
            shutil.rmtree(staging)  # now holds the previous output
        else:
            os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return stats


def _carry_foreign(out_dir: Path, staging: Path, old: dict[str, str], new: dict[str, str]) -> int:
    """Link into the new site every file the generator did not write (a CNAME, say)."""
    kept = 0
    for dirpath, _dirs, names in os.walk(out_dir):
        for name in names:
            path = Path(dirpath) / name
            relative = path.relative_to(out_dir).as_posix()
            if relative == MANIFEST or relative in old or relative in new:
                continue
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target, follow_symlinks=False)
            except OSError:
                shutil.copy2(path, target, follow_symlinks=False)
            kept += 1
    return kept
