"""Files in .cache/ that prove this user's builds wrote them, before anything reads them.

The build cache holds pickles and Jinja's compiled templates (marshalled code): loading
either from a crafted file runs its code, and a damaged one published wrong pages. A
project folder, a CI cache or an archive can come from anyone, so nothing in .cache/ is
trusted for being there. Each file is a run of records sealed with HMAC-SHA256 under a key
that lives outside the project, in the user's own cache folder
(`$XDG_CACHE_HOME/factsite/key`, else `~/.cache/factsite/key`, readable by the user only).
A record is taken only if its seal is right for its bytes, its place in the file and the
file's random header: a flipped bit, a truncated or spliced file, or a file made with
another key is refused as a whole, before any byte is unpickled. Reading a 95 MB cache
(10,000 claims) costs ~70 ms of hashing for it.

Only regular files are read (a FIFO or a device in .cache/ would block or never end), and
a record's length is checked against what the file holds before it is read.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import jinja2
import jinja2.bccache

KEY_BYTES = 32
_MAGIC = b"factsite-sealed\x001\n"
_NONCE = 16
_HEAD = 8 + 32  # a record's length and seal
# the longest record written or read: a record is read whole before its seal is checked, so a
# crafted length (a sparse file can claim gigabytes) must not decide how much is read. The
# largest a 10,000-claim build writes is a chunk of workers' results, a few MB.
MAX_RECORD = 256 * 1024 * 1024


class Unsealed(Exception):
    """A sealed file that cannot be taken: damaged, cut short, or not sealed by this key."""


def key_file() -> Path:
    """Where this user's key is kept: outside any project, so a copied project or a
    restored CI cache never brings its key along. (A relative XDG_CACHE_HOME is ignored,
    as the XDG spec says: it would put the key inside whatever folder a build runs in.)"""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(Path.home(), ".cache")
    return Path(base) / "factsite" / "key"


_NOT_A_KEY = ("{path} is not a key this user made ({size} bytes, readable by the user only): "
              "delete it, and the next build makes a new one")


def user_key() -> bytes:
    """This user's key, made on first use; OSError (or RuntimeError: no home folder)
    when it cannot be read or made."""
    path = key_file()
    key = _read_key(path)
    if key is not None:
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    spare = path.with_name(f".key.{os.getpid()}.tmp")
    fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, os.urandom(KEY_BYTES))
        os.fsync(fd)  # (a key lost to a power cut would leave an empty file in its place)
    finally:
        os.close(fd)
    try:
        # the whole key appears at once, and only if no other build made one first (theirs
        # is taken); where hard links are not allowed, renaming does it, racing at worst
        os.link(spare, path)
    except FileExistsError:
        pass
    except OSError:
        if not path.exists():
            os.replace(spare, path)
    finally:
        spare.unlink(missing_ok=True)
    key = _read_key(path)
    if key is None:
        raise OSError(_NOT_A_KEY.format(path=path, size=KEY_BYTES))
    return key


def try_user_key() -> tuple[bytes | None, str | None]:
    """`user_key()`, or None and why not: builds then keep no cache on disk."""
    try:
        return user_key(), None
    except (OSError, RuntimeError) as exc:
        return None, str(exc)


def _read_key(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        mine = os.name != "posix" or (info.st_uid == os.getuid() and not info.st_mode & 0o077)
        if not stat.S_ISREG(info.st_mode) or info.st_size != KEY_BYTES or not mine:
            raise OSError(_NOT_A_KEY.format(path=path, size=KEY_BYTES))
        return os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)


def open_regular(path: Path) -> BinaryIO | None:
    """The file opened for reading if it is a regular file (links not followed), else None
    (missing, a FIFO, a device, a folder, a link)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


@dataclass
class _Chain:
    key: bytes
    nonce: bytes
    count: int = 0

    def seal(self, *parts: bytes | memoryview) -> bytes:
        """The seal of the next record: its bytes, its place and the file's nonce."""
        mac = hmac.new(self.key, self.nonce + self.count.to_bytes(8, "big"), hashlib.sha256)
        for part in parts:
            mac.update(part)
        self.count += 1
        return mac.digest()


class SealedWriter:
    """Writes sealed records to an open file, in order. `purpose` (what the file is, e.g.
    b"build.cache") is sealed in too, so that no file can be passed off as another."""

    def __init__(self, handle: BinaryIO, key: bytes, purpose: bytes):
        self.handle = handle
        nonce = os.urandom(_NONCE)
        self._chain = _Chain(key, nonce + purpose)
        handle.write(_MAGIC + nonce)

    def write(self, *parts: bytes) -> None:
        """One record, made of `parts` (written one after the other, not joined first: a
        record can be a worker's whole chunk of results, megabytes)."""
        size = sum(map(len, parts))
        if size > MAX_RECORD:
            raise OSError(errno.EFBIG, f"a cache record of {size:,} bytes is over the limit")
        self.handle.write(size.to_bytes(8, "big") + self._chain.seal(*parts))
        for part in parts:
            self.handle.write(part)


def read_sealed(handle: BinaryIO, key: bytes, purpose: bytes) -> Iterator[bytes]:
    """The records of a sealed file made for `purpose`, each checked before it is given;
    Unsealed as soon as one is not right (the caller drops whatever it took before)."""
    try:
        left = os.fstat(handle.fileno()).st_size - len(_MAGIC) - _NONCE
    except OSError as exc:
        raise Unsealed(f"cannot be read ({exc.strerror})") from None
    head = handle.read(len(_MAGIC) + _NONCE)
    if left < 0 or not head.startswith(_MAGIC):
        raise Unsealed("not a sealed file")
    chain = _Chain(key, head[len(_MAGIC):] + purpose)
    while left:
        record = handle.read(_HEAD)
        size = int.from_bytes(record[:8], "big")
        if len(record) < _HEAD or size > left - _HEAD:
            raise Unsealed("cut short")
        if size > MAX_RECORD:
            raise Unsealed("a record longer than any the build writes")
        data = handle.read(size)
        if len(data) != size or not hmac.compare_digest(chain.seal(data), record[8:]):
            raise Unsealed("a record's seal does not match its bytes")
        left -= _HEAD + size
        yield data


def remove_orphans(folder: Path) -> None:
    """Delete the temporary files (NAME.EXT.PID[.N].tmp, as this module and the cache
    writer name them) of builds whose process is gone: killed while writing. A file of a
    running build, another one's or this one's, is left alone. (POSIX only: on Windows
    `os.kill(pid, 0)` would end the process.)"""
    if os.name != "posix":
        return
    for path in folder.glob("*.tmp"):
        try:
            os.kill(int(path.name.split(".")[2]), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except (ValueError, IndexError, OSError):
            continue  # not a name this code gives, or a process of another user: alive


def write_sealed_file(path: Path, records: list[bytes], key: bytes, purpose: bytes) -> None:
    """A whole sealed file, written aside and renamed into place (OSError if it cannot be)."""
    spare = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(spare, "wb") as handle:
            writer = SealedWriter(handle, key, purpose)
            for record in records:
                writer.write(record)
        os.replace(spare, path)
    finally:
        spare.unlink(missing_ok=True)


def read_sealed_file(path: Path, key: bytes, purpose: bytes) -> list[bytes] | None:
    """Every record of a sealed file; None when it is missing or not a regular file;
    Unsealed when it is not right."""
    handle = open_regular(path)
    if handle is None:
        return None
    with handle:
        return list(read_sealed(handle, key, purpose))


class SealedBytecodeCache(jinja2.BytecodeCache):
    """Jinja's compiled templates kept in sealed files (Jinja's own FileSystemBytecodeCache
    unmarshals whatever file it finds: code that the next build runs). A file that is not
    right is left out (the template compiles again) and named in `refused`."""

    def __init__(self, folder: Path, pattern: str, key: bytes):
        self.folder, self.pattern, self.key = folder, pattern, key
        self.refused: list[Path] = []
        remove_orphans(folder)

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path:
        return self.folder / (self.pattern % bucket.key)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = self._path(bucket)
        try:
            records = read_sealed_file(path, self.key, b"jinja " + bucket.key.encode())
        except (Unsealed, OSError):
            records = []
        if records is None:
            return
        if len(records) != 1 or not records[0].startswith(bucket.key.encode() + b"\0"):
            self.refused.append(path)
            return
        bucket.bytecode_from_string(records[0][len(bucket.key) + 1:])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            write_sealed_file(self._path(bucket), [bucket.key.encode() + b"\0" + bucket.bytecode_to_string()],
                              self.key, b"jinja " + bucket.key.encode())
        except OSError:
            pass  # (a read-only project: templates compile each run)
