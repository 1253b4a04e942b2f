"""Is the output folder already what a build would write? Then the build has nothing to do.

A warm build of 10,000 claims spent three seconds proving that nothing had
changed: loading its caches, rebuilding the model, fingerprinting 21,000
pages. Everything the output depends on is cheap to stat instead: the config,
every file under content/ and templates/, factsite's own code and the build's
options. Their stamps, taken before a build reads anything, are saved after it
succeeds, with the stamps of the files it left in the output folder. When both
match, the build repeats the last build's warnings and stops; any difference
(an edit, a new file, a page changed or deleted by hand) runs the full build,
which itself redraws only what changed.
"""

from __future__ import annotations

import os
import pickle
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import digest
from .loading import Listed, file_stamp
from .sealed import Unsealed, read_sealed_file, write_sealed_file

STAMP_FILE = "uptodate.stamp"
VERSION = 1


@dataclass
class Stamp:
    inputs: str  # digest of every input's stamp and the options
    outputs: dict[str, tuple[int, int, int]]  # output file -> (inode, mtime_ns, size)
    problems: list[Any]  # warnings of the build that wrote the output
    pages: int
    files: int  # files the site has (the manifest's list)
    bytes: int


def file_system_now(folder: Path) -> int:
    """The time now by the clock that stamps files in `folder` (a network share stamps them
    by its server's), or this machine's if that is earlier or cannot be had: what a file's
    times are compared with to tell whether its stamp can be kept (`loading.kept_stamp`)."""
    now = time.time_ns()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / "clock"
        with open(probe, "wb"):  # (emptied: its mtime is now, as the file system has it)
            pass
        return min(now, probe.stat().st_mtime_ns)
    except OSError:
        return now


def _tree(folder: str, into: list[str], visited: set[str], listings: dict[str, list[Listed]],
          unsettled: list[str], listed_at: int) -> None:
    """Name, type, size, times and inode of everything under folder; linked files and
    folders are followed (each real folder once, so a link loop ends). Files changed too
    recently before `listed_at` for their stamps to tell a later change go on `unsettled`."""
    try:
        with os.scandir(folder) as listing:
            items = sorted(listing, key=lambda item: item.name)
    except OSError as exc:
        into.append(f"{folder}\0unreadable {exc.errno}")
        return
    listed = listings[folder] = []
    for item in items:
        try:
            info = item.stat()
            listed.append(Listed.of(item, info, listed_at))
            if listed[-1].kept is None:
                unsettled.append(item.path)
        except OSError:
            info = item.stat(follow_symlinks=False)
            listed.append(Listed.of(item, None, listed_at))
        # the loader's own stamp (ctime too: a tool that restores mtimes cannot restore it)
        into.append(f"{item.path}\0{info.st_mode}\0{file_stamp(info)}")
        try:
            folder_or_link_to_one = item.is_dir()
        except OSError:  # a loop of links (ELOOP): its stamp is in, the loader reports it
            folder_or_link_to_one = False
        if folder_or_link_to_one:  # linked folders too (Jinja loads templates through them), once each
            real = os.path.realpath(item.path)
            if real not in visited:
                visited.add(real)
                _tree(item.path, into, visited, listings, unsettled, listed_at)


def take_inputs(config_path: Path, folders: list[Path], options: str, cache_dir: Path
                ) -> tuple[str, dict[str, list[Listed]]]:
    """The config, the folders' trees and the options (code version included), digested;
    and each folder's listing as the walk took it, by absolute path. The content loader
    goes through those instead of listing and stat-ing every file again (at 10,000 claims
    each walk was 0.11 s, on one core before any worker starts).

    When a file changed too shortly before the walk for its stamp to tell a later change
    (`loading.SETTLE_NS`), the digest is one no later walk gives: the next build is a full
    one, which reads that file again."""
    lines = [options, os.getcwd()]
    try:
        lines.append(config_path.read_bytes().decode("utf-8", "replace"))
    except OSError:
        lines.append("no config")
    listings: dict[str, list[Listed]] = {}
    unsettled: list[str] = []
    listed_at = file_system_now(cache_dir)
    for folder in folders:
        lines.append(f"folder {folder}")
        top = os.path.abspath(folder)  # as the content loader names its folders
        _tree(top, lines, {os.path.realpath(top)}, listings, unsettled, listed_at)
    if unsettled:
        lines.append(f"unsettled {time.time_ns()} {os.getpid()} {unsettled[0]}")
    return digest("\n".join(lines).encode("utf-8", "surrogateescape")), listings


def output_stamps(out_dir: Path, files: list[str]) -> dict[str, tuple[int, int, int]] | None:
    """(inode, mtime, size) of each file the build wrote; None if one is missing or not a
    plain file."""
    base = str(out_dir)
    stamps = {}
    for relative in files:
        try:
            info = os.lstat(os.path.join(base, relative))
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        stamps[relative] = (info.st_ino, info.st_mtime_ns, info.st_size)
    return stamps


def _stamp_header(code: str) -> bytes:
    """What a stamp is only read with: this format and this code (`cache.code_version`: a
    stamp pickles classes of factsite's, which another version may not have)."""
    return f"factsite up-to-date stamp {VERSION} {code}".encode()


def load_stamp(cache_dir: Path, seal: bytes | None, code: str) -> Stamp | None:
    """The last build's stamp if this user's builds sealed it (see sealed.py) with this
    code, else None: a stamp vouches for the whole output, and one from elsewhere or
    damaged must not."""
    if seal is None:
        return None
    try:
        records = read_sealed_file(cache_dir / STAMP_FILE, seal, STAMP_FILE.encode())
        if records is None or len(records) != 2 or records[0] != _stamp_header(code):
            return None
        stamp = pickle.loads(records[1])
        return stamp if isinstance(stamp, Stamp) else None
    except (OSError, MemoryError, Unsealed, pickle.UnpicklingError, EOFError, ValueError, TypeError,
            AttributeError, ImportError):
        return None


def save_stamp(cache_dir: Path, stamp: Stamp, seal: bytes, code: str) -> None:
    """Written aside and renamed, like the caches; a failure only costs the next build time."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_sealed_file(cache_dir / STAMP_FILE,
                          [_stamp_header(code), pickle.dumps(stamp, protocol=pickle.HIGHEST_PROTOCOL)],
                          seal, STAMP_FILE.encode())
    except OSError:
        pass


def beside(out_dir: Path, what: str) -> Path:
    """A build's working file next to the output folder, hidden and on its file system (so
    a rename into the output's place is atomic): `lock`, `previous`, `staging-*`."""
    return out_dir.parent / f".{out_dir.name}.{what}"


def is_current(stamp: Stamp | None, inputs: str, out_dir: Path) -> bool:
    if stamp is None or stamp.inputs != inputs or out_dir.is_symlink():
        return False  # (a linked output folder: the full build explains why it is refused)
    if any(out_dir.parent.glob(beside(out_dir, "staging-*").name)) or \
            os.path.lexists(beside(out_dir, "previous")):
        return False  # a build was killed (or is running): the full build cleans up, or waits
    return output_stamps(out_dir, list(stamp.outputs)) == stamp.outputs
