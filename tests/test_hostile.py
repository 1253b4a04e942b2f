"""Hostile content (issue 9): nothing an editor can put in content/ crashes a build, writes
outside the output folder, or runs code in a reader's browser.

- every hostile file (tests/hostile/files/ plus byte-level cases generated here) is checked
  by `build.py check --format json` run as a separate process: the result is a located
  error naming the file (or a clean check for the files that must work), never a traceback,
  a hang, a crash of the interpreter or a runaway of memory;
- paths: traversal in references and tags, reserved names, names that differ only in case,
  links out of content/: located errors, and nothing is created outside the output folder;
- markup and escaping: tests/hostile/escape has markup, `</script>`, `]]>` and `<!--` in
  every field and dangerous links of every spelling in its bodies; pages are parsed with
  html5lib (as a browser parses them), JSON-LD, Atom, the sitemap and the search index are
  parsed and must give back the exact text.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import BUILD_PY, TESTS, Output, SiteDir, read_entries, stage, text

HOSTILE = TESTS / "hostile"
FILES = HOSTILE / "files"
ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
MEMORY_LIMIT = 2 * 1024 ** 3  # address space of a hostile run; a YAML bomb must not need more

MINIMAL_CLAIM = "content/claims/agreement-not-implemented.md"
MINIMAL_SPEAKER = "content/speakers/ana-markovic.md"

DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "srcset", "xlink:href",
                  "background", "cite", "data", "ping")
INJECTED_ELEMENTS = ["x-evil", "iframe", "object", "embed", "svg", "math", "base", "style",
                     "textarea", "frame", "frameset", "applet"]


# --------------------------------------------------------------------------- helpers

@dataclass
class Proc:
    code: int | None  # None: killed after the time limit
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(args: list[str], cwd: Path, timeout: float = 60, env: dict[str, str] | None = None) -> Proc:
    """`python build.py ARGS` as its own process, memory-capped and time-limited."""
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, str(BUILD_PY), *args], cwd=cwd, capture_output=True,
                              timeout=timeout, env=env or ENV, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired as exc:
        return Proc(None, (exc.stdout or b"").decode("utf-8", "replace"),
                    (exc.stderr or b"").decode("utf-8", "replace"), time.perf_counter() - started)
    return Proc(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                proc.stderr.decode("utf-8", "replace"), time.perf_counter() - started)


def assert_clean_exit(run: Proc, what: str) -> None:
    """Exit 0 or 1 in time, with no Python traceback: the generator handled the input."""
    assert run.code is not None, f"{what}: still running after {run.seconds:.0f}s (killed)"
    assert run.code in (0, 1), f"{what}: exit code {run.code} (a crash)\n{run.err[-2000:]}"
    assert "Traceback" not in run.err, f"{what}: a Python traceback\n{run.err[-3000:]}"


def tree(root: Path) -> dict[str, bytes | str]:
    """Every path under root: file bytes, link target, or 'dir'."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                found[rel] = "dir"
            elif path.is_file():
                found[rel] = path.read_bytes()
            else:
                found[rel] = "special"
    return found


def changed_paths(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {k for k in set(before) | set(after) if before.get(k) != after.get(k)}


def dangerous(url: str) -> bool:
    """Would a browser run this URL? (It drops tabs and newlines and trims control chars.)"""
    cleaned = "".join(ch for ch in url if ch > " ").lower()
    return cleaned.startswith(DANGEROUS_SCHEMES)


def check_page_is_safe(url: str, soup: BeautifulSoup, base: str) -> None:
    for script in soup.find_all("script"):
        if script.get("src"):
            assert urlsplit(script["src"]).path.startswith(f"{base}static/"), (url, str(script))
            assert not (script.string or "").strip(), (url, str(script))
        else:
            assert script.get("type") == "application/ld+json", (url, str(script)[:300])
            assert isinstance(json.loads(script.string), dict), url
    for name in INJECTED_ELEMENTS:
        assert soup.find(name) is None, (url, name, str(soup.find(name))[:200])
    assert soup.find("img", src="x") is None, url
    for element in soup.find_all(True):
        for attribute, value in element.attrs.items():
            assert not attribute.lower().startswith("on"), (url, element.name, attribute)
            if attribute.lower() in URL_ATTRIBUTES:
                values = value if isinstance(value, list) else [value]
                for v in values:
                    assert not dangerous(v), (url, element.name, attribute, v)
        if element.name == "meta" and element.get("http-equiv", "").lower() == "refresh":
            raise AssertionError(f"{url}: a meta refresh from content")


def same(a: str, b: str) -> bool:
    """Equal up to white space (U+2028 and friends count as white space in page text)."""
    return " ".join(a.split()) == " ".join(b.split())


# --------------------------------------------------------------------------- hostile files

@dataclass
class Case:
    name: str
    make: Callable[[SiteDir, Path], None]  # writes the hostile thing into the staged site
    expect: str  # "error": a located error; "ok": a clean check; "handled": exit 0/1, no crash
    paths: tuple[str, ...] = ()  # where the error must be located (any of these)
    words: tuple[str, ...] = ()  # each in the error's message or hint (case-insensitive)
    line: int | None = None  # the error's line, when it is known
    column: int | None = None
    timeout: float = 60
    every: tuple[str, ...] = ()  # paths that must each have an error of their own


def _copy_fixture(kind: str, name: str) -> Callable[[SiteDir, Path], None]:
    def make(site: SiteDir, tmp: Path) -> None:
        shutil.copy2(FILES / kind / name, site.content / kind / name)
    return make


def _write(rel: str, data: bytes) -> Callable[[SiteDir, Path], None]:
    def make(site: SiteDir, tmp: Path) -> None:
        (site.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (site.root / rel).write_bytes(data)
    return make


def _transform(rel: str, change: Callable[[bytes], bytes]) -> Callable[[SiteDir, Path], None]:
    def make(site: SiteDir, tmp: Path) -> None:
        path = site.root / rel
        path.write_bytes(change(path.read_bytes()))
    return make


def _claim_with(header_line: str) -> bytes:
    return ("---\n" + header_line + "\nspeaker: ana-markovic\nsaid: 2022-12-21\nverdict: accurate\n"
            "reviewed: 2026-11-24\nappearances:\n  - source: example-daily-2022-12-22-talks\n---\n\nBody.\n"
            ).encode()


def _speaker_with(header_line: str) -> bytes:
    return ('---\nname: "Someone"\n' + header_line + "\n---\n").encode()


def _symlink(rel: str, target: Callable[[SiteDir, Path], Path]) -> Callable[[SiteDir, Path], None]:
    def make(site: SiteDir, tmp: Path) -> None:
        os.symlink(target(site, tmp), site.root / rel)
    return make


def _outside(site: SiteDir, tmp: Path) -> Path:
    """A folder next to the site with a perfectly valid speaker in it."""
    folder = tmp / "outside"
    folder.mkdir(exist_ok=True)
    (folder / "evil.md").write_text('---\nname: "Outsider"\nrole: "Spy"\n---\n\nRead from outside.\n')
    return folder


def _sibling(site: SiteDir, tmp: Path) -> Path:
    """content-evil/ beside content/: its path starts with the content folder's path."""
    folder = site.root / "content-evil"
    folder.mkdir(exist_ok=True)
    (folder / "evil.md").write_text('---\nname: "Prefix"\nrole: "Trick"\n---\n')
    return Path("../../content-evil/evil.md")


def _fifo(site: SiteDir, tmp: Path) -> None:
    os.mkfifo(site.content / "claims" / "pipe.md")


def _loop(site: SiteDir, tmp: Path) -> None:
    os.symlink("loop-b.md", site.content / "speakers" / "loop-a.md")
    os.symlink("loop-a.md", site.content / "speakers" / "loop-b.md")


def _case_names(site: SiteDir, tmp: Path, names: tuple[str, ...]) -> None:
    body = (site.root / MINIMAL_SPEAKER).read_bytes()
    for name in names:
        (site.content / "speakers" / name).write_bytes(body)


def _bad_file_name(site: SiteDir, tmp: Path) -> None:
    body = (site.root / MINIMAL_SPEAKER).read_bytes().replace(b"Ana Markovi\xc4\x87", b"Other Person")
    with open(os.path.join(os.fsencode(site.content / "speakers"), b"\xff\xfe-bytes.md"), "wb") as handle:
        handle.write(body)


def _position(data: bytes, needle: bytes) -> tuple[int, int]:
    """1-based line and column of the first byte of needle."""
    at = data.index(needle)
    return data[:at].count(b"\n") + 1, at - data.rfind(b"\n", 0, at)


def _latin1() -> tuple[bytes, int, int]:
    data = _claim_with('quote: "Cafe au lait"').replace(b"Cafe", b"Caf\xe9")
    return (data, *_position(data, b"\xe9"))


_RNG = random.Random(9)
BINARY_JUNK = bytes(_RNG.randrange(256) for _ in range(65536))
NUL_FREE_JUNK = bytes(_RNG.randrange(1, 256) for _ in range(4096))
LATIN1, LATIN1_LINE, LATIN1_COLUMN = _latin1()
NUL_BODY = _claim_with('quote: "x"') + b"text\x00more\n"
BELL_BODY = _claim_with('quote: "x"') + b"Context with a bell\x07 pasted in.\n"


def _deep(depth: int, opener: str = "[", closer: str = "]") -> bytes:
    return _claim_with("quote: " + opener * depth + closer * depth)


def _ten_megabytes(site: SiteDir, tmp: Path) -> None:
    with open(site.content / "claims" / "huge.md", "wb") as handle:
        handle.write(_claim_with('quote: "The agreement from 2013 has still not been implemented"'))
        line = b"All work and no play makes a very long archived article. " * 16 + b"\n"
        for _ in range(10 * 1024 * 1024 // len(line) + 1):
            handle.write(line)


RESERVED_FILES = ("CON.md", "nul.md", "Aux.md", "com1.md", "LPT9.md")
BOMB_SECONDS = 5  # a check of the minimal site takes ~0.4 s; a bomb must not take much longer

FILE_EXPECTATIONS: dict[str, dict[str, Any]] = {
    # name: expectation for the files under tests/hostile/files/<kind>/
    "missing-front-matter.md": dict(words=("front matter",), line=1),
    "unclosed-front-matter.md": dict(words=("not closed",), line=1),
    "front-matter-list.md": dict(words=("field: value",)),
    "front-matter-scalar.md": dict(words=("field: value",)),
    "front-matter-empty.md": dict(words=("field: value",)),
    "tab-indented.md": dict(line=5),
    "python-object-tag.md": dict(words=("python/object",), line=2),
    "python-new-tag.md": dict(words=("python/object",), line=2),
    "python-name-tag.md": dict(words=("python/name",), line=3),
    "unknown-local-tag.md": dict(words=("!evil",), line=2),
    "undefined-alias.md": dict(words=("alias",), line=2),
    "duplicate-key.md": dict(words=("twice",), line=4),
    "unhashable-key.md": dict(line=2),
    "binary-tag.md": dict(line=2),
    "set-tag.md": dict(line=2),
    "nan-quote.md": dict(words=("number",), line=2),
    "traversal-references.md": dict(words=("unknown speaker",), line=3),
    "version-number.md": dict(words=("1.1", "quotes"), line=3),
    # `organisation: 12:30` is 750 in YAML 1.1: a located error, or the text "12:30"
    "sexagesimal.md": dict(expect="handled"),
    # reserved names: one run with all of them (test case "reserved-file-names")
    "CON.md": dict(expect="skip"),
    "nul.md": dict(expect="skip"),
    "Aux.md": dict(expect="skip"),
    "com1.md": dict(expect="skip"),
    "LPT9.md": dict(expect="skip"),
    # alias bombs and cycles: a located error within seconds, with bounded memory
    "billion-laughs.md": dict(timeout=BOMB_SECONDS),
    "billion-laughs-mappings.md": dict(timeout=BOMB_SECONDS),
    # merge keys copy what they merge: 20 lines of `<<: [*l, *l, *l, *l]` are 4^20 copies
    "billion-laughs-merge.md": dict(words=("aliases",), line=2, timeout=BOMB_SECONDS),
    "recursive-alias.md": dict(timeout=BOMB_SECONDS),
    "recursive-alias-mapping.md": dict(timeout=BOMB_SECONDS),
    # YAML 1.1 surprises that must stay text: `country: NO`, `role: 2022-12-21`, `off`, `yes`
    "yaml-one-one.md": dict(expect="ok"),
    # tags, not file names: checked by a build below (test_reserved_tag_names_...)
    "reserved-tags.md": dict(expect="skip"),
}


def _file_cases() -> list[Case]:
    cases = []
    for path in sorted(FILES.glob("*/*.md")):
        kind, name = path.parent.name, path.name
        spec = dict(FILE_EXPECTATIONS.get(name, {}))
        expect = spec.pop("expect", "error")
        if expect == "skip":
            continue
        cases.append(Case(f"file:{kind}/{name}", _copy_fixture(kind, name), expect,
                          (f"content/{kind}/{name}",), **spec))
    return cases


GENERATED: list[Case] = [
    Case("empty-file", _write("content/claims/empty.md", b""), "error",
         ("content/claims/empty.md",), ("empty",)),
    Case("whitespace-only", _write("content/claims/blank.md", b" \n\n\t\r\n  \n"), "error",
         ("content/claims/blank.md",), ("empty",)),
    Case("ten-megabytes", _ten_megabytes, "error", ("content/claims/huge.md",), ("too large",)),
    Case("binary-junk", _write("content/claims/junk.md", BINARY_JUNK), "error",
         ("content/claims/junk.md",), ("binary",)),
    Case("random-bytes-no-nul", _write("content/claims/noise.md", NUL_FREE_JUNK), "error",
         ("content/claims/noise.md",), ("UTF-8",)),
    Case("latin-1-byte", _write("content/claims/latin1.md", LATIN1), "error",
         ("content/claims/latin1.md",), ("UTF-8", "0xe9"), LATIN1_LINE, LATIN1_COLUMN),
    Case("utf-16", _write("content/claims/utf16.md", "---\nquote: \"x\"\n---\n".encode("utf-16")),
         "error", ("content/claims/utf16.md",)),
    Case("nul-in-body", _write("content/claims/nul-body.md", NUL_BODY), "error",
         ("content/claims/nul-body.md",), ("binary",), _position(NUL_BODY, b"\x00")[0]),
    Case("raw-control-character", _write("content/claims/control.md", _claim_with('quote: "a\x01b"')),
         "error", ("content/claims/control.md",), (), 2),
    Case("control-character-in-body", _write("content/claims/bell.md", BELL_BODY), "error",
         ("content/claims/bell.md",), ("U+0007",), *_position(BELL_BODY, b"\x07")),
    Case("huge-integer", _write("content/speakers/huge-int.md", _speaker_with("role: " + "9" * 5000)),
         "error", ("content/speakers/huge-int.md",), ("number",), 3),
    Case("huge-hex-integer", _write("content/speakers/huge-hex.md",
                                    _speaker_with("role: 0x" + "f" * 5000)),
         "error", ("content/speakers/huge-hex.md",), (), 3),
    Case("deep-list-2000", _write("content/claims/deep.md", _deep(2000)), "error",
         ("content/claims/deep.md",), (), 2),
    Case("deep-mapping-2000", _write("content/claims/deep-map.md", _deep(2000, "{a: ", "}")), "error",
         ("content/claims/deep-map.md",), (), 2),
    Case("deep-list-100000", _write("content/claims/deeper.md", _deep(100_000)), "error",
         ("content/claims/deeper.md",), (), 2, timeout=30),
    Case("bom", _transform(MINIMAL_CLAIM, lambda b: b"\xef\xbb\xbf" + b), "ok"),
    Case("crlf", _transform(MINIMAL_CLAIM, lambda b: b.replace(b"\n", b"\r\n")), "ok"),
    Case("cr-only", _transform(MINIMAL_CLAIM, lambda b: b.replace(b"\n", b"\r")), "ok"),
    Case("bom-and-crlf", _transform(MINIMAL_SPEAKER, lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n")),
         "ok"),
    Case("fence-with-trailing-spaces", _transform(MINIMAL_CLAIM, lambda b: b.replace(b"---\n", b"---  \n")),
         "ok"),
    Case("emoji-file-name", _write("content/speakers/\U0001f642.md", _speaker_with('role: "x"')), "error",
         ("content/speakers/\U0001f642.md",), ("empty",), 1),
    Case("names-differing-in-case", lambda s, t: _case_names(s, t, ("Vucic.md", "vucic.md")), "error",
         ("content/speakers/Vucic.md", "content/speakers/vucic.md"), ("already used",), 1),
    Case("names-differing-in-accents", lambda s, t: _case_names(s, t, ("vučić.md", "vucic.md")), "error",
         ("content/speakers/vučić.md", "content/speakers/vucic.md"), ("already used",), 1),
    Case("invalid-utf-8-file-name", _bad_file_name, "handled"),
    Case("symlink-file-out", _symlink("content/speakers/evil.md", lambda s, t: _outside(s, t) / "evil.md"),
         "error", ("content/speakers/evil.md",), ("outside",)),
    Case("symlink-folder-out", _symlink("content/speakers/evil", _outside), "error",
         ("content/speakers/evil",), ("outside",)),
    Case("symlink-kind-folder-out", _symlink("content/pages", _outside), "error",
         ("content/pages",), ("outside",)),
    Case("symlink-prefix-sibling", _symlink("content/speakers/prefix.md", _sibling), "error",
         ("content/speakers/prefix.md",), ("outside",)),
    Case("symlink-broken", _symlink("content/speakers/broken.md", lambda s, t: t / "no-such-file.md"),
         "error", ("content/speakers/broken.md",)),
    Case("symlink-to-content-root", _symlink("content/claims/up", lambda s, t: Path("..")), "handled"),
    Case("reserved-file-names", lambda s, t: [shutil.copy2(FILES / "speakers" / n, s.content / "speakers")
                                              for n in RESERVED_FILES],
         "error", tuple(f"content/speakers/{n}" for n in RESERVED_FILES), ("reserved",), 1,
         every=tuple(f"content/speakers/{n}" for n in RESERVED_FILES)),
    Case("symlink-loop", _loop, "error", ("content/speakers/loop-a.md", "content/speakers/loop-b.md"),
         timeout=20),
    Case("fifo-named-md", _fifo, "handled", timeout=BOMB_SECONDS),
    Case("folder-named-md", _write("content/claims/folder.md/inner.md", _claim_with('quote: "x"')),
         "handled"),
]

CASES = _file_cases() + GENERATED


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory) -> dict[str, tuple[Case, SiteDir, Proc, Path]]:
    """Every case staged in its own copy of the minimal site and checked, three at a time."""
    root = tmp_path_factory.mktemp("hostile-files")
    staged = []
    for i, case in enumerate(CASES):
        tmp = root / f"case{i:02d}"
        site = stage("sites", "minimal", tmp)
        case.make(site, tmp)
        staged.append((case, site, tmp))
    before = {case.name: tree(tmp) for case, site, tmp in staged}

    def check(item: tuple[Case, SiteDir, Path]) -> Proc:
        case, site, tmp = item
        return run_cli(["check", "--config", "site_config.yaml", "--format", "json"], site.root,
                       timeout=case.timeout)

    # the slow ones (if factsite hangs on them) first, so they overlap with the rest
    order = sorted(range(len(staged)), key=lambda i: -staged[i][0].timeout)
    results: list[Proc | None] = [None] * len(staged)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {pool.submit(check, staged[i]): i for i in order}
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
    changed = {case.name: changed_paths(before[case.name], tree(tmp)) for case, site, tmp in staged}
    return {case.name: (case, site, run, tmp, changed[case.name])
            for (case, site, tmp), run in zip(staged, results)}


WALKED = ["symlink-file-out", "symlink-folder-out", "symlink-kind-folder-out", "symlink-prefix-sibling",
          "symlink-broken", "symlink-to-content-root", "symlink-loop", "fifo-named-md", "folder-named-md"]


@pytest.fixture(scope="module")
def walked_runs(hostile_runs, tmp_path_factory) -> dict[str, tuple[Proc, Proc]]:
    """`build` and `check` (as text) of each WALKED case, four processes at a time."""
    out = tmp_path_factory.mktemp("walked")

    def both(name: str) -> tuple[Proc, Proc]:
        case, site = hostile_runs[name][:2]
        built = run_cli(["build", "--config", "site_config.yaml", "--output", str(out / name)], site.root,
                        timeout=case.timeout)
        return built, run_cli(["check", "--config", "site_config.yaml"], site.root, timeout=case.timeout)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(WALKED, pool.map(both, WALKED)))


@pytest.mark.parametrize("name", WALKED)
def test_a_build_meets_links_and_odd_files_as_check_does(hostile_runs, walked_runs, name: str):
    """`build` reads the content from the up-to-date check's walk, which follows links (a
    loop of them included), where `check` lists the folders itself: the same problems,
    and no crash."""
    case = hostile_runs[name][0]
    built, checked = walked_runs[name]
    assert_clean_exit(built, name)

    def problems(output: str) -> list[str]:
        return [line for line in output.splitlines() if ": error: " in line or ": warning: " in line
                or line.startswith("    hint: ")]
    assert built.code == checked.code, built.text[-2000:]
    assert problems(built.err) == problems(checked.out)
    if case.expect == "error":
        assert any(": error: " in line for line in problems(built.err))


def test_the_corpus_is_large_enough():
    assert len(CASES) + len(RESERVED_FILES) - 1 >= 55
    assert {c.expect for c in CASES} == {"error", "ok", "handled"}


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_hostile_file_gives_a_located_error_never_a_crash(hostile_runs, name: str):
    case, site, run, tmp, changed = hostile_runs[name]
    assert_clean_exit(run, name)
    problems = json.loads(run.out)
    assert isinstance(problems, list)
    for p in problems:
        assert p["path"] and p["message"] and p["hint"], p
    errors = [p for p in problems if p["severity"] == "error"]
    if case.expect == "ok":
        assert run.code == 0 and problems == [], problems
        return
    if case.expect == "handled":
        # a clean result, or located errors inside the content folder
        if run.code == 1:
            assert errors and all(p["path"].startswith("content/") for p in errors), problems
        return
    assert run.code == 1, f"{name}: accepted\n{run.text[-1500:]}"
    located = [p for p in errors if p["path"] in case.paths]
    assert located, f"{name}: no error located at {case.paths}: {problems}"
    if case.words:
        assert any(all(w.lower() in (p["message"] + " " + p["hint"]).lower() for w in case.words)
                   for p in located), (case.words, located)
    if case.line is not None:
        assert any(p["line"] == case.line for p in located), (case.line, located)
    if case.column is not None:
        assert any(p["column"] == case.column for p in located), (case.column, located)
    for path in case.every:
        assert any(p["path"] == path for p in errors), (path, problems)


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_a_check_writes_nothing_but_its_cache(hostile_runs, name: str):
    case, site, run, tmp, changed = hostile_runs[name]
    cache = (site.root / ".cache").relative_to(tmp).as_posix()
    assert {p for p in changed if p != cache and not p.startswith(cache + "/")} == set()


def test_yaml_tags_never_run_code(hostile_runs):
    for name in ("file:claims/python-object-tag.md", "file:claims/python-new-tag.md"):
        case, site, run, tmp, changed = hostile_runs[name]
        assert not (site.root / "pwned-by-yaml").exists()
        assert not list(tmp.rglob("pwned-by-yaml"))


def test_links_out_of_content_are_not_followed(hostile_runs):
    case, site, run, tmp, changed = hostile_runs["symlink-file-out"]
    assert "Outsider" not in run.text
    assert (tmp / "outside" / "evil.md").read_text().startswith("---\nname: \"Outsider\"")


def test_tab_indentation_error_says_tabs(hostile_runs):
    """_yaml_hint has a hint for tabs; libyaml's wording must reach it."""
    case, site, run, tmp, changed = hostile_runs["file:claims/tab-indented.md"]
    located = [p for p in json.loads(run.out) if p["path"] == "content/claims/tab-indented.md"]
    assert any("tab" in (p["message"] + p["hint"]).lower() for p in located), located


def test_byte_level_cases_that_must_build(tmp_path: Path):
    """BOM, CRLF and CR line ends: the site builds and shows the same text as the plain file."""
    site = stage("sites", "minimal", tmp_path)
    plain = site.build(tmp_path / "plain")
    assert not plain.problems.errors
    expected = Output(tmp_path / "plain").files()
    for change in (lambda b: b"\xef\xbb\xbf" + b, lambda b: b.replace(b"\n", b"\r\n"),
                   lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r")):
        saved = {p: (site.root / p).read_bytes() for p in (MINIMAL_CLAIM, MINIMAL_SPEAKER)}
        for rel, data in saved.items():
            (site.root / rel).write_bytes(change(data))
        out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
        site.build(out, use_cache=False)
        got = Output(out).files()
        assert sorted(got) == sorted(expected)
        differing = [name for name in got if got[name] != expected[name]]
        assert differing == [], differing
        for rel, data in saved.items():
            (site.root / rel).write_bytes(data)


# --------------------------------------------------------------------------- YAML 1.1 surprises

@pytest.fixture(scope="module")
def yaml11(tmp_path_factory) -> tuple[SiteDir, Output]:
    tmp = tmp_path_factory.mktemp("yaml11")
    site = stage("sites", "minimal", tmp)
    shutil.copy2(FILES / "speakers" / "yaml-one-one.md", site.content / "speakers")
    # the speaker needs a claim to be listed anywhere interesting
    claim = (site.root / MINIMAL_CLAIM).read_text(encoding="utf-8")
    (site.content / "claims" / "norway-claim.md").write_text(
        claim.replace("speaker: ana-markovic", "speaker: yaml-one-one"), encoding="utf-8")
    result = site.build(tmp / "out")
    assert not result.problems.errors, result.problems.format_text()
    return site, Output(tmp / "out", "/", "html5lib")


def test_country_no_stays_the_text_no(yaml11):
    site, out = yaml11
    page = out.main("/speakers/yaml-one-one/")
    lede = text(page.find(class_="lede"))
    assert "(NO)" in lede, lede
    for url in out.html_pages():
        assert "False" not in out.soup(url).get_text(), url
    index = json.loads((out.root / "search" / "index.json").read_text(encoding="utf-8"))
    speaker = next(r for r in index["records"] if r[1] == "speakers/yaml-one-one/")
    assert speaker[3] == "2022-12-21"  # the role, as written
    assert speaker[4].split() == ["yes", "No", "ON", "y", "n", "~", "null-ish"]


def test_unquoted_date_in_a_text_field_is_shown_as_written(yaml11):
    site, out = yaml11
    lede = text(out.main("/speakers/yaml-one-one/").find(class_="lede"))
    assert lede.startswith("2022-12-21, off"), lede
    data = json.loads(out.soup("/claims/norway-claim/").find("script", type="application/ld+json").string)
    assert data["itemReviewed"]["author"]["jobTitle"] == "2022-12-21"


def test_version_number_in_a_text_field_is_an_error_with_a_hint_to_quote(hostile_runs):
    case, site, run, tmp, changed = hostile_runs["file:speakers/version-number.md"]
    (problem,) = [p for p in json.loads(run.out) if p["path"] == "content/speakers/version-number.md"]
    assert (problem["line"], problem["column"]) == (3, 1)
    assert "1.1" in problem["message"] and "double quotes" in problem["hint"]


# --------------------------------------------------------------------------- paths

def test_output_paths_that_could_escape_are_refused():
    """Files are written only into the build's own fresh staging folder (no links
    inside), so checking the relative path's text is enough."""
    from factsite.urls import check_relative

    for relative in ("../output-evil/x", "../output/../output-evil/x", "/etc/passwd", "\\windows",
                     "a/../../output-evil/x", "..", "a/\0b", "a\\..\\..\\x"):
        with pytest.raises(ValueError):
            check_relative(relative)
    check_relative("claims/x/index.html")


def test_reserved_tag_names_do_not_become_folders(tmp_path: Path):
    """A tag `CON` or `nul` would be the folder tags/con/, which Windows cannot create:
    a located error, or a slug that is not a reserved name."""
    site = stage("sites", "minimal", tmp_path)
    shutil.copy2(FILES / "claims" / "reserved-tags.md", site.content / "claims" / "reserved-tags.md")
    reserved = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
    run = run_cli(["build", "--config", "site_config.yaml", "--output", str(tmp_path / "out")], site.root)
    assert_clean_exit(run, "reserved tags")
    if run.code == 1:
        assert "content/claims/reserved-tags.md:" in run.err, run.err
        return
    for path in (tmp_path / "out").rglob("*"):
        parts = {part.split(".")[0].lower() for part in path.relative_to(tmp_path / "out").parts}
        assert not parts & reserved, path


PATHISH_TAGS = ["../../../../tmp/evil1", "..\\..\\evil2", "/etc/passwd", "%2e%2e%2fetc", "．．／evil3",
                "x/../../y", "C:\\Windows\\System32", "~/.ssh/id_rsa", "file:///etc/passwd", "a\u202eb"]


def test_path_like_values_stay_inside_the_output(tmp_path: Path):
    """Values that look like paths are only ever slugs: the build writes nothing outside output/."""
    site = stage("sites", "minimal", tmp_path / "site")
    claim = site.root / MINIMAL_CLAIM
    claim.write_text(claim.read_text(encoding="utf-8").replace(
        'tags: ["Dialogue", "Agreements"]', "tags: " + json.dumps(PATHISH_TAGS)), encoding="utf-8")
    speaker = site.root / MINIMAL_SPEAKER
    speaker.write_text(speaker.read_text(encoding="utf-8").replace(
        'aliases: ["Ana Markovic"]', 'aliases: ["../../../etc/passwd", "/root/.bashrc"]'), encoding="utf-8")
    before = tree(tmp_path)
    run = run_cli(["build", "--config", "site_config.yaml", "--output", str(tmp_path / "out")], site.root)
    assert_clean_exit(run, "path-like tags")
    assert run.code == 0, run.err
    after = tree(tmp_path)
    outside = {p for p in changed_paths(before, after)
               if not p.startswith("out/") and p != "out"
               and not p.startswith("site/tests/sites/minimal/.cache") and not p.endswith(".out.lock")}
    assert outside == set(), outside
    for tag_dir in (tmp_path / "out" / "tags").iterdir():
        assert tag_dir.name == "index.html" or re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", tag_dir.name), tag_dir
    index = json.loads((tmp_path / "out" / "search" / "index.json").read_text(encoding="utf-8"))
    extra = next(r[4] for r in index["records"] if r[0] == "claim" and "2013" in r[2])
    for tag in PATHISH_TAGS:
        assert tag.strip() in extra


def test_hostile_paths_together_write_nothing_anywhere(tmp_path: Path):
    """All the path tricks in one site: a failed build with each one located, and not one
    file created, changed or removed outside the build's cache and lock."""
    site = stage("sites", "minimal", tmp_path / "site")
    for name in ("traversal-references.md",):
        shutil.copy2(FILES / "claims" / name, site.content / "claims" / name)
    for name in ("CON.md", "nul.md", "Aux.md", "com1.md", "LPT9.md"):
        shutil.copy2(FILES / "speakers" / name, site.content / "speakers" / name)
    _case_names(site, tmp_path, ("Vucic.md", "vucic.md"))
    (site.content / "speakers" / "\U0001f642.md").write_bytes(_speaker_with('role: "x"'))
    os.symlink(_outside(site, tmp_path) / "evil.md", site.content / "speakers" / "evil.md")
    os.symlink(tmp_path / "outside", site.content / "speakers" / "evil-folder")
    os.symlink(_sibling(site, tmp_path), site.content / "speakers" / "prefix.md")
    out = tmp_path / "out"
    before = tree(tmp_path)
    run = run_cli(["build", "--config", "site_config.yaml", "--output", str(out)], site.root)
    assert_clean_exit(run, "all path tricks")
    assert run.code == 1
    for shown in ("content/claims/traversal-references.md:3", "content/speakers/CON.md:1",
                  "content/speakers/nul.md:1", "content/speakers/vucic.md:1",
                  "content/speakers/\U0001f642.md:1", "content/speakers/evil.md:",
                  "content/speakers/evil-folder:", "content/speakers/prefix.md:"):
        assert shown in run.err, (shown, run.err)
    assert not out.exists()
    after = tree(tmp_path)
    changed = {p for p in changed_paths(before, after)
               if not p.startswith("site/tests/sites/minimal/.cache") and not p.endswith(".out.lock")}
    assert changed == set(), changed


# --------------------------------------------------------------------------- output folder

def _home_with_files(tmp: Path) -> Path:
    home = tmp / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "thesis.txt").write_text("years of work\n")
    (home / ".bashrc").write_text("export PATH\n")
    return home


@pytest.mark.parametrize("where", ["home", "home-parent", "project-root", "foreign", "file", "symlink"])
def test_output_folder_the_generator_did_not_make_is_refused(tmp_path: Path, where: str):
    site = stage("sites", "minimal", tmp_path / "project")
    home = _home_with_files(tmp_path / "users")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8 not really")
    (tmp_path / "notes.txt").write_text("a file\n")
    os.symlink(foreign, tmp_path / "link-to-photos")
    target = {"home": home, "home-parent": home.parent, "project-root": site.root, "foreign": foreign,
              "file": tmp_path / "notes.txt", "symlink": tmp_path / "link-to-photos"}[where]
    before = tree(tmp_path)
    run = run_cli(["build", "--config", "site_config.yaml", "--output", str(target)], site.root,
                  env={**ENV, "HOME": str(home)})
    assert_clean_exit(run, where)
    assert run.code == 1, run.text
    assert "refusing" in run.err or "not a folder" in run.err, run.err
    after = tree(tmp_path)
    changed = {p for p in changed_paths(before, after)
               if ".cache" not in p.split("/") and not p.endswith(".lock")}
    assert changed == set(), changed


# --------------------------------------------------------------------------- escaping

@pytest.fixture(scope="module")
def escape(tmp_path_factory) -> tuple[SiteDir, Output]:
    tmp = tmp_path_factory.mktemp("escape")
    site = stage("hostile", "escape", tmp)
    result = site.build(tmp / "out")
    assert not result.problems.errors, result.problems.format_text()
    return site, Output(tmp / "out", "/", "html5lib")


@pytest.fixture(scope="module")
def fields(escape) -> dict[str, Any]:
    site, out = escape
    config = yaml.safe_load(site.config.read_text(encoding="utf-8"))
    return dict(config=config,
                claim=read_entries(site.content, "claims")["payload"].data,
                speaker=read_entries(site.content, "speakers")["mallory"].data,
                event=read_entries(site.content, "events")["summit"].data,
                source=read_entries(site.content, "sources")["daily"].data,
                page=read_entries(site.content, "pages")["about"].data)


def test_escape_fixture_has_the_payloads(fields):
    for kind in ("claim", "speaker", "event", "source", "page", "config"):
        values = json.dumps(fields[kind], default=str)
        assert "script" in values or "<" in values, kind
    assert "</script>" in fields["claim"]["quote"] and "]]>" in fields["claim"]["quote"]
    assert "\u2028" in fields["speaker"]["name"] and "\u2029" in fields["event"]["place"]


def test_every_page_is_safe(escape):
    site, out = escape
    pages = out.html_pages()
    assert len(pages) > 15
    for url in pages:
        check_page_is_safe(url, out.soup(url), out.base)


def test_dangerous_links_are_dropped_and_safe_ones_kept(escape):
    site, out = escape
    notes = out.main("/claims/payload/").find(class_="notes")
    links = {text(a): a["href"] for a in notes.find_all("a", href=True)}
    for label in ("lower", "upper", "mixed", "spaced", "hex entity", "decimal entity", "all entities",
                  "colon entity", "vbscript", "VBScript", "data html", "DATA", "pointy", "reference",
                  "shortcut", "collapsed"):
        assert label not in links, (label, links.get(label))
        assert label in text(notes), label  # the words stay readable
    assert not notes.find_all("img", src=lambda v: v and dangerous(v))
    assert links["site"] == "https://example.org/safe"
    assert links["mail"] == "mailto:desk@example.org"
    assert links["relative"] == "/claims/"
    assert links["anchor"] == "#notes"
    titled = notes.find("a", string="titled")
    assert titled["title"] == 't" onmouseover="alert(122)' and len(titled.attrs) == 2
    image = notes.find("img", src="https://example.org/x.png")
    assert image["alt"] == 'alt" onerror="alert(124)' and set(image.attrs) == {"src", "alt"}
    for url in ("/speakers/mallory/", "/events/summit/", "/about/"):
        body = out.main(url)
        assert not [a for a in body.find_all(["a", "img"]) if dangerous(a.get("href") or a.get("src") or "")]
    assert "<JaVaScRiPt:alert(18)>" in text(out.main("/events/summit/"))


def test_raw_html_is_text_by_default(escape):
    site, out = escape
    notes = out.main("/claims/payload/").find(class_="notes")
    assert "<script>alert(130)</script>" in text(notes)
    assert '<a href="javascript:alert(131)">raw</a>' in text(notes)
    assert out.main("/about/").find("b") is None
    assert "<b>raw bold</b>" in text(out.main("/about/"))


def test_markdown_html_opt_in_renders_html_but_still_drops_script_links(tmp_path: Path):
    site = stage("hostile", "escape", tmp_path)
    config = site.config.read_text(encoding="utf-8")
    site.config.write_text(config + "markdown_html: true\n", encoding="utf-8")
    result = site.build(tmp_path / "out")
    assert not result.problems.errors, result.problems.format_text()
    out = Output(tmp_path / "out", "/", "html5lib")
    assert text(out.main("/about/").find("b")) == "raw bold"
    notes = out.main("/claims/payload/").find(class_="notes")
    markdown_links = {text(a): a.get("href") for a in notes.find_all("a")}
    for label in ("lower", "upper", "hex entity", "vbscript", "data html", "reference", "shortcut"):
        assert label not in markdown_links, (label, markdown_links.get(label))


def test_json_ld_gives_back_every_value(escape, fields):
    site, out = escape
    (block,) = out.soup("/claims/payload/").find_all("script", type="application/ld+json")
    raw = block.string
    assert "</" not in raw and "<!--" not in raw and "\u2028" not in raw
    data = json.loads(raw)
    claim, speaker, source, config = fields["claim"], fields["speaker"], fields["source"], fields["config"]
    assert data["claimReviewed"] == claim["quote"]
    assert data["itemReviewed"]["author"]["name"] == speaker["name"]
    assert data["itemReviewed"]["author"]["jobTitle"] == speaker["role"]
    (appearance,) = data["itemReviewed"]["appearance"]
    assert appearance["headline"] == source["title"]
    assert appearance["publisher"]["name"] == source["outlet"]
    assert appearance["url"] == source["url"]
    assert data["author"]["name"] == config["publisher"]
    assert data["reviewRating"]["alternateName"] == config["verdicts"][1]["label"]


def test_atom_feeds_are_well_formed_and_keep_the_text(escape, fields):
    site, out = escape
    atom = "{http://www.w3.org/2005/Atom}"
    feeds = sorted(out.root.rglob("*.xml"))
    assert len(feeds) >= 4  # site, speaker, event feeds and the sitemap
    for path in feeds:
        ET.parse(path)  # raises on anything that is not well-formed
    claim, speaker, config = fields["claim"], fields["speaker"], fields["config"]
    root = ET.parse(out.root / "feed.xml").getroot()
    assert config["title"] in root.find(f"{atom}title").text
    assert root.find(f"{atom}subtitle").text == config["description"]
    assert root.find(f"{atom}author/{atom}name").text == config["publisher"]
    entry = root.find(f"{atom}entry")
    title = entry.find(f"{atom}title").text
    assert speaker["name"] in title and claim["quote"] in title
    assert claim["summary"] in entry.find(f"{atom}summary").text
    assert entry.find(f"{atom}category").get("label") == config["verdicts"][1]["label"]
    speaker_feed = ET.parse(out.root / "speakers" / "mallory" / "feed.xml").getroot()
    assert speaker["name"] in speaker_feed.find(f"{atom}title").text
    event_feed = ET.parse(out.root / "events" / "summit" / "feed.xml").getroot()
    assert fields["event"]["name"] in event_feed.find(f"{atom}title").text


def test_sitemap_is_well_formed(escape):
    site, out = escape
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    locs = [loc.text for loc in ET.parse(out.root / "sitemap.xml").getroot().iter(f"{ns}loc")]
    assert "https://example.org/claims/payload/" in locs
    assert all(loc.startswith("https://example.org/") for loc in locs)


def test_search_index_keeps_the_raw_text(escape, fields):
    site, out = escape
    index = json.loads((out.root / "search" / "index.json").read_text(encoding="utf-8"))
    by_url = {r[1]: dict(zip(index["fields"], r)) for r in index["records"]}
    claim, speaker, event, source = (fields[k] for k in ("claim", "speaker", "event", "source"))
    assert by_url["claims/payload/"]["title"] == claim["quote"]
    assert speaker["name"] in by_url["claims/payload/"]["detail"]
    extra = by_url["claims/payload/"]["extra"]
    for value in [*speaker["aliases"], *claim["tags"], event["name"], source["outlet"]]:
        assert value in extra, value
    assert by_url["speakers/mallory/"]["title"] == speaker["name"]
    assert by_url["speakers/mallory/"]["detail"] == speaker["role"]
    assert by_url["events/summit/"]["title"] == event["name"]
    assert event["place"] in by_url["events/summit/"]["detail"]
    assert by_url["sources/daily/"]["title"] == source["title"]
    assert by_url["sources/daily/"]["extra"] == source["author"]


def test_text_lands_as_text_in_html_and_attributes(escape, fields):
    site, out = escape
    claim, speaker, event, source, page, config = (
        fields[k] for k in ("claim", "speaker", "event", "source", "page", "config"))
    soup = out.soup("/claims/payload/")
    assert claim["quote"] in text(soup.find("main").find("h1"))
    assert same(soup.find("meta", attrs={"name": "description"})["content"], claim["summary"])
    assert same(text(soup.find(class_="summary")), claim["summary"])
    assert config["title"] in soup.title.get_text()
    tags = [text(a) for a in soup.find("ul", class_="tags").find_all("a")]
    assert tags == claim["tags"]
    assert any(same(text(a), speaker["name"]) for a in soup.find("main").find_all("a"))
    s = out.soup("/speakers/mallory/")
    assert same(text(s.find("main").find("h1")), speaker["name"])
    lede = text(s.find("main").find(class_="lede"))
    for key in ("role", "organisation", "country"):
        assert speaker[key] in lede, key
    assert same(s.find("meta", property="og:title")["content"], speaker["name"])
    e = out.main("/events/summit/")
    assert same(text(e.find("h1")), event["name"])
    assert " ".join(event["place"].split()) in text(e)
    src = out.main("/sources/daily/")
    assert same(text(src.find("h1")), source["title"])
    for key in ("outlet", "author"):
        assert source[key] in text(src), key
    assert source["url"] in [a.get("href") for a in src.find_all("a")]
    assert source["archive_url"] in [a.get("href") for a in src.find_all("a")]
    assert same(text(out.main("/about/").find("h1")), page["title"])
    verdicts = text(out.main("/verdicts/misleading/"))
    assert config["verdicts"][1]["description"] in verdicts


def test_hostile_base_url_path_is_escaped(tmp_path: Path):
    site = stage("sites", "minimal", tmp_path)
    config = site.config.read_text(encoding="utf-8")
    site.config.write_text(config.replace(
        "base_url: https://example.org/",
        "base_url: 'https://example.org/a\"''><script>alert(1)</script>&b/'"), encoding="utf-8")
    run = run_cli(["build", "--config", "site_config.yaml", "--output", str(tmp_path / "out")], site.root)
    assert_clean_exit(run, "hostile base_url")
    if run.code == 1:
        assert "base" in run.err.lower(), run.err
        return
    out = Output(tmp_path / "out", "/", "html5lib")
    for path in sorted((tmp_path / "out").rglob("*.html")):
        soup = BeautifulSoup(path.read_bytes(), "html5lib")
        check_page_is_safe(str(path), soup, "/a\"'><script>alert(1)</script>&b/")
    for path in sorted((tmp_path / "out").rglob("*.xml")):
        ET.parse(path)
    assert out.root.joinpath("search", "index.json").is_file()


CONTROL_ESCAPES = ["\\0", "\\x01", "\\b", "\\x0b", "\\f", "\\x1b", "\\x1f", "\\uFFFE", "\\uFFFF"]


def test_control_characters_from_yaml_escapes_never_break_the_xml(tmp_path: Path):
    """`name: "a\\x01b"` is valid YAML, but U+0001 may not appear in XML. One speaker per
    character (each has an Atom feed with the name in its title): a located error at each
    speaker, or feeds and sitemap that all parse (the character dropped or replaced)."""
    site = stage("sites", "minimal", tmp_path)
    template = (site.root / MINIMAL_SPEAKER).read_text(encoding="utf-8")
    speakers = {}
    for i, code in enumerate(CONTROL_ESCAPES):
        rel = f"content/speakers/control-{i}.md"
        (site.root / rel).write_text(template.replace('name: "Ana Marković"', f'name: "Ana {code} {i}"'),
                                     encoding="utf-8")
        speakers[code] = rel
    run = run_cli(["build", "--config", "site_config.yaml", "--output", str(tmp_path / "out")], site.root)
    assert_clean_exit(run, "control characters")
    if run.code == 1:
        unlocated = [code for code, rel in speakers.items() if f"{rel}:2" not in run.err]
        assert unlocated == [], (unlocated, run.err)
        return
    bad = []
    for path in sorted((tmp_path / "out").rglob("*.xml")):
        try:
            ET.parse(path)
        except ET.ParseError as exc:
            bad.append(f"{path.relative_to(tmp_path / 'out')}: {exc}")
    assert bad == [], f"{len(bad)} XML files are not well-formed: {bad}"
    json.loads((tmp_path / "out" / "search" / "index.json").read_text(encoding="utf-8"))
