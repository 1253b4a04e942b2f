"""Walk content/ once and read every entry file into a RawEntry.

Reading is where hostile files are met: bad encodings, binary junk, huge
files, links leading out of content/. Each becomes a located problem.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from .cache import Caches, digest
from .errors import Location, Problems, display_path
from .frontmatter import FrontMatterError, split_front_matter
from .parallel import Hooks, map_items
from .schema import KINDS, check_record, control_character, may_hold_control
from .urls import slugify
from .yamlread import YamlDoc, parse_yaml

MAX_FILE_BYTES = 2 * 1024 * 1024
# Markdown text (notes, bios, pages; not a source's archived article, which is not Markdown):
# markdown-it-py renders any text in time linear in its length, but at up to ~11 s a
# million characters for the slowest constructs found (bench/pathological.py), so one body
# is held to a size that renders in a few seconds whatever it holds.
MAX_MARKDOWN_CHARS = 512 * 1024

# How long after a file's last change its stamp can be trusted to tell a later change. A
# file system keeps times to its own precision (ext4 and tmpfs: nanoseconds; HFS+, many
# network shares: a second; FAT: two), so an edit within the same tick as the stamp taken
# after the last one leaves mtime and ctime as they were (and an edit of the same length,
# its size too). A stamp taken less than this after the times it holds is not kept: the
# file is read again by the next build (Git's "racily clean" entries, the same way).
SETTLE_NS = 3_000_000_000

# (mtime_ns, size, ctime_ns, inode): ctime because only the kernel sets it (`touch -r`,
# `rsync -t`, `cp -p` and editors that keep mtimes change it), the inode for renames
FileStamp = tuple[int, int, int, int]
NO_STAT: FileStamp = (0, -1, 0, 0)


def file_stamp(info: os.stat_result) -> FileStamp:
    return (info.st_mtime_ns, info.st_size, info.st_ctime_ns, info.st_ino)


def kept_stamp(stamp: FileStamp, listed_at: int) -> FileStamp | None:
    """The stamp to keep for a file stamped at `listed_at` (time.time_ns()), or None when
    it changed too shortly before then to tell a later change (see SETTLE_NS)."""
    if stamp == NO_STAT or max(stamp[0], stamp[2]) > listed_at - SETTLE_NS:
        return None
    return stamp


class Listed(NamedTuple):
    """A folder's item as the loader needs it, from one scandir and one stat. A walk's
    listing is kept until the loader has gone through it: 17,500 DirEntry objects with
    their stats held 14 MB of a 10,000-claim build to its end, these ~4."""
    name: str
    symlink: bool
    folder: bool  # a folder itself, not a link to one
    file: bool  # a file, or a link to one
    stamp: FileStamp  # of what it is or links to; NO_STAT: no stat
    kept: FileStamp | None  # the stamp if it can be trusted later (`kept_stamp`), else None

    @classmethod
    def of(cls, item: os.DirEntry, info: os.stat_result | None, listed_at: int) -> "Listed":
        """`info`: the item's stat, links followed (None if that failed); `listed_at`: the
        time.time_ns() taken before the folder was listed."""
        if info is None:  # (a broken link or a loop of links: is_file would raise for one)
            return cls(item.name, item.is_symlink(), item.is_dir(follow_symlinks=False), False,
                       NO_STAT, None)
        stamp = file_stamp(info)
        return cls(item.name, item.is_symlink(), item.is_dir(follow_symlinks=False),
                   stat.S_ISREG(info.st_mode), stamp, kept_stamp(stamp, listed_at))


def list_folder(folder: str) -> list[Listed]:
    """The folder's items by name."""
    listed_at = time.time_ns()
    with os.scandir(folder) as listing:
        items = sorted(listing, key=lambda item: item.name)
    listed = []
    for item in items:
        try:
            info: os.stat_result | None = item.stat()
        except OSError:
            info = None
        listed.append(Listed.of(item, info, listed_at))
    return listed


@dataclass
class RawEntry:
    kind: str  # claims | speakers | events | sources | pages
    path: str  # the file's path, as the file cache keys it
    shown: str  # path as printed in messages, relative to the project
    slug: str
    doc: YamlDoc
    body: str
    body_line: int
    digest: str  # hash of the file's bytes, for caches
    meta_digest: str  # hash of the front matter alone: what lists and cards show

    def location(self, path: tuple = ()) -> Location:
        line, column = self.doc.position(path)
        return Location(self.shown, line, column)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its values: read workers send back every entry of a cold build, and
        the parent unpickles them one after the other (17,488 entries: 0.12 s by the
        dataclass's default, 0.10 s so; a Path instead of a string was 0.28 s).

        The body goes as UTF-8 bytes encoded here, as pickle would encode it: pickle keeps
        the UTF-8 copy it makes inside the string (CPython caches it there), so saving the
        cache after an edit grew a 10,000-claim build by the bodies' size again (46 MB)."""
        return (_raw_entry, (self.kind, self.path, self.shown, self.slug, self.doc, self.body.encode(),
                             self.body_line, self.digest, self.meta_digest))


def _raw_entry(kind: str, path: str, shown: str, slug: str, doc: YamlDoc, body: bytes, body_line: int,
               digest: str, meta_digest: str) -> RawEntry:
    return RawEntry(kind, path, shown, slug, doc, body.decode(), body_line, digest, meta_digest)


def _decode(data: bytes, shown: str, problems: Problems) -> str | None:
    if b"\x00" in data:
        problems.error(Location(shown, data[: data.index(b"\x00")].count(b"\n") + 1),
                       "the file contains binary data (a NUL byte)",
                       "entries must be UTF-8 text; remove the file or save it as text")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.error(Location(shown, line, column),
                       f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                       "re-save the file as UTF-8 in your editor")
        return None
    text = text.removeprefix("\ufeff")
    if "\r" in text:  # looked for first: replacing nothing costs 4x looking (non-ASCII text)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_entry(kind: str, path: str, shown: str, problems: Problems) -> RawEntry | None:
    """One file to a RawEntry; None (with problems recorded) if it cannot be used."""
    try:
        with open(path, "rb") as handle:
            # (read up to the limit, so no stat is needed before: 17,500 fewer at 10,000 claims)
            data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                size = os.fstat(handle.fileno()).st_size
                problems.error(Location(shown), f"the file is too large ({size:,} bytes)",
                               f"entries are limited to {MAX_FILE_BYTES // (1024 * 1024)} MB; split or trim it")
                return None
    except OSError as exc:
        problems.error(Location(shown), f"cannot read the file: {exc.strerror}", "check its permissions")
        return None
    if not data.strip():
        problems.error(Location(shown, 1), "the file is empty",
                       "add front matter (see the README) or delete the file")
        return None
    text = _decode(data, shown, problems)
    if text is None:
        return None
    try:
        split = split_front_matter(text)
    except FrontMatterError as exc:
        problems.error(Location(shown, exc.line), exc.message, exc.hint)
        return None
    if kind != "sources" and len(split.body) > MAX_MARKDOWN_CHARS:
        problems.error(Location(shown, split.body_line),
                       f"the text after the front matter is too long ({len(split.body):,} characters)",
                       f"notes, bios and pages are limited to {MAX_MARKDOWN_CHARS // 1024:,} K characters "
                       "(an archived article belongs in a source, which is not limited so); shorten it")
        return None
    bad = control_character(split.body) if may_hold_control(data) else None
    if bad is not None:  # an invisible character would make the page invalid HTML
        offset, message, hint = bad
        line = split.body_line + split.body.count("\n", 0, offset)
        column = offset - (split.body.rfind("\n", 0, offset) + 1) + 1
        problems.error(Location(shown, line, column), message, hint)
    doc, yaml_errors = parse_yaml(split.header, split.header_line - 1)
    for err in yaml_errors:
        problems.error(Location(shown, err.line, err.column), err.message, err.hint)
    if doc is None or bad is not None:
        return None
    if not isinstance(doc.data, dict):
        problems.error(Location(shown, split.header_line),
                       "the front matter must be a set of `field: value` lines",
                       "see the README for the fields of this kind of entry")
        return None
    slug = slugify(os.path.splitext(os.path.basename(path))[0])  # Path.stem, for names ending .md
    return RawEntry(kind, path, shown, slug, doc, split.body, split.body_line,
                    digest(data), digest(split.header.encode()))


def checked_fields(entry: RawEntry) -> tuple[dict[str, Any], list[Any]]:
    """The entry's typed values and field problems. The parsed front matter is dropped
    after: the checked copy is what is kept (`YamlDoc.values` parses it again if asked)."""
    found = Problems()

    def report(path: tuple[Any, ...], message: str, hint: str) -> None:
        found.error(entry.location(path), message, hint)
    values = check_record(entry.doc.values(), KINDS[entry.kind], report)
    entry.doc.forget_data()
    return values, found.items


def _inside(path: Path, root: Path) -> bool:
    """Does a link lead somewhere inside root? A link loop leads nowhere."""
    try:
        return root in path.resolve(strict=True).parents
    except (OSError, RuntimeError):
        return False


def _same_bytes(path: str, entry: RawEntry | None) -> bool:
    """Does the file still hold the bytes `entry` was read from?"""
    if entry is None:
        return False
    try:
        with open(path, "rb") as handle:
            return digest(handle.read(MAX_FILE_BYTES + 1)) == entry.digest
    except OSError:
        return False


def load_content(content_dir: Path, problems: Problems,
                 caches: Caches | None = None, changed: set[str] | None = None,
                 listings: dict[str, list[Listed]] | None = None, verify: bool = False) -> list[RawEntry]:
    """Every *.md entry under content/<kind>/, in a stable order.

    A file whose stamp (`file_stamp`) matches the one the cache kept for it is not read
    again, unless it is named in `changed` (what the preview's watcher saw); with `verify`
    (`check`), it is, and the cached entry is used only if its bytes are the file's.
    `listings`: folders as a walk just listed them (`uptodate.take_inputs`); a folder not
    in it is listed here.
    """
    caches = caches if caches is not None else Caches()
    seen: set[str] = set()
    entries: list[RawEntry] = []
    root = content_dir.resolve()
    content_dir = Path(os.path.abspath(content_dir))  # so every DirEntry path is absolute

    cwd = Path.cwd()

    def shown(path: Path) -> str:
        return display_path(path, cwd)

    if not content_dir.is_dir():
        problems.error(Location(shown(content_dir)), "the content folder does not exist",
                       "create it, or set content_dir in site_config.yaml")
        return entries

    def fresh(key: str, stamp: FileStamp) -> bool:
        """Does the cache hold this file as it is now?"""
        cached = caches.files.get(key)
        if cached is None or cached[0] is None or cached[0] != stamp or \
                (changed is not None and key in changed):
            return False
        return not verify or _same_bytes(key, cached[1])

    read_first: dict[str, tuple[RawEntry | None, Problems]] = {}  # a chunk's files (see read_chunk)

    def read_chunk(jobs: list[tuple[str, str, FileStamp | None]]) -> None:
        """A chunk's files are read before their fields are checked, so each kind of work runs
        warm over the whole chunk (half the 10k corpus in one process, alternating: 0.76 ->
        0.70 CPU-s; reading the chunk's bytes first as well gained nothing more)."""
        for key, kind, _stamp in jobs:
            found = Problems()
            read_first[key] = (read_entry(kind, key, shown(Path(key)), found), found)

    def parse(job: tuple[str, str, FileStamp | None]) -> tuple[Any, ...]:
        key, _kind, stamp = job
        entry, found = read_first.pop(key)
        # the fields are checked here too, across cores: in the parent they were 0.4 s
        # of a 10,000-claim build, and the parsed front matter need not come back
        return ("read", key, stamp, entry, found.items,
                checked_fields(entry) if entry is not None else None)

    def read_all(jobs: list[tuple[str, str, FileStamp | None]]) -> None:
        """Parse files, across cores when there are many (a cold build of a large archive)."""
        for _i, update in map_items(parse, jobs, caches.sink, Hooks(before=read_chunk)):
            caches.take(update)
            caches.dirty = True

    def read(key: str, kind: str) -> None:
        listed_at = time.time_ns()
        try:
            stamp = file_stamp(os.stat(key))
        except OSError:
            stamp = NO_STAT
        if not fresh(key, stamp):
            read_all([(key, kind, kept_stamp(stamp, listed_at))])

    def collect(order: list[str], scan_problems: list[Any]) -> list[RawEntry]:
        problems.items.extend(scan_problems)
        for key in order:
            _stamp, entry, found = caches.files[key]
            problems.items.extend(found)
            if entry is not None:
                entries.append(entry)
        return entries

    top = str(content_dir)
    if changed is not None and caches.scan is not None and caches.scan[0] == top:
        # the watcher named every change: touch only those files, no walk of the tree
        inside = [p for p in changed if p.startswith(top + os.sep)]
        simple = all(p.endswith(".md") and os.path.dirname(os.path.dirname(p)) == top
                     and os.path.basename(os.path.dirname(p)) in KINDS
                     and not os.path.basename(p).startswith(".")
                     and not os.path.islink(p) and not os.path.isdir(p) for p in inside)
        if simple:
            order = list(caches.scan[1])
            for key in inside:
                if os.path.isfile(key):
                    read(key, os.path.basename(os.path.dirname(key)))
                    if key not in order:
                        order.append(key)
                else:
                    caches.files.pop(key, None)
                    caches.dirty = True
                    if key in order:
                        order.remove(key)
            order.sort(key=lambda key: key.split(os.sep))
            caches.scan = (top, order, caches.scan[2])
            return collect(order, caches.scan[2])

    scan_found = Problems()
    order: list[str] = []
    def visit(folder: str, depth: int, kind: str) -> None:
        items = listings.get(folder) if listings is not None else None
        for item in items if items is not None else list_folder(folder):
            if item.name.startswith(".") or item.name.endswith("~"):
                continue  # hidden, editor swap and backup files
            path = os.path.join(folder, item.name)
            if item.symlink and not _inside(Path(path), root):
                scan_found.error(Location(shown(Path(path))),
                               "this link points outside the content folder",
                               "copy the file into content/ instead of linking to it")
                continue
            if item.folder:
                visit(path, depth + 1, kind or item.name)
                continue
            if not item.file:
                scan_found.error(Location(shown(Path(path))), "not a regular file (a device, "
                                 "pipe or broken link)", "remove it from the content folder")
                continue
            if not item.name.endswith(".md"):
                scan_found.warning(Location(shown(Path(path))), "ignored: not a .md file",
                                 "entries are Markdown files ending in .md")
                continue
            if kind not in KINDS or depth != 1:
                scan_found.warning(Location(shown(Path(path))),
                                 "ignored: not inside a known content folder",
                                 f"put entries directly in content/{{{','.join(KINDS)}}}/")
                continue
            seen.add(path)
            order.append(path)
            if not fresh(path, item.stamp):
                jobs.append((path, kind, item.kept))

    jobs: list[tuple[str, str, FileStamp | None]] = []
    visit(top, 0, "")
    read_all(jobs)
    for key in set(caches.files) - seen:
        del caches.files[key]
        caches.dirty = True
    caches.scan = (top, order, scan_found.items)
    return collect(order, scan_found.items)
