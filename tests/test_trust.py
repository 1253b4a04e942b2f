"""Nothing stale and nothing trusted that should not be (issue 23).

- an edit is built however little it changes of a file's stamp: same size, same mtime
  (`touch -r`, `rsync -t`, editors that keep times), two files swapped by rename, and on a
  file system that keeps times to the second;
- `check` never vouches for content from a cache without reading the file.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Callable

import pytest

from conftest import SiteDir, stage, stage_sample
from factsite import loading

MINIMAL_CLAIM = "content/claims/talks-resume-in-january.md"
OTHER_CLAIM = "content/claims/agreement-not-implemented.md"
SOURCE = "content/sources/example-daily-2022-12-22-talks.md"
SPEAKER = "content/speakers/ana-markovic.md"
EVENT = "content/events/press-conference-2022.md"


def contents(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def same_length_edit(path: Path, old: str, new: str) -> None:
    """Replace `old` by `new` (as long in bytes) and put the file's times back, as a tool
    that keeps modification times does."""
    assert len(old.encode()) == len(new.encode())
    info = path.stat()
    data = path.read_bytes()
    assert old.encode() in data, f"{old!r} not in {path}"
    path.write_bytes(data.replace(old.encode(), new.encode(), 1))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (info.st_size, info.st_mtime_ns)


def swap(a: Path, b: Path) -> None:
    """Exchange two files by renames (their times go with them)."""
    spare = a.with_name(".swap")
    os.rename(a, spare)
    os.rename(b, a)
    os.rename(spare, b)


# every kind of field, each edited without changing the file's size or mtime
SAME_STAMP_EDITS: dict[str, Callable[[SiteDir], None]] = {
    "claim body": lambda s: same_length_edit(s.root / OTHER_CLAIM, "end of 2022.", "end of 2021."),
    "claim verdict": lambda s: same_length_edit(s.root / OTHER_CLAIM, "verdict: accurate",
                                                "verdict: opinion "),
    "claim date": lambda s: same_length_edit(s.root / OTHER_CLAIM, "said: 2022-12-21", "said: 2022-12-20"),
    "claim tag": lambda s: same_length_edit(s.root / OTHER_CLAIM, '"Agreements"', '"Agreement!"'),
    "speaker role": lambda s: same_length_edit(s.root / SPEAKER, "Minister of Foreign", "Minister of Finance"),
    "speaker bio": lambda s: same_length_edit(s.root / SPEAKER, "since 2020.", "since 2019."),
    "event name": lambda s: same_length_edit(s.root / EVENT, "Brussels round", "Brussels talks"),
    "source outlet": lambda s: same_length_edit(s.root / SOURCE, '"Example Daily"', '"Example Dairy"'),
    "source text": lambda s: same_length_edit(s.root / SOURCE, "The next round", "The last round"),
    "template": lambda s: same_length_edit(s.top / "templates" / "macros.html",
                                           'class="card claim-card"', 'class="card claim-kard"'),
    "config": lambda s: same_length_edit(s.config, "title: Minimal Fact Checks",
                                         "title: Minimal Fact Chucks"),
    "claims swapped by rename": lambda s: swap(s.root / OTHER_CLAIM, s.root / MINIMAL_CLAIM),
}


@pytest.fixture
def minimal(tmp_path: Path) -> SiteDir:
    return stage("sites", "minimal", tmp_path / "site")


@pytest.mark.parametrize("change", sorted(SAME_STAMP_EDITS))
def test_an_edit_that_keeps_size_and_mtime_is_built(minimal: SiteDir, tmp_path: Path, change: str,
                                                     settled_at_once):
    out = tmp_path / "out"
    minimal.build(out)
    SAME_STAMP_EDITS[change](minimal)
    result = minimal.build(out)
    assert not result.up_to_date, f"after the {change} edit the build said nothing changed"
    minimal.build(tmp_path / "clean", use_cache=False)
    incremental, clean = contents(out), contents(tmp_path / "clean")
    assert sorted(incremental) == sorted(clean)
    stale = [name for name in clean if incremental[name] != clean[name]]
    assert stale == [], f"after the {change} edit these files differ from a clean build"
    # and the build after that one has nothing left to do
    assert minimal.build(out).up_to_date


def _whole_seconds(info: os.stat_result) -> tuple[int, int, int, int]:
    """A file system that keeps times to the second and has no other clock (FAT, some
    network shares): ctime is no better than mtime."""
    second = info.st_mtime_ns // 1_000_000_000 * 1_000_000_000
    return (second, info.st_size, second, info.st_ino)


def test_an_edit_within_the_second_of_the_last_build_is_built(minimal: SiteDir, tmp_path: Path,
                                                             monkeypatch):
    """On a file system with one-second times, a same-length fix saved within the second
    the last build read the file in leaves its stamp as it was: the build must not have
    trusted that stamp (it was taken less than loading.SETTLE_NS after the file changed)."""
    monkeypatch.setattr(loading, "file_stamp", _whole_seconds, raising=False)
    claim = minimal.root / OTHER_CLAIM
    second = time.time_ns() // 1_000_000_000 * 1_000_000_000
    os.utime(claim, ns=(second, second))  # saved just now
    out = tmp_path / "out"
    minimal.build(out)
    same_length_edit(claim, "end of 2022.", "end of 2021.")
    assert _whole_seconds(claim.stat()) == _whole_seconds(claim.stat())
    minimal.build(out)
    page = (out / "claims" / "agreement-not-implemented" / "index.html").read_text(encoding="utf-8")
    assert "end of 2021." in page and "end of 2022." not in page


def test_file_times_are_compared_with_the_file_systems_clock(minimal: SiteDir, tmp_path: Path,
                                                              monkeypatch):
    """On a network share whose server's clock is behind this machine's, a file saved a
    moment ago already looks seconds old by this machine's clock: the build asks the
    file system for the time instead (the mtime of a file it writes in .cache/)."""
    real = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real() + 10_000_000_000)  # the share is 10 s behind
    monkeypatch.setattr(loading, "file_stamp", _whole_seconds, raising=False)
    claim = minimal.root / OTHER_CLAIM
    second = real() // 1_000_000_000 * 1_000_000_000
    os.utime(claim, ns=(second, second))
    out = tmp_path / "out"
    minimal.build(out)
    same_length_edit(claim, "end of 2022.", "end of 2021.")
    minimal.build(out)
    page = (out / "claims" / "agreement-not-implemented" / "index.html").read_text(encoding="utf-8")
    assert "end of 2021." in page


def test_a_stamp_taken_long_after_the_last_change_is_kept():
    """The other side of the rule: files that have not changed for a while are not read
    again (a warm build reads nothing)."""
    now = 10 * loading.SETTLE_NS
    old = (now - 2 * loading.SETTLE_NS, 100, now - 2 * loading.SETTLE_NS, 7)
    assert loading.kept_stamp(old, now) == old
    assert loading.kept_stamp((old[0], 100, now - 1, 7), now) is None  # ctime too recent
    assert loading.kept_stamp((now - 1, 100, old[2], 7), now) is None  # mtime too recent
    assert loading.kept_stamp(loading.NO_STAT, now) is None


def _check(site: SiteDir) -> tuple[int, str]:
    run = site.cli("check")
    return run.code, run.text


def test_check_reads_every_file_it_vouches_for(tmp_path: Path, monkeypatch):
    """The issue's reproduction: the sample built, one quote changed by a word of the same
    length with the mtime put back; `check` must say what a fresh copy's check says. The
    stamp is made blind to the edit, so that only reading the file can tell."""
    monkeypatch.setattr(loading, "file_stamp", _whole_seconds, raising=False)
    monkeypatch.setattr(loading, "SETTLE_NS", 0, raising=False)
    site = stage_sample(tmp_path / "a")
    assert site.cli("build").code == 0
    assert _check(site)[0] == 0
    same_length_edit(site.root / "content/claims/serbia-can-rely-on-russia.md",
                     "they always can rely", "they rarely can rely")
    code, text = _check(site)
    fresh = tmp_path / "fresh"
    shutil.copytree(site.root, fresh, ignore=shutil.ignore_patterns(".cache", "output"))
    fresh_code, fresh_text = _check(SiteDir(fresh, fresh))
    assert fresh_code == 1 and "rarely" in fresh_text
    assert (code, text) == (fresh_code, fresh_text)


# --------------------------------------------------------------------------- addresses

def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if needle in line)


BAD_ADDRESSES = ["http://[::1", "http://example.org:99999/", "javascript:alert(1)", "//evil.example/",
                 "ftp://example.org/", "https://user:secret@example.org/", "https:///path-only"]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
@pytest.mark.parametrize("where", ["source url", "source archive_url", "config base_url"])
def test_a_bad_address_is_a_located_error(minimal: SiteDir, where: str, address: str):
    if where == "config base_url":
        path, old, new = minimal.config, "base_url: https://example.org/", f'base_url: "{address}"'
    elif where == "source url":
        path, old, new = (minimal.root / SOURCE, 'url: "https://example.com/news/2022/12/22/talks-resume"',
                          f'url: "{address}"')
    else:
        path, old, new = minimal.root / SOURCE, 'language: "en"', f'language: "en"\narchive_url: "{address}"'
    _replace(path, old, new)
    run = minimal.cli("check")
    assert run.code == 1 and "Traceback" not in run.text
    shown = path.relative_to(minimal.root).as_posix()
    line = _line_of(path, address)
    assert f"{shown}:{line}" in run.text, run.text
    assert repr(address) in run.text


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_a_bad_base_url_option_is_refused(minimal: SiteDir, tmp_path: Path, address: str):
    run = minimal.run("--base-url", address, "--output", str(tmp_path / "out"))
    assert run.code == 1 and "Traceback" not in run.text, run.text
    assert "--base-url" in run.err and repr(address) in run.err
    assert not (tmp_path / "out").exists()


def test_a_good_base_url_option_is_taken(minimal: SiteDir, tmp_path: Path):
    run = minimal.cli("--base-url", "https://example.net/checks", "--output", str(tmp_path / "out"))
    assert run.code == 0, run.text
    assert 'href="https://example.net/checks/"' in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("url, link", [
    ("https://example.com/news/talks", "https://example.com/news/talks#:~:text="),
    ("https://example.com/news/talks#section-2", "https://example.com/news/talks#section-2:~:text="),
    ("https://example.com/news/talks#:~:text=old", "https://example.com/news/talks#:~:text="),
])
def test_the_quote_is_highlighted_after_the_sources_own_fragment(minimal: SiteDir, tmp_path: Path,
                                                                url: str, link: str):
    _replace(minimal.root / SOURCE, "https://example.com/news/2022/12/22/talks-resume", url)
    assert minimal.cli("--output", str(tmp_path / "out")).code == 0
    page = (tmp_path / "out" / "claims" / "agreement-not-implemented" / "index.html").read_text(encoding="utf-8")
    from bs4 import BeautifulSoup

    hrefs = [a["href"] for a in BeautifulSoup(page, "html.parser").select("p.links a[rel~=external]")]
    assert hrefs == [link + "The%20agreement%20from%202013,still%20not%20been%20implemented"]


# --------------------------------------------------------------------------- the cache

def _cache_files(site: SiteDir, out: Path) -> dict[str, Path]:
    """The files the build into `out` keeps (its own folder of .cache/; compiled templates are shared)."""
    from factsite.cache import cache_dir_for

    folder = cache_dir_for(site.config, out)
    jinja = sorted((site.root / ".cache" / "jinja").iterdir())
    assert jinja, "the build kept no compiled template"
    return {"build.cache": folder / "build.cache", "uptodate.stamp": folder / "uptodate.stamp",
            "jinja": jinja[0]}


@pytest.fixture
def built(minimal: SiteDir, tmp_path: Path, settled_at_once):
    """The minimal site built twice (every cache file written), with a clean build to
    compare with."""
    out = tmp_path / "out"
    minimal.build(out)
    minimal.build(tmp_path / "clean", use_cache=False)
    return minimal, out, contents(tmp_path / "clean")


def _built_output(site: SiteDir, out: Path) -> tuple[dict[str, bytes], list[str]]:
    result = site.build(out)
    return contents(out), [p.format() for p in result.problems.items]


@pytest.mark.parametrize("name", ["build.cache", "uptodate.stamp", "jinja"])
def test_a_flipped_bit_in_a_cache_file_never_reaches_the_output(built, tmp_path: Path, name: str):
    """50 single-bit flips (a seeded sample) in each file the build keeps: every build
    gives the clean build's output, and a refused file is named in a warning."""
    import random

    site, out, clean = built
    target = _cache_files(site, out)[name]
    pristine = target.read_bytes()
    saved = {p: p.read_bytes() for p in _cache_files(site, out).values()}
    rng = random.Random(23)
    for flip in range(50):
        for path, data in saved.items():
            path.write_bytes(data)
        damaged = bytearray(pristine)
        bit = rng.randrange(len(damaged) * 8)
        damaged[bit // 8] ^= 1 << (bit % 8)
        target.write_bytes(bytes(damaged))
        if name != "uptodate.stamp":  # (else the output is found up to date, the rest unread)
            _cache_files(site, out)["uptodate.stamp"].unlink()
        got, problems = _built_output(site, out)
        assert got == clean, f"flip {flip} (bit {bit}) of {name} changed the output"
        if name != "uptodate.stamp":
            assert any("ignored what the build cache holds here" in p for p in problems), (flip, bit, problems)
        assert not any(p.startswith("error") for p in problems)


MARKER_CODE = "open({marker!r}, 'w').write('ran')"


def _payload_pickle(marker: Path) -> bytes:
    import pickle

    class Payload:
        def __reduce__(self):
            return (exec, (MARKER_CODE.format(marker=str(marker)),))
    return pickle.dumps(Payload())


def _payload_bytecode(genuine: bytes, marker: Path) -> bytes:
    """Jinja's own bytecode format (magic, source checksum, marshalled code) with code that
    writes `marker` when the template is loaded."""
    import io
    import marshal
    import pickle

    import jinja2.bccache

    assert genuine.startswith(jinja2.bccache.bc_magic)
    stream = io.BytesIO(genuine[len(jinja2.bccache.bc_magic):])
    pickle.load(stream)  # the checksum
    head = len(genuine) - len(stream.read())
    return genuine[:head] + marshal.dumps(compile(MARKER_CODE.format(marker=str(marker)), "x", "exec"))


def test_code_planted_in_the_cache_does_not_run(built, tmp_path: Path):
    """A crafted pickle in every cache file (and in the names older versions read), and
    crafted compiled code for a template, sealed or not, with another key: `check` and
    `build` run none of it and build what a clean build builds."""
    from factsite.sealed import read_sealed_file, user_key, write_sealed_file

    site, out, clean = built
    marker = tmp_path / "ran"
    files = _cache_files(site, out)
    bucket = files["jinja"].name.rsplit("_", 1)[1].removesuffix(".cache").encode()
    record = read_sealed_file(files["jinja"], user_key(), b"jinja " + bucket)[0]
    assert record.startswith(bucket + b"\0")
    genuine = record.split(b"\0", 1)[1]
    jinja_attack = _payload_bytecode(genuine, marker)
    def plant(attempt: str) -> None:
        for name in ("build.cache", "uptodate.stamp", "build.pickle", "uptodate.pickle"):
            path = _cache_files(site, out)["build.cache"].with_name(name)
            if attempt == "plain":
                path.write_bytes(_payload_pickle(marker))
            else:
                write_sealed_file(path, [b"u" + _payload_pickle(marker)], b"k" * 32, name.encode())
        for path in (site.root / ".cache" / "jinja").iterdir():
            if attempt == "plain":
                path.write_bytes(jinja_attack)
            else:
                write_sealed_file(path, [bucket + b"\0" + jinja_attack], b"k" * 32, b"jinja " + bucket)

    for attempt in ("plain", "sealed by another key"):
        plant(attempt)
        run = site.cli("check")
        assert run.code == 0 and "ignored what the build cache holds here" in run.text, run.text
        plant(attempt)
        got, problems = _built_output(site, out)
        assert not marker.exists(), f"code planted in the cache ran ({attempt})"
        assert got == clean
        assert any("build.cache" in p and "ignored what the build cache holds here" in p for p in problems)
        assert any("jinja" in p and "ignored what the build cache holds here" in p for p in problems)


def test_planted_bytecode_would_run_without_the_seal(tmp_path: Path):
    """The payload of the test above is real: Jinja's own file cache runs it."""
    import jinja2

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("<p>{{ 1 + 1 }}</p>")
    (tmp_path / "compiled").mkdir()

    def environment() -> jinja2.Environment:
        return jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path / "templates")),
                                  bytecode_cache=jinja2.FileSystemBytecodeCache(str(tmp_path / "compiled")))

    assert environment().get_template("page.html").render() == "<p>2</p>"
    [compiled] = (tmp_path / "compiled").iterdir()
    marker = tmp_path / "ran"
    compiled.write_bytes(_payload_bytecode(compiled.read_bytes(), marker))
    try:
        environment().get_template("page.html")
    except Exception:
        pass  # (the planted module defines no template: it has already run by then)
    assert marker.read_text() == "ran"


@pytest.mark.parametrize("name", ["build.cache", "uptodate.stamp", "jinja"])
def test_a_pipe_in_place_of_a_cache_file_is_passed_over(built, tmp_path: Path, name: str):
    site, out, clean = built
    target = _cache_files(site, out)[name]
    target.unlink()
    os.mkfifo(target)
    run = site.run("--output", str(out))  # a process: a hang is a failed test, not a stuck suite
    assert run.code == 0, run.text
    assert contents(out) == clean


def test_a_cache_made_with_another_users_key_is_refused_with_a_warning(built, tmp_path: Path,
                                                                      monkeypatch):
    site, out, clean = built
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
    got, problems = _built_output(site, out)
    assert got == clean
    assert any("build.cache" in p and "ignored what the build cache holds here" in p for p in problems), problems
    assert (tmp_path / "elsewhere" / "factsite" / "key").stat().st_mode & 0o777 == 0o600
    assert _built_output(site, out)[1] == []  # the new cache is this key's


def test_without_a_place_for_the_key_the_build_keeps_no_cache(built, tmp_path: Path, monkeypatch):
    site, out, clean = built
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    shutil.rmtree(site.root / ".cache")
    got, problems = _built_output(site, out)
    assert got == clean
    assert any("the build cache is off" in p for p in problems), problems
    assert list((site.root / ".cache").rglob("build.cache")) == []


# --------------------------------------------------------------------------- bounded work

def _pathological(kib: int) -> dict[str, str]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("pathological", Path(__file__).parent.parent / "bench" / "pathological.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cases(kib * 1024)


@pytest.mark.parametrize("name", ["footnote refs x[^", "emphasis _a_", "nested strong emph",
                                  "many table columns"])
def test_bodies_the_fast_parser_is_quadratic_on_go_to_the_linear_one(name: str):
    """markdown-it-pyrs pairs brackets and delimiters by scanning ahead from each: 3.3 s
    for 128 KB of `x[^`. Such a body is left to markdown-it-py, linear in its length, and
    the HTML is the same either way."""
    from factsite.markup import Markdown, make_markdown, render_markdown
    from factsite.markup_fast import FastEngine, available

    if not available():
        pytest.skip("markdown-it-pyrs has no wheel here: markdown-it-py renders every body")
    body = _pathological(64)[name]
    fast = FastEngine(False, make_markdown())
    assert fast.render(body, 0) is None
    small = body[:2048]  # below the budget the Rust port renders it (quickly: it is small)
    assert fast.render(small, 0) == render_markdown(make_markdown(), small)
    assert Markdown().render(body) == render_markdown(make_markdown(), body)


def test_usual_bodies_stay_with_the_fast_parser(sample_bodies):
    """The guard costs nothing where it is not needed: every body of the sample site and
    of a generated 200-claim archive is rendered by the Rust port as before."""
    from factsite.markup import make_markdown
    from factsite.markup_fast import _quadratic, available

    if not available():
        pytest.skip("markdown-it-pyrs has no wheel here")
    assert sample_bodies and not [b[:60] for b in sample_bodies if _quadratic(b)]


@pytest.fixture(scope="module")
def sample_bodies(tmp_path_factory) -> list[str]:
    import subprocess
    import sys

    from conftest import REPO, split_file

    corpus = tmp_path_factory.mktemp("corpus")
    subprocess.run([sys.executable, str(REPO / "bench" / "generate_corpus.py"), "--claims", "200",
                    "--out", str(corpus)], check=True, capture_output=True)
    bodies = []
    for root in (REPO / "content", corpus / "content"):
        for kind in ("claims", "speakers", "events", "pages"):
            for path in sorted((root / kind).glob("*.md")):
                bodies.append(split_file(path.read_text(encoding="utf-8"))[1])
    return bodies


def test_a_build_with_two_pathological_bodies_completes(minimal: SiteDir, tmp_path: Path):
    """The issue's bodies (256 KB each here) in a real build: it finishes, each rendered
    by the linear parser. (bench/pathological.py times them at 1 MB: under 10 s each.)"""
    bodies = _pathological(256)
    for name, slug in (("footnote refs x[^", "brackets"), ("emphasis _a_", "emphasis")):
        text = (minimal.root / OTHER_CLAIM).read_text(encoding="utf-8")
        (minimal.content / "claims" / f"{slug}.md").write_text(
            text.split("---\n\n", 1)[0] + "---\n\n" + bodies[name] + "\n", encoding="utf-8")
    run = minimal.run("--output", str(tmp_path / "out"))  # (a 60 s limit: a stall fails)
    assert run.code == 0, run.text
    page = (tmp_path / "out" / "claims" / "emphasis" / "index.html").read_text(encoding="utf-8")
    assert page.count("<em>a</em>") == len(bodies["emphasis _a_"]) // 4


def test_a_markdown_body_over_the_limit_is_a_located_error(minimal: SiteDir):
    from factsite.loading import MAX_MARKDOWN_CHARS

    path = minimal.root / OTHER_CLAIM
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "x" * MAX_MARKDOWN_CHARS + "\n", encoding="utf-8")
    run = minimal.cli("check")
    body_line = text.split("\n").index("---", 1) + 2
    assert run.code == 1
    assert f"{OTHER_CLAIM}:{body_line}" in run.text and "too long" in run.text, run.text
    assert "512 K characters" in run.text


def test_a_quotation_over_the_limit_is_a_located_error(minimal: SiteDir):
    from factsite.schema import QUOTE_CHARS

    path = minimal.root / OTHER_CLAIM
    long_quote = "It was said. " * (QUOTE_CHARS // 13 + 1)
    _replace(path, 'quote: "The agreement from 2013 has still not been implemented"', f'quote: "{long_quote}"')
    run = minimal.cli("check")
    assert run.code == 1
    assert f"{OTHER_CLAIM}:2" in run.text and f"more than the {QUOTE_CHARS:,} a quotation may have" in run.text


def test_the_closest_passage_to_a_long_missing_wording_is_sought_in_a_few_places(monkeypatch):
    """Each place compared costs n x n word steps on words that repeat: a 1,000-word wording
    of one word against a long text compared 25 places (9 s); now as many as fit a budget."""
    import difflib

    from factsite import quotes

    made = []

    class Counting(difflib.SequenceMatcher):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(quotes.difflib, "SequenceMatcher", Counting)
    source = quotes.SourceText(" ".join(["a"] * 20_000) + ".")
    missing = source.check(" ".join(["a"] * 1_000) + " zz").missing
    assert missing is not None and missing.closest
    assert len(made) <= 4  # two places at most, and the differences described
    made.clear()
    short = source.check("a a a zz").missing  # a short wording: every likely place, as before
    assert short is not None and len(made) > 4


# --------------------------------------------------------------------------- the output's place

@pytest.fixture
def tmpfs(tmp_path: Path):
    """A function mounting a tmpfs of a given size (root only, as CI runs), unmounted after."""
    import subprocess

    mounted: list[Path] = []

    def mount(name: str, size: int) -> Path:
        where = tmp_path / name
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "none", str(where)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_an_output_folder_that_is_a_mount_point_is_refused_with_the_way_out(minimal: SiteDir, tmpfs):
    out = tmpfs("www", 16 << 20)
    run = minimal.cli("--output", str(out))
    assert run.code == 1 and "Traceback" not in run.text
    assert "it is a mount point" in run.err and f"such as {out / 'site'}" in run.err, run.err
    assert "permission" not in run.err
    assert minimal.cli("--output", str(out / "site")).code == 0
    assert (out / "site" / "index.html").is_file()


def _blocks(folder: Path) -> int:
    info = os.statvfs(folder)
    return (info.f_blocks - info.f_bavail) * info.f_frsize


def test_on_a_nearly_full_disk_the_site_is_built_and_the_cache_left_out(tmp_path: Path, tmpfs):
    """Room for the site but not for the site and its cache: the cache gives way, with a
    warning, and the site is built (it used to fail, blaming the output folder)."""
    sample = stage_sample(tmp_path / "staged")
    roomy = tmpfs("roomy", 64 << 20)
    shutil.copytree(sample.root, roomy / "site")
    before = _blocks(roomy)
    assert SiteDir(roomy / "site", roomy / "site").cli("build").code == 0
    used = _blocks(roomy) - before
    cache = (roomy / "site" / ".cache" / "build.cache").stat().st_size
    clean = contents(roomy / "site" / "output")

    disk = tmpfs("disk", 16 << 20)
    shutil.copytree(sample.root, disk / "site")
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    (disk / "filler").write_bytes(b"\0" * (free - used + cache // 2))
    site = SiteDir(disk / "site", disk / "site")
    run = site.cli("build")
    assert run.code == 0, run.text
    assert "the build cache was not saved" in run.err and "disk is full" in run.err, run.err
    assert contents(disk / "site" / "output") == clean
    assert not (disk / "site" / ".cache" / "build.cache").exists()
    assert [p.name for p in disk.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_a_folder_in_the_home_folder_is_written_with_a_tilde(minimal: SiteDir, tmp_path: Path,
                                                             monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    _replace(minimal.config, "per_page: 20", 'per_page: 20\noutput_dir: "~/site"')
    assert minimal.cli("build").code == 0
    assert (tmp_path / "home" / "site" / "index.html").is_file()
    assert not (minimal.root / "~").exists()


def test_a_bare_tilde_is_not_taken_for_the_default_folder(minimal: SiteDir):
    _replace(minimal.config, "per_page: 20", "per_page: 20\noutput_dir: ~")
    run = minimal.cli("build")
    line = _line_of(minimal.config, "output_dir: ~")
    assert run.code == 1 and f"site_config.yaml:{line}" in run.err
    assert "YAML reads `~` alone as no value, not as the home folder" in run.err


@pytest.mark.parametrize("change", sorted(SAME_STAMP_EDITS))
def test_the_preview_draws_an_edit_that_keeps_size_and_mtime(minimal: SiteDir, change: str,
                                                             settled_at_once):
    """The preview is told what changed by its watcher (tests/browser/test_preview.py runs
    the real one): each such edit gives what a new preview of the same files gives."""
    from factsite.pipeline import Builder

    builder = Builder(minimal.config, preview=True)
    builder.remember(builder.build())
    before = {p: p.read_bytes() for p in sorted(minimal.top.rglob("*")) if p.is_file() and ".cache" not in p.parts}
    SAME_STAMP_EDITS[change](minimal)
    after = {p: p.read_bytes() for p in sorted(minimal.top.rglob("*")) if p.is_file() and ".cache" not in p.parts}
    changed = {str(p) for p in set(before) | set(after) if before.get(p) != after.get(p)}
    result = builder.build(changed)
    fresh = Builder(minimal.config, preview=True).build()
    assert sorted(result.files) == sorted(fresh.files)
    assert [name for name in fresh.files if result.files[name] != fresh.files[name]] == []


def test_a_cache_file_claiming_a_huge_record_is_refused_without_reading_it(built, tmp_path: Path):
    """A sparse file (an archive can hold one) of 5 GiB whose first record claims 4 GiB:
    refused by its length, before any of it is read into memory."""
    from factsite.sealed import _MAGIC, _NONCE

    site, out, clean = built
    target = _cache_files(site, out)["build.cache"]
    with open(target, "wb") as handle:
        handle.write(_MAGIC + b"\0" * _NONCE + (4 << 30).to_bytes(8, "big") + b"\0" * 32)
        handle.truncate(5 << 30)
    _cache_files(site, out)["uptodate.stamp"].unlink()
    got, problems = _built_output(site, out)
    assert got == clean
    assert any("longer than any the build writes" in p for p in problems), problems


def test_a_sealed_file_cannot_pass_for_another(built, tmp_path: Path):
    """Each file's seal holds what it is for: a compiled template renamed as the stamp or
    the build cache is refused."""
    site, out, clean = built
    files = _cache_files(site, out)
    for name in ("uptodate.stamp", "build.cache"):
        shutil.copy(files["jinja"], files[name])
    got, problems = _built_output(site, out)
    assert got == clean
    assert any("build.cache" in p and "ignored what the build cache holds" in p for p in problems), problems


def test_a_stamp_of_other_code_is_not_unpickled(built, monkeypatch):
    """A stamp pickles factsite's classes; one written by another version is passed over
    by its sealed header before anything is unpickled."""
    import pickle
    import types

    from factsite import uptodate
    from factsite.sealed import user_key

    site, _out, _clean = built
    calls: list[bytes] = []
    counting = types.SimpleNamespace(**{name: getattr(pickle, name) for name in dir(pickle)
                                        if not name.startswith("_")})
    counting.loads = lambda data: calls.append(data) or pickle.loads(data)
    monkeypatch.setattr(uptodate, "pickle", counting)
    from factsite.cache import code_version

    folder = _cache_files(site, _out)["build.cache"].parent
    assert uptodate.load_stamp(folder, user_key(), code_version()) is not None and len(calls) == 1
    assert uptodate.load_stamp(folder, user_key(), "another version") is None and len(calls) == 1


def test_temporary_cache_files_of_a_killed_build_are_removed(built, tmp_path: Path):
    import subprocess
    import sys

    site, out, _clean = built
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    folder = _cache_files(site, out)["build.cache"].parent
    left = [folder / f"uptodate.stamp.{dead}.tmp", folder / f"build.cache.{dead}.1f.tmp",
            site.root / ".cache" / "jinja" / f"__factsite_x_y.cache.{dead}.tmp"]
    for path in left:
        path.write_bytes(b"half")
    _replace(site.root / OTHER_CLAIM, "end of 2022.", "end of 2022, still.")
    site.build(out)
    assert [p for p in left if p.exists()] == []


@pytest.mark.parametrize("library", ["jinja2", "markdown-it-py", "PyYAML"])
def test_another_version_of_a_library_that_shapes_pages_redraws_them(built, monkeypatch, library: str):
    """Pages drawn by one Jinja or markdown-it are not kept under another (issue 24)."""
    import importlib.metadata

    site, out, clean = built
    assert site.build(out).up_to_date
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "99.0" if name == library else real(name))
    result = site.build(out)
    assert not result.up_to_date and result.rendered == result.pages
    assert contents(out) == clean


def test_a_build_into_another_folder_keeps_the_main_outputs_cache(minimal: SiteDir, tmp_path: Path,
                                                                   settled_at_once):
    """One cache per output folder (issue 24): `--output X` used to replace the main
    output's cache, and the next build of the main output read and drew everything again."""
    assert minimal.cli("build").code == 0
    assert "up to date" in minimal.cli("build").out
    assert minimal.cli("--output", str(tmp_path / "elsewhere")).code == 0
    again = minimal.cli("build")
    assert "up to date" in again.out, again.text
    _replace(minimal.root / OTHER_CLAIM, "end of 2022.", "end of 2022, still.")
    edited = minimal.cli("build")
    assert "(1 rendered" in edited.out or "(2 rendered" in edited.out, edited.out
