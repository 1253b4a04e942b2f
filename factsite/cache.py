"""What one build can hand to the next: parsed files, checked fields, quote
matches, rendered Markdown and page fingerprints.

Keys include a hash of what a value was computed from (file entries: their
mtime and size, or the watcher's word that they changed); the whole cache is
keyed on factsite's own source. Deleting the cache folder only costs time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .parallel import in_thread

CACHE_VERSION = 5
CHUNK = 2000  # table entries per pickle
# the tables saved between builds (not `dirty` and `used`, which belong to one build), in
# the file's order: those the checks finish first, then those rendering still changes
EARLY = ("files", "scan", "records", "quotes", "wordings")
SAVED = EARLY + ("pages", "slugs", "search")


@dataclass
class Caches:
    # file path -> ((mtime_ns, size), RawEntry or None, problems met while reading)
    files: dict[str, tuple[tuple[int, int], Any, list[Any]]] = field(default_factory=dict)
    # the last full walk of content/: (folder, entry files in order, problems of the walk)
    scan: tuple[str, list[str], list[Any]] | None = None
    # (path shown, file digest) -> (checked values, problems)
    records: dict[tuple[str, str], tuple[dict[str, Any], list[Any]]] = field(default_factory=dict)
    # (source digest, wording) -> QuoteResult
    quotes: dict[tuple[str, str], Any] = field(default_factory=dict)
    # output path -> (page fingerprint, digest of the bytes written)
    pages: dict[str, tuple[str, str]] = field(default_factory=dict)
    # text -> slug (python-slugify is slow, and the same names recur thousands of times)
    slugs: dict[str, str] = field(default_factory=dict)
    # (wording, wording) -> both as segments with differences marked
    wordings: dict[tuple[str, str], Any] = field(default_factory=dict)
    # the search index: (digest of what it shows, its bytes)
    search: tuple[str, bytes] | None = None

    # set when this build changed anything worth saving (a file read, a page rendered)
    dirty: bool = False
    # keys looked up by the current build (not saved): what `prune` keeps
    used: set[tuple[str, Any]] = field(default_factory=set)

    def prune(self) -> None:
        """Drop what the last build did not use, so edits do not grow the cache forever."""
        for name in ("records", "quotes", "wordings"):
            table = getattr(self, name)
            for key in [k for k in table if (name, k) not in self.used]:
                del table[key]
        self.used = set()

    def slug(self, text: str) -> str:
        if text not in self.slugs:
            from .urls import slugify

            self.slugs[text] = slugify(text)
        return self.slugs[text]


def record_key(shown: str, file_digest: str) -> tuple[str, str]:
    """An entry file's key in `Caches.records`: its path as shown and its bytes' digest."""
    return (shown, file_digest)


def digest(data: bytes) -> str:
    """The content hash used everywhere: file digests, page fingerprints, the manifest.

    SHA-256 cut to 128 bits: OpenSSL runs it on the CPU's SHA instructions (x86 since ~2017,
    ARMv8), 1.4 GB/s here against 0.5-0.8 for BLAKE2b, and a cold 10,000-claim build hashes
    ~56,000 files and pages (0.8 CPU-s with BLAKE2b). Without those instructions SHA-256 is
    the slower of the two, by about 2x."""
    return hashlib.sha256(data).hexdigest()[:32]


def code_version() -> str:
    """Hash of factsite's own source: a cache made by other code is never loaded."""
    h = hashlib.blake2b(digest_size=12)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def cache_dir_for(config_path: Path) -> Path:
    return config_path.parent / ".cache"


def load_caches(folder: Path, key: str) -> Caches:
    """The caches saved by the last build with the same key (generator version, options)."""
    try:
        with open(folder / "build.pickle", "rb") as handle:
            version, saved_key, names = pickle.load(handle)
            if version != CACHE_VERSION or saved_key != key:
                return Caches()
            caches = Caches()
            for name in names:
                kind, value = pickle.load(handle)
                if kind == "chunks":
                    table: dict[Any, Any] = {}
                    for _ in range(value):
                        table.update(pickle.load(handle))
                    value = table
                setattr(caches, name, value)
            return caches
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            ImportError):
        pass
    return Caches()


class CacheWriter:
    """Writes the caches to a temporary file that replaces the saved one when complete, so a
    killed or failed build leaves the last cache.

    `start_early` writes the tables the checks finished (all but pages, slugs and search) from a
    thread while a cold build's pages render in worker processes: they are nearly all of
    the file (~95 MB at 10,000 claims), and writing them after the commit kept the build
    waiting ~0.6 s, longer when the disk was busy. The parent mostly waits on the workers
    then, and nothing changes those tables once the checks are done."""

    def __init__(self, folder: Path, key: str, caches: Caches):
        self.folder, self.key, self.caches = folder, key, caches
        self.tmp = folder / f"build.pickle.{os.getpid()}.{id(self):x}.tmp"
        self._handle: Any = None
        self._written: list[str] = []
        self._early: Future | None = None  # the early tables being written

    def _dump(self, value: Any) -> None:
        pickle.dump(value, self._handle, protocol=pickle.HIGHEST_PROTOCOL)

    def _write(self, names: tuple[str, ...]) -> None:
        if self._handle is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            _remove_orphans(self.folder)
            self._handle = open(self.tmp, "wb")
            self._dump((CACHE_VERSION, self.key, list(SAVED)))
        # many small pickles: a pickler remembers every object it wrote until it is done, and
        # one pickle of everything grew a 10,000-claim build's peak memory by 80 MB
        for name in names:
            value = getattr(self.caches, name)
            if not isinstance(value, dict) or len(value) <= CHUNK:
                self._dump(("value", value))
            else:
                items = list(value.items())
                self._dump(("chunks", -(-len(items) // CHUNK)))
                for start in range(0, len(items), CHUNK):
                    self._dump(items[start:start + CHUNK])
            self._written.append(name)

    def start_early(self) -> None:
        """Write the tables the checks finished, in a thread (see the class); once."""
        if self._early is not None or self._handle is not None:
            return
        self._early = in_thread(lambda: self._write(EARLY), "factsite-cache-save")

    def _join(self) -> None:
        """Until the early tables are written; raises what stopped them."""
        early, self._early = self._early, None
        if early is not None:
            early.result()

    def finish(self) -> None:
        """Write what is left and put the file in place; OSError if it cannot be written."""
        self.caches.dirty = False
        try:
            self._join()
            self._write(tuple(name for name in SAVED if name not in self._written))
            self._handle.close()
            os.replace(self.tmp, self.folder / "build.pickle")
        finally:
            self.abort()

    def abort(self) -> None:
        """Stop, and remove the temporary file if it is still there."""
        if self._early is not None:
            self._early.exception()  # (its error, if any, no longer matters)
            self._early = None
        if self._handle is not None:
            self._handle.close()
        self.tmp.unlink(missing_ok=True)


def _remove_orphans(folder: Path) -> None:
    """Delete temporary cache files whose build process is gone (killed while writing: a
    cold build's file is open from its checks to its end, and holds ~95 MB at 10,000
    claims). A file of a running build, another one's or this one's, is left alone. (POSIX
    only: on Windows `os.kill(pid, 0)` would end the process.)"""
    if os.name != "posix":
        return
    for path in folder.glob("build.pickle.*.tmp"):
        try:
            os.kill(int(path.name.split(".")[2]), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except (ValueError, IndexError, OSError):
            continue  # not a name this code gives, or a process of another user: alive


def save_caches(folder: Path, key: str, caches: Caches, writer: CacheWriter | None = None) -> None:
    """Save the caches, finishing `writer` if the build started one."""
    (writer if writer is not None else CacheWriter(folder, key, caches)).finish()
