"""What one build can hand to the next: parsed files, checked fields, quote
matches, rendered Markdown and page fingerprints.

Keys include a hash of what a value was computed from (file entries: their
mtime and size, or the watcher's word that they changed); the whole cache is
keyed on factsite's own source. Deleting the cache folder only costs time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
import pickle
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .parallel import in_thread
from .sealed import SealedWriter, Unsealed, open_regular, read_sealed, remove_orphans

CACHE_VERSION = 6
CHUNK = 500  # table entries per record (a record is held whole while it is sealed or unsealed)
# the tables saved between builds (not `dirty`, `used`, `streamed` and `sink`, which belong to
# one build), in the file's order: those the checks finish first, then those rendering changes
EARLY = ("files", "scan", "records", "quotes", "wordings")
SAVED = EARLY + ("pages", "facets", "slugs", "search")
PRUNED = ("records", "quotes", "wordings")  # the tables whose entries a build must use to keep


@dataclass
class Caches:
    # file path -> (its stamp, or None to read it again: `loading.kept_stamp`; RawEntry or
    # None; problems met while reading)
    files: dict[str, tuple[Any, Any, list[Any]]] = field(default_factory=dict)
    # the last full walk of content/: (folder, entry files in order, problems of the walk)
    scan: tuple[str, list[str], list[Any]] | None = None
    # (path shown, file digest) -> (checked values, problems)
    records: dict[tuple[str, str], tuple[dict[str, Any], list[Any]]] = field(default_factory=dict)
    # (source digest, wording) -> QuoteResult
    quotes: dict[tuple[str, str], Any] = field(default_factory=dict)
    # output file -> (fingerprint of its templates, config and plan; digest of its bytes;
    # what its drawing read of the model, see reads.py)
    pages: dict[str, tuple[Any, str, tuple[str, ...]]] = field(default_factory=dict)
    # what the pages read -> its fingerprint when they were last checked (`reads.Facets`)
    facets: dict[str, Any] = field(default_factory=dict)
    # text -> slug (python-slugify is slow, and the same names recur thousands of times)
    slugs: dict[str, str] = field(default_factory=dict)
    # (wording, wording) -> both as segments with differences marked
    wordings: dict[tuple[str, str], Any] = field(default_factory=dict)
    # the search index: (digest of what it shows, its bytes)
    search: tuple[str, bytes] | None = None

    # set when this build changed anything worth saving (a file read, a page rendered)
    dirty: bool = False
    # keys looked up by the current build in each pruned table (not saved): what `prune` keeps
    used: dict[str, set[Any]] = field(default_factory=lambda: {name: set() for name in PRUNED})
    # where workers' results go as they come, pickled as the workers sent them (the CLI's
    # CacheWriter.stream), so that saving does not pickle them again; None: not saved
    sink: Callable[[bytes], None] | None = None
    # the (table, key) entries this build's results put there through `sink`
    streamed: set[tuple[str, Any]] = field(default_factory=set)

    def take(self, update: tuple[Any, ...]) -> None:
        """A worker's result into its tables: ("read", path, stamp, entry, problems, checked
        fields), ("quotes", source digest, wordings, results) or ("wordings", a, b, result).
        The build takes its workers' results here, and `load_caches` the ones it streamed.
        With a `sink`, the build handed the result to it too (`parallel.map_items` gives it
        every result): the entries are marked streamed, so saving skips them."""
        kind = update[0]
        if kind == "read":
            _, key, stamp, entry, found, checked = update
            self.files[key] = (stamp, entry, found)
            keys = [("files", key)]
            if checked is not None:
                record = record_key(entry.shown, entry.digest)
                self.records[record] = checked
                keys.append(("records", record))
        elif kind == "quotes":
            _, source, wordings, results = update
            keys = [("quotes", (source, wording)) for wording in wordings]
            for (_, key), result in zip(keys, results):
                self.quotes[key] = result
        elif kind == "wordings":
            _, a, b, result = update
            self.wordings[(a, b)] = result
            keys = [("wordings", (a, b))]
        else:
            raise ValueError(f"unknown cache update {kind!r}")
        if self.sink is not None:
            self.streamed.update(keys)

    def prune(self) -> None:
        """Drop what the last build did not use, so edits do not grow the cache forever.
        (Set difference over the keys, in C: a (table, key) pair made and looked up for
        each of a cold 10k build's 46,000 entries was 0.1 s on one core.)"""
        for name in PRUNED:
            table, used = getattr(self, name), self.used[name]
            if len(used) == len(table):  # (a build uses only keys in the table) all used
                continue
            for key in table.keys() - used:
                del table[key]
        self.used = {name: set() for name in PRUNED}

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


# the libraries whose versions shape the pages (a cache made with others is never loaded)
SHAPING = ("jinja2", "markupsafe", "markdown-it-py", "mdit-py-plugins", "markdown-it-pyrs", "PyYAML",
           "python-slugify")


def code_version() -> str:
    """Hash of what turns content into pages besides the content: factsite's own source,
    the versions of the libraries in SHAPING and Python's. A cache made by other code is
    never loaded, and a build after an upgrade of any of them draws every page again.
    (~5 ms: a build works it out once.)"""
    h = hashlib.blake2b(digest_size=12)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in SHAPING:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        h.update(f"\0{name} {version}".encode())
    h.update(f"\0python {sys.version}".encode())
    return h.hexdigest()


def cache_dir_for(config_path: Path, output_dir: Path | None = None, preview: bool = False) -> Path:
    """`.cache/` beside the config, for builds into the config's output folder; a build
    into another (`--output DIR`) keeps its caches in a folder of their own, named by that
    folder's path, so that it does not replace the main output's, and so does `check`'s
    look at the site with its drafts (`preview`). (Compiled templates are shared:
    `.cache/jinja/`.)"""
    base = config_path.parent / ".cache"
    if preview:
        return base / "drafts"
    if output_dir is None:
        return base
    return base / "outputs" / digest(os.path.abspath(output_dir).encode())[:16]


CACHE_FILE = "build.cache"


def _header(key: str) -> bytes:
    return f"factsite build cache {CACHE_VERSION}\0{key}".encode("utf-8", "surrogateescape")


def load_caches(folder: Path, key: str, seal: bytes | None) -> tuple[Caches, str | None]:
    """The caches saved by the last build with the same key (generator version, options),
    and why the file was refused if it was (damaged, or not sealed by this user's `seal`:
    see sealed.py); an empty cache when there is none or it was made for other options.

    The file is a run of sealed records (see sealed.py): the header, then records until
    b"e": b"v" and a pickle of a whole value (name, value), b"i" and a pickle of a table's
    entries (name, [(key, value)]), or b"u" and a pickle of workers' results, [(index,
    update)], each taken as `Caches.take` takes it. Nothing is unpickled before its seal
    is checked."""
    handle = open_regular(folder / CACHE_FILE) if seal is not None else None
    if handle is None or seal is None:
        return Caches(), None
    try:
        with handle:
            records = read_sealed(handle, seal, CACHE_FILE.encode())
            if next(records, None) != _header(key):
                return Caches(), None  # another version's or other options' cache
            caches = Caches()
            for record in records:
                kind, data = record[:1], memoryview(record)[1:]
                if kind == b"e":
                    return caches, None
                if kind == b"u":
                    for _index, update in pickle.loads(data):
                        caches.take(update)
                    continue
                name, value = pickle.loads(data)
                if kind == b"v" and name in SAVED:
                    setattr(caches, name, value)
                elif kind == b"i" and name in SAVED:
                    getattr(caches, name).update(value)
                else:
                    raise Unsealed(f"an unknown record {kind!r}")
            raise Unsealed("cut short")
    except Unsealed as refused:
        return Caches(), str(refused)
    except (OSError, MemoryError) as exc:
        return Caches(), f"it cannot be read ({getattr(exc, 'strerror', None) or exc!r})"


class CacheWriter:
    """Writes the caches to a temporary file that replaces the saved one when complete, so a
    killed or failed build leaves the last cache.

    Workers' results are written as they arrive (`stream`), in the pickles the workers made:
    a cold 10,000-claim build's parsed files, checked fields and quotations, nearly all of
    the file (~95 MB), which the parent pickled again while the pages rendered (0.5 to 0.9
    CPU-s taken from the render workers on two cores). `start_early` writes the rest of the
    tables the checks finished (all but pages, slugs and search) from a thread while pages
    render: entries kept from the last build, which an edit's build did not compute again.
    Nothing changes those tables once the checks are done."""

    def __init__(self, folder: Path, key: str, caches: Caches, seal: bytes):
        self.folder, self.key, self.caches, self.seal = folder, key, caches, seal
        self.tmp = folder / f"{CACHE_FILE}.{os.getpid()}.{id(self):x}.tmp"
        self._handle: Any = None
        self._sealed: SealedWriter | None = None
        self._written: list[str] = []
        self._early: Future | None = None  # the early tables being written
        self._started = False  # `start_early` was called
        self._failed: OSError | None = None  # a stream that could not be written

    def _dump(self, kind: bytes, value: Any) -> None:
        assert self._sealed is not None
        self._sealed.write(kind, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def _open(self) -> None:
        if self._handle is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            _remove_orphans(self.folder)
            self._handle = open(self.tmp, "wb")
            self._sealed = SealedWriter(self._handle, self.seal, CACHE_FILE.encode())
            self._sealed.write(_header(self.key))

    @property
    def opened(self) -> bool:
        """Has it begun writing its file (taking disk space)?"""
        return self._handle is not None

    def stream(self, data: bytes) -> None:
        """Workers' results as they arrive (a pickle of [(index, update)], see `Caches.take`).
        A cache that cannot be written does not stop the build: `finish` reports it."""
        if self._failed is not None:
            return
        try:
            self._open()
            assert self._sealed is not None
            self._sealed.write(b"u", data)
        except OSError as exc:
            self._failed = exc

    def _write(self, names: tuple[str, ...]) -> None:
        self._open()
        streamed = self.caches.streamed
        # many small pickles: a pickler remembers every object it wrote until it is done, and
        # one pickle of everything grew a 10,000-claim build's peak memory by 80 MB
        for name in names:
            value = getattr(self.caches, name)
            if not isinstance(value, dict):
                self._dump(b"v", (name, value))
            else:
                items = [item for item in value.items() if (name, item[0]) not in streamed] \
                    if streamed else list(value.items())
                for start in range(0, len(items), CHUNK):
                    self._dump(b"i", (name, items[start:start + CHUNK]))
            self._written.append(name)

    def start_early(self) -> None:
        """Write the tables the checks finished, in a thread (see the class); once."""
        if self._started or self._failed is not None:
            return
        self._started = True
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
            if self._failed is not None:
                raise self._failed
            self._join()
            self._write(tuple(name for name in SAVED if name not in self._written))
            assert self._sealed is not None
            self._sealed.write(b"e")
            self._handle.close()
            os.replace(self.tmp, self.folder / CACHE_FILE)
        finally:
            self.abort()

    def abort(self) -> None:
        """Stop, and remove the temporary file if it is still there."""
        if self._early is not None:
            self._early.exception()  # (its error, if any, no longer matters)
            self._early = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.tmp.unlink(missing_ok=True)


def _remove_orphans(folder: Path) -> None:
    """Delete what dead builds left in the cache folder: their temporary files (a killed
    cold build's cache file holds ~95 MB at 10,000 claims) and the unsealed files of
    factsite before 0.2."""
    for legacy in ("build.pickle", "uptodate.pickle"):
        (folder / legacy).unlink(missing_ok=True)
    remove_orphans(folder)


def save_caches(folder: Path, key: str, caches: Caches, seal: bytes,
                writer: CacheWriter | None = None) -> None:
    """Save the caches, finishing `writer` if the build started one."""
    (writer if writer is not None else CacheWriter(folder, key, caches, seal)).finish()
