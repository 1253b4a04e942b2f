"""What a build does to the output folder: deterministic, atomic, minimal, and never destructive.

- the same input gives the same bytes, wherever the project lives;
- a failed build leaves the previous output exactly as it was;
- a folder the generator did not make is refused;
- unchanged files keep their inode and mtime (sync tools upload only what changed);
- files of earlier builds that are gone from the site are removed, foreign files are kept;
- an incremental build gives exactly what a clean build of the same input gives.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree
from typing import Any, Callable

import pytest

from conftest import REPO, SiteDir, Output, stage, stage_sample
from factsite import pages
from factsite.errors import BuildFailed
from factsite.pipeline import Builder

MANIFEST = ".factsite-manifest.json"


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under root: bytes, inode, mtime_ns (the build cache, .cache/, left out)."""
    result = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".cache" not in path.relative_to(root).parts:
            st = path.stat()
            result[path.relative_to(root).as_posix()] = (path.read_bytes(), st.st_ino, st.st_mtime_ns)
    return result


def contents(root: Path) -> dict[str, bytes]:
    return {k: v[0] for k, v in snapshot(root).items()}


def leftovers(out: Path) -> list[str]:
    """Working folders a build may leave beside the output (staging, previous)."""
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.") and p.name != f".{out.name}.lock")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


MINIMAL_CLAIM = "content/claims/talks-resume-in-january.md"
OTHER_CLAIM = "content/claims/agreement-not-implemented.md"


def _sources(site: SiteDir) -> dict[Path, bytes]:
    roots = [site.root, site.top / "templates"]
    return {p: p.read_bytes() for r in roots for p in sorted(r.rglob("*"))
            if p.is_file() and ".cache" not in p.parts}


def _restore(site: SiteDir, saved: dict[Path, bytes]) -> None:
    for root in (site.root / "content", site.top / "templates"):
        for p in sorted(root.rglob("*"), reverse=True):
            if p.is_file() and p not in saved:
                p.unlink()
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()
    for p, data in saved.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.is_file() or p.read_bytes() != data:
            p.write_bytes(data)


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> SiteDir:
    """One staged copy of the minimal site for this module (its templates compile once)."""
    return stage("sites", "minimal", tmp_path_factory.mktemp("shared"))


@pytest.fixture
def site(shared: SiteDir):
    """The shared minimal site; whatever a test changes in it is put back afterwards."""
    saved = _sources(shared)
    yield shared
    _restore(shared, saved)


# --------------------------------------------------------------------------- determinism

def test_same_input_gives_byte_identical_output_in_different_places(tmp_path: Path):
    a = stage("sites", "minimal", tmp_path / "a")
    b = stage("sites", "minimal", tmp_path / "elsewhere" / "b")
    a.build(tmp_path / "out-a")
    b.build(tmp_path / "out-b")
    first, second = contents(tmp_path / "out-a"), contents(tmp_path / "out-b")
    assert sorted(first) == sorted(second)
    assert len(first) > 10
    for name in first:
        assert first[name] == second[name], name


def test_sample_builds_are_byte_identical(sample, tmp_path: Path):
    from conftest import stage_sample

    again = stage_sample(tmp_path)
    again.build(tmp_path / "out")
    first, second = contents(sample.out.root), contents(tmp_path / "out")
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []


def test_no_absolute_paths_of_the_build_machine_in_the_output(minimal):
    where = str(minimal.site.top).encode()
    for name, data in contents(minimal.out.root).items():
        assert where not in data, name


# --------------------------------------------------------------------------- failed builds

def _break_content(site: SiteDir) -> None:
    edit(site.root / MINIMAL_CLAIM, "verdict: opinion", "verdict: opinon")


def _break_template(site: SiteDir) -> None:
    edit(site.top / "templates" / "claim.html", "{% block main %}", "{% block main %}{{ claim.nothing_here }}")


@pytest.mark.parametrize("breakage", [_break_content, _break_template], ids=["content", "template"])
def test_failed_build_leaves_previous_output_intact(site: SiteDir, tmp_path: Path,
                                                   breakage: Callable[[SiteDir], None]):
    out = tmp_path / "out"
    site.build(out)
    (out / "CNAME").write_text("facts.example.org\n")
    before = snapshot(out)
    breakage(site)
    run = site.cli("build", "--config", "site_config.yaml", "--output", str(out))
    assert run.code == 1
    assert "Build failed" in run.err
    assert re.search(r"^\S+:\d+(:\d+)?: error: ", run.err, re.M), run.err
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_content_error_is_reported_at_its_line_by_build(site: SiteDir, tmp_path: Path):
    _break_content(site)
    run = site.cli("--config", "site_config.yaml", "--output", str(tmp_path / "out"))
    assert run.code == 1
    from conftest import line_of
    line, column = line_of(site.root / MINIMAL_CLAIM, "verdict: opinon")
    assert f"{MINIMAL_CLAIM}:{line}:{column}: error: `opinon` is not a verdict of this site's scale" \
        in run.err.splitlines()
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- refusing folders

def test_refuses_a_non_empty_folder_it_did_not_make(site: SiteDir, tmp_path: Path):
    out = tmp_path / "my-documents"
    out.mkdir()
    (out / "index.html").write_text("<p>my own page</p>\n")
    (out / "notes.txt").write_text("do not delete\n")
    (out / "sub").mkdir()
    (out / "sub" / "data.bin").write_bytes(b"\x00\x01")
    before = snapshot(out)
    run = site.cli("build", "--config", "site_config.yaml", "--output", str(out))
    assert run.code == 1
    assert "refusing to replace" in run.err and "not made by factsite" in run.err
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_an_empty_folder_is_accepted(site: SiteDir, tmp_path: Path):
    out = tmp_path / "empty"
    out.mkdir()
    run = site.cli("build", "--config", "site_config.yaml", "--output", str(out))
    assert run.code == 0, run.text
    assert (out / "index.html").is_file() and (out / MANIFEST).is_file()


@pytest.mark.parametrize("target", [".", "content", ".."])
def test_refuses_to_replace_the_project_or_its_content(site: SiteDir, tmp_path: Path, target: str):
    before = snapshot(site.top)
    run = site.cli("build", "--config", "site_config.yaml", "--output", target)
    assert run.code == 1
    assert "refusing" in run.err
    assert snapshot(site.top) == before


# --------------------------------------------------------------------------- incremental writes

@pytest.mark.parametrize("touched", [False, True], ids=["nothing touched", "a file touched"])
def test_unchanged_rebuild_keeps_every_file(site: SiteDir, tmp_path: Path, touched: bool,
                                            settled_at_once):
    """Both ways to see that nothing changed keep every file: the up-to-date check, and
    (a file saved again with the same bytes) the full build finding equal bytes."""
    out = tmp_path / "out"
    assert site.cli("build", "--config", "site_config.yaml", "--output", str(out)).code == 0
    before = snapshot(out)
    if touched:
        claim = site.root / MINIMAL_CLAIM
        os.utime(claim, ns=(claim.stat().st_atime_ns, claim.stat().st_mtime_ns - 10**9))
    run = site.cli("build", "--config", "site_config.yaml", "--output", str(out))
    assert run.code == 0, run.text
    assert ("is up to date" in run.out) == (not touched), run.out
    after = snapshot(out)
    assert sorted(after) == sorted(before)
    for name in before:
        if name == MANIFEST:
            continue
        assert after[name] == before[name], f"{name} was rewritten although nothing changed"


def test_up_to_date_check_repeats_warnings_and_notices_output_changes(site: SiteDir, tmp_path: Path,
                                                                     settled_at_once):
    out = tmp_path / "out"
    (site.root / "content" / "notes.txt").write_text("reminders for the desk\n", encoding="utf-8")
    first = site.build(out)
    assert not first.up_to_date and first.rendered > 0
    warnings = [p.format() for p in first.problems.items]
    assert any("not a .md file" in w for w in warnings)
    second = site.build(out)
    assert second.up_to_date and second.rendered == 0 and second.pages == first.pages
    assert [p.format() for p in second.problems.items] == warnings
    assert second.stats is not None and first.stats is not None
    assert second.stats.bytes == first.stats.bytes
    assert second.stats.unchanged == first.stats.written + first.stats.unchanged
    # a page deleted or replaced in the output is a change: the build puts it back
    pristine = contents(out)
    (out / "404.html").unlink()
    (out / "robots.txt").write_text("User-agent: *\nDisallow: /\n")
    third = site.build(out)
    assert not third.up_to_date
    assert contents(out) == pristine
    # a new file in content/ (even one that is ignored) is a change too
    (site.root / "content" / "more-notes.txt").write_text("x\n", encoding="utf-8")
    assert site.build(out).up_to_date is False
    assert site.build(out).up_to_date is True
    # as is building with other options
    assert site.build(out, base_url="https://example.org/elsewhere/").up_to_date is False


def test_a_build_lists_and_stats_its_content_once(site: SiteDir, tmp_path: Path, monkeypatch):
    """The up-to-date check's walk is the one the content is read from: each folder is
    listed once and no entry is stat-ed again by path. What is read is what a build with
    no walk before it reads: a claim edited between two builds is read again, and the
    pages equal a clean build's."""
    listed: list[str] = []
    stat_paths: list[str] = []
    real_scandir, real_stat = os.scandir, os.stat

    def scandir(path: object = ".") -> object:
        if not isinstance(path, int):  # (a file descriptor: shutil's removal of a tree)
            listed.append(os.path.abspath(path))  # type: ignore[arg-type]
        return real_scandir(path)  # type: ignore[arg-type]

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if not isinstance(path, int):
            stat_paths.append(os.path.abspath(path))  # type: ignore[arg-type]
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    out = tmp_path / "out"
    site.build(out)
    claim = site.root / MINIMAL_CLAIM
    claim.write_text(claim.read_text(encoding="utf-8").replace("\n---\n", "\n---\nEdited context.\n", 1),
                     encoding="utf-8")
    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "stat", stat)
    built = site.build(out)
    monkeypatch.undo()
    content = os.path.abspath(site.content)
    folders = [content] + [os.path.join(content, kind) for kind in ("claims", "speakers", "events", "sources")]
    for folder in folders:
        if os.path.isdir(folder):
            assert listed.count(folder) == 1, (folder, listed)
    entries = [p for p in stat_paths if p.startswith(content) and p.endswith(".md")]
    assert entries == [], entries
    assert built.rendered > 0 and not built.up_to_date
    clean = tmp_path / "clean"
    site.build(clean, use_cache=False)
    assert contents(out) == contents(clean)
    assert any(b"Edited context." in data for name, data in contents(out).items() if name.startswith("claims/"))


def test_changed_claim_rewrites_only_files_whose_bytes_changed(site: SiteDir, tmp_path: Path):
    out = tmp_path / "out"
    site.build(out)
    before = snapshot(out)
    edit(site.root / MINIMAL_CLAIM, "summary: The minister says talks will resume without conditions.",
         "summary: The minister says the talks will resume in January, without any conditions.")
    site.build(out)
    after = snapshot(out)
    assert sorted(after) == sorted(before)
    changed = {name for name in before if after[name][0] != before[name][0]}
    assert "claims/talks-resume-in-january/index.html" in changed
    for name in ("claims/agreement-not-implemented/index.html", "404.html", "static/style.css"):
        assert name not in changed
    for name in before:
        if name == MANIFEST:
            continue
        if name in changed:
            assert after[name][2] >= before[name][2]
        else:
            assert after[name][1:] == before[name][1:], f"{name}: same bytes, but rewritten"


def test_removed_claim_disappears_and_foreign_files_stay(site: SiteDir, tmp_path: Path):
    out = tmp_path / "out"
    site.build(out)
    (out / "CNAME").write_text("facts.example.org\n")
    (out / ".well-known").mkdir()
    (out / ".well-known" / "security.txt").write_text("Contact: mailto:security@example.org\n")
    (site.root / MINIMAL_CLAIM).unlink()
    run = site.cli("build", "--config", "site_config.yaml", "--output", str(out))
    assert run.code == 0, run.text
    assert not (out / "claims" / "talks-resume-in-january").exists()
    assert (out / "claims" / "agreement-not-implemented" / "index.html").is_file()
    assert (out / "CNAME").read_text() == "facts.example.org\n"
    assert (out / ".well-known" / "security.txt").is_file()
    manifest = json.loads((out / MANIFEST).read_text())
    assert "CNAME" not in json.dumps(manifest)
    # nothing links to the removed claim any more
    site_out = Output(out)
    for page in site_out.html_pages():
        assert "/claims/talks-resume-in-january/" not in [a.get("href") for a in site_out.soup(page).find_all("a")]
    assert leftovers(out) == []


@pytest.mark.skipif(os.name != "posix", reason="symbolic links need POSIX (or Windows admin rights)")
def test_foreign_files_links_and_folders_in_the_output_stay(site: SiteDir, tmp_path: Path):
    """Files the generator did not write are kept wherever they are, page folders included;
    symbolic links stay links (to a folder too), and what they point to is left alone."""
    out = tmp_path / "out"
    site.build(out)
    elsewhere = tmp_path / "media"
    elsewhere.mkdir()
    (elsewhere / "photo.jpg").write_bytes(b"\xff\xd8 a photo")
    (out / "claims" / "agreement-not-implemented" / "notes.txt").write_text("kept\n")
    (out / "extra" / "deep").mkdir(parents=True)
    (out / "extra" / "deep" / "file.txt").write_text("kept too\n")
    os.symlink(elsewhere, out / "media")
    os.symlink(elsewhere / "photo.jpg", out / "photo.jpg")
    os.symlink(tmp_path / "nowhere", out / "broken")
    _t(site, OTHER_CLAIM, "verdict: accurate", "verdict: misleading")
    run = site.cli("build", "--config", "site_config.yaml", "--output", str(out))
    assert run.code == 0, run.text
    assert "Misleading" in (out / "claims" / "agreement-not-implemented" / "index.html").read_text()
    assert (out / "claims" / "agreement-not-implemented" / "notes.txt").read_text() == "kept\n"
    assert (out / "extra" / "deep" / "file.txt").read_text() == "kept too\n"
    for name, target in (("media", elsewhere), ("photo.jpg", elsewhere / "photo.jpg"),
                         ("broken", tmp_path / "nowhere")):
        assert (out / name).is_symlink() and os.readlink(out / name) == str(target), name
    assert (elsewhere / "photo.jpg").read_bytes() == b"\xff\xd8 a photo"
    assert leftovers(out) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "three renames"])
def test_the_last_output_is_swapped_out_and_removed_before_the_build_returns(
        site: SiteDir, tmp_path: Path, monkeypatch, exchange: bool):
    """The new site takes the output's place in one step (Linux's atomic exchange, or renames
    elsewhere); the last one is removed while the build finishes, and gone when it returns."""
    import factsite.output

    if not exchange:
        monkeypatch.setattr(factsite.output, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    site.build(out)
    kept = (out / "claims" / "talks-resume-in-january" / "index.html").stat().st_ino
    _t(site, OTHER_CLAIM, "verdict: accurate", "verdict: misleading")
    result = site.build(out)
    assert result.stats.unchanged > 10 and result.stats.written >= 1
    assert (out / "claims" / "talks-resume-in-january" / "index.html").stat().st_ino == kept
    assert leftovers(out) == []
    assert contents(out) == _clean_build(site, tmp_path / "clean")


def test_the_build_returns_once_the_last_output_is_removed(site: SiteDir, tmp_path: Path,
                                                          monkeypatch):
    """The new site is in place while the last one is still being removed, and the build
    waits for that before it returns."""
    import threading

    import factsite.output

    out = tmp_path / "out"
    site.build(out)
    release, started = threading.Event(), threading.Event()
    real = factsite.output._remove

    def slow_remove(folder):
        started.set()
        release.wait(10)
        return real(folder)

    monkeypatch.setattr(factsite.output, "_remove", slow_remove)
    _t(site, OTHER_CLAIM, "verdict: accurate", "verdict: misleading")
    builder = threading.Thread(target=site.build, args=(out,))
    builder.start()
    assert started.wait(10)
    time.sleep(0.2)
    assert builder.is_alive()
    assert "Misleading" in (out / "claims" / "agreement-not-implemented" / "index.html").read_text()
    assert len(leftovers(out)) == 1
    release.set()
    builder.join(10)
    assert not builder.is_alive() and leftovers(out) == []


def test_a_last_output_that_cannot_be_removed_is_a_warning(site: SiteDir, tmp_path: Path,
                                                          monkeypatch):
    import factsite.output

    out = tmp_path / "out"
    site.build(out)
    monkeypatch.setattr(factsite.output, "_remove", lambda folder: [f"{folder}/x: Permission denied"])
    _t(site, OTHER_CLAIM, "verdict: accurate", "verdict: misleading")
    run = site.cli("build", "--config", "site_config.yaml", "--output", str(out))
    assert run.code == 0, run.text
    assert "warning: the last output could not be removed entirely: " in run.err
    assert "x: Permission denied" in run.err and ".staging-*" in run.err
    assert "Misleading" in (out / "claims" / "agreement-not-implemented" / "index.html").read_text()


def test_removing_a_tree_reports_what_it_could_not_remove(tmp_path: Path, monkeypatch):
    from factsite.output import _remove

    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "stuck.html").write_text("x")
    (tree / "a" / "gone.html").write_text("x")
    real = os.unlink

    def unlink(path, *args, **kwargs):
        if os.fspath(path).endswith("stuck.html"):
            raise PermissionError(13, "Permission denied")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    failed = _remove(tree)
    assert any("stuck.html: Permission denied" in f for f in failed), failed
    assert not (tree / "a" / "gone.html").exists() and (tree / "a" / "b" / "stuck.html").exists()


def test_generated_file_deleted_by_hand_is_restored(site: SiteDir, tmp_path: Path):
    out = tmp_path / "out"
    site.build(out)
    expected = contents(out)
    (out / "claims" / "agreement-not-implemented" / "index.html").unlink()
    run = site.cli("build", "--config", "site_config.yaml", "--output", str(out))
    assert run.code == 0, run.text
    assert contents(out) == expected


def test_generated_file_edited_by_hand_is_restored(site: SiteDir, tmp_path: Path):
    """The output must be what the input says: a generated file changed by hand is rewritten."""
    out = tmp_path / "out"
    site.build(out)
    expected = contents(out)
    (out / "404.html").write_text("<p>edited by hand</p>\n")
    run = site.cli("build", "--config", "site_config.yaml", "--output", str(out))
    assert run.code == 0, run.text
    assert contents(out) == expected


# --------------------------------------------------------------------------- incremental == clean

def _t(site: SiteDir, rel: str, old: str, new: str) -> None:
    edit(site.root / rel, old, new)


EDITS: dict[str, Callable[[SiteDir], None]] = {
    "speaker name": lambda s: _t(s, "content/speakers/ana-markovic.md", 'name: "Ana Marković"',
                                 'name: "Ana Marković-Petrović"'),
    "speaker role": lambda s: _t(s, "content/speakers/ana-markovic.md", "Minister of Foreign Affairs",
                                 "Deputy Prime Minister"),
    "event name": lambda s: _t(s, "content/events/press-conference-2022.md", "after the Brussels round",
                               "after the December round"),
    "source outlet": lambda s: _t(s, "content/sources/example-daily-2022-12-22-talks.md",
                                  'outlet: "Example Daily"', 'outlet: "Example Weekly"'),
    "source text": lambda s: _t(s, "content/sources/example-daily-2022-12-22-talks.md",
                                "The next round is expected", "The next round of talks is expected"),
    "claim verdict": lambda s: _t(s, OTHER_CLAIM, "verdict: accurate", "verdict: misleading"),
    "claim tag": lambda s: _t(s, OTHER_CLAIM, '"Agreements"', '"Brussels agreement"'),
    # both claims are tagged Dialogue; the tag's name is shown as the first claim spells it
    "shared tag spelling": lambda s: _t(s, OTHER_CLAIM, '["Dialogue",', '["DIALOGUE",'),
    "claim notes": lambda s: _t(s, OTHER_CLAIM, "by the end of 2022.", "by the end of 2022, or since."),
    "speaker bio": lambda s: _t(s, "content/speakers/ana-markovic.md", "since 2020.", "since March 2020."),
    "event summary": lambda s: _t(s, "content/events/press-conference-2022.md", "a round of talks.",
                                  "a long round of talks."),
    "claim quote": lambda s: _t(s, MINIMAL_CLAIM,
                                'quote: "We will return to the table in January, and we will not set any conditions."',
                                'quote: "We will return to the table in January"'),
    "claim date": lambda s: _t(s, OTHER_CLAIM, "said: 2022-12-21", "said: 2022-12-20"),
    "claim removed": lambda s: (s.root / MINIMAL_CLAIM).unlink(),
    "claim added": lambda s: (s.root / "content/claims/next-round-in-brussels.md").write_text(
        (s.root / OTHER_CLAIM).read_text().replace(
            "The agreement from 2013 has still not been implemented",
            "The next round is expected to take place in Brussels"), encoding="utf-8"),
    "page added": lambda s: (s.root / "content/pages").mkdir() or (s.root / "content/pages/about.md").write_text(
        '---\ntitle: "About us"\n---\n\nWho we are.\n', encoding="utf-8"),
    "verdict label": lambda s: _t(s, "site_config.yaml", "label: Accurate", "label: Correct"),
    "site title": lambda s: _t(s, "site_config.yaml", "title: Minimal Fact Checks", "title: Small Fact Checks"),
    "per_page": lambda s: _t(s, "site_config.yaml", "per_page: 20", "per_page: 1"),
    "template": lambda s: edit(s.top / "templates" / "macros.html", "<article class=\"card claim-card\">",
                               "<article class=\"card claim-card changed\">"),
    "stylesheet": lambda s: (s.top / "templates" / "static" / "style.css").write_text(
        (s.top / "templates" / "static" / "style.css").read_text() + "\n/* changed */\n"),
}


@pytest.fixture(scope="module")
def bench(shared, tmp_path_factory):
    """The shared site built once; each edit test changes it, then puts it back."""
    out = tmp_path_factory.mktemp("bench") / "out"
    shared.build(out)
    return shared, out, contents(out)


def _clean_build(site: SiteDir, out: Path) -> dict[str, bytes]:
    """What a build with no cache and no previous output gives."""
    site.build(out, use_cache=False)
    return contents(out)


@pytest.mark.parametrize("change", sorted(EDITS))
def test_incremental_build_equals_clean_build(bench, tmp_path: Path, change: str):
    site, out, pristine = bench
    saved = _sources(site)
    try:
        EDITS[change](site)
        site.build(out)
        fresh = _clean_build(site, tmp_path / "clean")
        incremental = contents(out)
        assert sorted(incremental) == sorted(fresh)
        stale = [name for name in fresh if incremental[name] != fresh[name]]
        assert stale == [], f"after changing the {change}, these files differ from a clean build"
    finally:
        _restore(site, saved)
    # and undoing the change gives back the first output exactly
    site.build(out)
    assert contents(out) == pristine, f"undoing the {change} did not restore the output"


def test_a_body_edit_takes_the_last_builds_search_index(site: SiteDir, tmp_path: Path,
                                                       monkeypatch):
    """The search index shows front matter only: after a body edit a build takes it from
    the cache; after a front matter edit it is made again, as a clean build makes it."""
    from factsite.structured import SearchIndex

    made = []
    real = SearchIndex.build

    def build(index: SearchIndex, *args):
        made.append(1)
        return real(index, *args)

    monkeypatch.setattr(SearchIndex, "build", build)
    out = tmp_path / "out"
    site.build(out)
    assert len(made) == 1
    assert b"Misleading" not in (out / "search" / "index.json").read_bytes()
    for change, again in (("claim notes", 0), ("claim verdict", 1)):
        made.clear()
        EDITS[change](site)
        site.build(out)
        assert len(made) == again, change
        index = (out / "search" / "index.json").read_bytes()
        assert index == _clean_build(site, tmp_path / change.replace(" ", "-"))["search/index.json"]
    assert b"Misleading" in index


def test_equal_page_inputs_give_equal_fingerprints_however_they_were_made(site: SiteDir):
    """Page fingerprints are saved for the next build, so they follow the values only: not
    which string objects are shared, interned or made anew."""
    import datetime
    import sys

    builder = Builder(site.config, persistent=True)
    word = "".join(["Pri", "ština"])
    made = ("x" * 32, "claim.html", "claims/a/", (word, word, ("c", "".join(["a", "b"]), None, 3)))
    again = ("x" * 32, "claim.html", "claims/a/", (sys.intern("Priština"), "".join(["Priš", "tina"]),
                                                   ("c", sys.intern("ab"), None, 3)))
    assert made == again and made[3][0] is made[3][1] and again[3][0] is not again[3][1]
    assert builder._fingerprint(made) == builder._fingerprint(again)
    assert builder._fingerprint(made) != builder._fingerprint(made[:3] + ((word, word, ("c", "ab", None, 4)),))
    dated = ("x" * 32, "sitemap.xml", "sitemaps/1.xml", (("claims/a/", datetime.date(2023, 5, 31)),))
    assert builder._fingerprint(dated) == builder._fingerprint(dated[:3] + (
        (("claims/a/", datetime.date(2023, 5, 31)),),))
    assert builder._fingerprint(dated) != builder._fingerprint(dated[:3] + (
        (("claims/a/", datetime.date(2023, 6, 1)),),))


# the edits the preview draws on its last site instead of rebuilding (factsite/patch.py):
# bodies, and claims' front matter
BODY_ONLY = {"claim notes", "speaker bio", "event summary"}
CLAIM_FRONT_MATTER = {"claim verdict", "claim tag", "shared tag spelling", "claim quote", "claim date"}


@pytest.fixture(scope="module")
def preview(shared):
    """A long-lived preview builder, as `serve` keeps one, with its first site."""
    builder = Builder(shared.config, preview=True)
    first = builder.build()
    builder.remember(first)
    return shared, builder, dict(first.files)


def _changed_files(before: dict[Path, bytes], after: dict[Path, bytes]) -> set[str]:
    """What the watcher would report: every path added, removed or modified."""
    return {str(p) for p in set(before) | set(after) if before.get(p) != after.get(p)}


def test_a_full_preview_build_frees_the_last_site_and_freezes_its_own(site: SiteDir,
                                                                       monkeypatch):
    """The preview keeps one site; after a full build the last one is freed at once (it is
    cyclic, so only a full collection frees it) and the new one is frozen, so that no later
    collection walks it in the middle of an edit. An edit drawn in place does neither."""
    import gc
    import weakref

    import factsite.serve
    from factsite.serve import Preview

    settled = []
    real = factsite.serve._settle_memory
    monkeypatch.setattr(factsite.serve, "_settle_memory", lambda: settled.append(1) or real())
    preview = Preview(site.config, "http://127.0.0.1:8000/", log=lambda *args: None)
    try:
        assert not preview.rebuild().patched
        first = weakref.ref(preview.builder._last.site)
        assert gc.get_freeze_count() > 1000 and len(settled) == 1
        EDITS["claim notes"](site)
        assert preview.rebuild({str(site.root / OTHER_CLAIM)}).patched  # drawn on the site kept
        assert first() is preview.builder._last.site and len(settled) == 1
        EDITS["template"](site)
        assert not preview.rebuild({str(site.top / "templates" / "macros.html")}).patched
        assert "changed" in preview.state.files["index.html"].decode()
        assert first() is None
        assert gc.get_freeze_count() > 1000 and len(settled) == 2
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("change", sorted(EDITS))
def test_preview_rebuild_equals_clean_preview_build(preview, change: str):
    """The serve path: one builder, told which files changed, gives what a new builder gives."""
    site, builder, pristine = preview
    saved = _sources(site)
    try:
        EDITS[change](site)
        changed = _changed_files(saved, _sources(site))
        result = builder.build(changed)
        builder.remember(result)
        assert result.patched == (change in BODY_ONLY | CLAIM_FRONT_MATTER), "the wrong path was taken"
        fresh = Builder(site.config, preview=True).build()
        assert sorted(result.files) == sorted(fresh.files)
        stale = [name for name in fresh.files if result.files[name] != fresh.files[name]]
        assert stale == [], f"after changing the {change}, the preview differs from a clean build"
        if change in BODY_ONLY:
            assert result.rendered == 1 and len(result.changed) == 1
    finally:
        now = _sources(site)
        _restore(site, saved)
    result = builder.build(_changed_files(now, _sources(site)))
    builder.remember(result)
    assert result.files == pristine, f"undoing the {change} did not restore the preview"


def test_preview_body_edit_after_a_failed_build_reports_the_failure(preview):
    """A body edit must not be drawn on the last good site while another file is broken."""
    site, builder, pristine = preview
    saved = _sources(site)
    try:
        _t(site, OTHER_CLAIM, "verdict: accurate", "verdict: acurate")
        with pytest.raises(BuildFailed):
            builder.build(_changed_files(saved, _sources(site)))
        before = _sources(site)
        _t(site, "content/speakers/ana-markovic.md", "since 2020.", "since March 2020.")
        with pytest.raises(BuildFailed) as failed:
            builder.build(_changed_files(before, _sources(site)))
        assert any("acurate" in p.message for p in failed.value.problems.errors)
    finally:
        now = _sources(site)
        _restore(site, saved)
    result = builder.build(_changed_files(now, _sources(site)))
    builder.remember(result)
    assert result.files == pristine


def test_preview_keeps_one_site_in_memory_however_often_it_rebuilds(preview):
    """Each full rebuild makes a new model; the old one must go (the memo() table of the
    first build once kept every model alive through Jinja's copy of the globals)."""
    import gc

    from factsite.model import Claim

    site, builder, pristine = preview
    saved = _sources(site)
    counts = []
    try:
        for i in range(6):
            before = _sources(site)
            if i % 2 == 0:  # a speaker's role: a new model (the full build)
                old, new = ("Minister of Foreign Affairs", "Deputy Prime Minister") if i % 4 == 0 \
                    else ("Deputy Prime Minister", "Minister of Foreign Affairs")
                _t(site, "content/speakers/ana-markovic.md", old, new)
            else:  # a claim's verdict: one claim replaced in the model (patch.py)
                old, new = ("accurate", "misleading") if i % 4 == 1 else ("misleading", "accurate")
                _t(site, OTHER_CLAIM, f"verdict: {old}", f"verdict: {new}")
            result = builder.build(_changed_files(before, _sources(site)))
            builder.remember(result)
            assert result.patched == (i % 2 == 1)
            del result
            gc.collect()
            counts.append(sum(isinstance(o, Claim) for o in gc.get_objects()))
    finally:
        now = _sources(site)
        _restore(site, saved)
    assert counts == [counts[0]] * 6, counts
    result = builder.build(_changed_files(now, _sources(site)))
    builder.remember(result)
    assert result.files == pristine


def test_preview_accepts_changed_paths_relative_to_the_working_folder(preview):
    site, builder, pristine = preview
    saved = _sources(site)
    relative = os.path.relpath(site.root / OTHER_CLAIM)
    try:
        _t(site, OTHER_CLAIM, "by the end of 2022.", "by the end of 2022, or since.")
        result = builder.build({relative})
        builder.remember(result)
        assert result.patched and result.rendered == 1
        assert result.files == Builder(site.config, preview=True).build().files
        _t(site, OTHER_CLAIM, "verdict: accurate", "verdict: misleading")  # its front matter
        result = builder.build({relative})
        builder.remember(result)
        assert result.patched and result.rendered > 1
        assert result.files == Builder(site.config, preview=True).build().files
        speaker = os.path.relpath(site.root / "content/speakers/ana-markovic.md")
        _t(site, "content/speakers/ana-markovic.md", "since 2020.", "since March 2020.")
        _t(site, "content/speakers/ana-markovic.md", "Minister of Foreign Affairs", "Deputy Prime Minister")
        result = builder.build({speaker})  # the full build
        builder.remember(result)
        assert not result.patched
        assert result.files == Builder(site.config, preview=True).build().files
    finally:
        _restore(site, saved)
    result = builder.build({relative, os.path.relpath(site.root / "content/speakers/ana-markovic.md")})
    builder.remember(result)
    assert result.files == pristine


def test_a_build_finishing_late_does_not_vouch_for_another_builds_output(site: SiteDir, tmp_path: Path,
                                                                        monkeypatch):
    """Build A saves its caches while build B (other options) commits into the same folder:
    A's up-to-date stamp must not describe B's files."""
    import factsite.pipeline

    out = tmp_path / "out"
    site.build(out)
    edit(site.config, "title: Minimal Fact Checks", "title: Small Fact Checks")
    real = factsite.pipeline.save_caches

    def slow_save(*args, **kwargs):
        monkeypatch.setattr(factsite.pipeline, "save_caches", real)
        site.build(out, base_url="https://other.example/")  # lands while A is finishing
        real(*args, **kwargs)

    monkeypatch.setattr(factsite.pipeline, "save_caches", slow_save)
    site.build(out)
    third = site.build(out)
    assert not third.up_to_date
    assert contents(out) == _clean_build(site, tmp_path / "clean")


def test_incremental_build_after_a_failed_build(site: SiteDir, tmp_path: Path):
    """good -> broken (fails) -> fixed differently: the output is that of the fixed input."""
    out = tmp_path / "out-incremental"
    site.build(out)
    _break_content(site)
    assert site.cli("build", "--config", "site_config.yaml", "--output", str(out)).code == 1
    edit(site.root / MINIMAL_CLAIM, "verdict: opinon", "verdict: misleading")
    site.build(out)
    assert contents(out) == _clean_build(site, tmp_path / "out-clean")


def test_base_url_override_changes_every_internal_link(site: SiteDir, tmp_path: Path):
    out = tmp_path / "out"
    run = site.cli("build", "--config", "site_config.yaml", "--output", str(out),
                   "--base-url", "https://example.org/factcheck/")
    assert run.code == 0, run.text
    built = Output(out, "/factcheck/")
    for page in built.html_pages():
        for a in built.soup(page).find_all(["a", "link", "script"]):
            value = a.get("href") or a.get("src")
            if value and value.startswith("/"):
                assert value.startswith("/factcheck/"), (page, value)
                assert built.exists(value), (page, value)
    # and the next plain build goes back to the configured base_url
    assert site.cli("build", "--config", "site_config.yaml", "--output", str(out)).code == 0
    home = Output(out).soup("/")
    assert home.find("a", class_="brand")["href"] == "/"


# claim edits on the sample site that re-link the claim (another speaker, event, source
# list or tag set): the preview draws them on its last site (patch.ClaimPatch)
RELINKS = {
    "another speaker": ("speaker: alexander-botsan-kharchenko", "speaker: sergey-lavrov"),
    "another event": ("event: north-kosovo-barricades-2022", "event: north-kosovo-unrest-2023"),
    "no event": ("event: north-kosovo-barricades-2022\n", ""),
    "one source fewer": (
        '  - source: tanjug-2022-12-22-serbs-you-can-count-on-russia\n'
        '    wording: "People in Serbia know that they can always rely on Russia."\n', ""),
    "a new tag and one gone": ('tags: ["Russia–Serbia relations", "Northern Kosovo"]',
                               'tags: ["Russia–Serbia relations", "Ambassadors"]'),
    "said much earlier": ("said: 2022-12-21", "said: 2021-01-05"),
}


@pytest.mark.parametrize("change", sorted(RELINKS))
def test_preview_relinked_claim_equals_clean_preview_build(tmp_path: Path, change: str):
    site = stage_sample(tmp_path)
    claim = site.root / "content/claims/serbia-can-rely-on-russia.md"
    builder = Builder(site.config, preview=True)
    builder.remember(builder.build())
    old, new = RELINKS[change]
    edit(claim, old, new)
    result = builder.build({str(claim)})
    builder.remember(result)
    assert result.patched, "the claim edit took the full build"
    fresh = Builder(site.config, preview=True).build()
    assert sorted(result.files) == sorted(fresh.files)
    stale = [name for name in fresh.files if result.files[name] != fresh.files[name]]
    assert stale == [], f"after '{change}', the preview differs from a clean build"
    # and a second edit on the patched site (the memo and search records it kept) too
    edit(claim, "verdict: opinion", "verdict: misleading")
    result = builder.build({str(claim)})
    builder.remember(result)
    assert result.patched
    fresh = Builder(site.config, preview=True).build()
    assert [n for n in fresh.files if result.files.get(n) != fresh.files[n]] == []
    assert sorted(result.files) == sorted(fresh.files)


@pytest.mark.parametrize("sitemap_size", [pages.SITEMAP_SIZE, 20])
def test_preview_tag_spelt_anew_sorts_anew_as_in_a_clean_build(tmp_path: Path, monkeypatch,
                                                              sitemap_size: int):
    """A tag is spelt as the first claim (in file order) that has it spells it, and tags
    sort by name: respelling one can move its pages in the sitemap with no claim moving."""
    monkeypatch.setattr(pages, "SITEMAP_SIZE", sitemap_size)
    site = stage_sample(tmp_path)
    # the first claim (in file order) with the tag "Ukraine"
    claim = site.root / "content/claims/russia-position-on-kosovo-unchanged.md"
    builder = Builder(site.config, preview=True)
    builder.remember(builder.build())
    for old, new in (('"Ukraine"', '"Úkraine"'), ('"Úkraine"', '"Ukraine"')):  # (same address)
        edit(claim, old, new)
        result = builder.build({str(claim)})
        builder.remember(result)
        assert result.patched
        fresh = Builder(site.config, preview=True).build().files
        assert sorted(result.files) == sorted(fresh)
        assert [n for n in fresh if result.files[n] != fresh[n]] == [], new


def test_preview_claim_edit_with_a_problem_takes_the_full_build_and_reports_it(tmp_path: Path):
    site = stage_sample(tmp_path)
    claim = site.root / "content/claims/serbia-can-rely-on-russia.md"
    builder = Builder(site.config, preview=True)
    builder.remember(builder.build())
    edit(claim, "speaker: alexander-botsan-kharchenko", "speaker: alexander-botsan")
    with pytest.raises(BuildFailed) as failed:
        builder.build({str(claim)})
    assert [p.message for p in failed.value.problems.errors] == ["unknown speaker `alexander-botsan`"]


def test_preview_claim_edit_redraws_other_events_that_show_its_sources(tmp_path: Path):
    """An event's page shows its sources' cards with how many claims cite each: dropping a
    source from a claim changes that count on every event whose claims cite the source."""
    site = stage_sample(tmp_path)
    moved = site.root / "content/claims/close-coordination-with-belgrade.md"
    claim = site.root / "content/claims/serbia-can-rely-on-russia.md"
    builder = Builder(site.config, preview=True)
    builder.remember(builder.build())
    edit(moved, "event: north-kosovo-barricades-2022", "event: north-kosovo-unrest-2023")
    edit(claim, *RELINKS["one source fewer"])
    for path in (moved, claim):  # one save each, as an editor makes them
        result = builder.build({str(path)})
        builder.remember(result)
        assert result.patched
    changed, files = list(result.changed), result.files  # (a failing assert prints no model)
    fresh = Builder(site.config, preview=True).build().files
    assert "events/north-kosovo-unrest-2023/index.html" in changed
    assert [n for n in fresh if files.get(n) != fresh[n]] == []


@pytest.fixture(scope="module")
def paginated(tmp_path_factory) -> Path:
    """A generated site of 160 claims (bench/generate_corpus.py): lists of several pages,
    and a site feed that shows 50 of the claims."""
    root = tmp_path_factory.mktemp("paginated") / "site"
    subprocess.run([sys.executable, str(REPO / "bench" / "generate_corpus.py"), "--claims", "160",
                    "--out", str(root)], check=True, capture_output=True)
    return root


def _set_field(path: Path, name: str, value: str) -> None:
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^{name}: *(.+)$", text, re.M)
    assert match, (path, name)
    path.write_text(text[:match.start(1)] + value + text[match.end(1):], encoding="utf-8")


@pytest.mark.parametrize("sitemap_size", [pages.SITEMAP_SIZE, 100])
def test_preview_claim_edits_on_a_paginated_site_equal_clean_builds(paginated: Path, monkeypatch,
                                                                    sitemap_size: int):
    """An edit that leaves every claim in its place keeps the list pages, feeds and sitemap
    that do not show what changed (pages.replan); the site is still what a clean build gives.
    One claim outside the site's feed and one in it, edited in turn on one builder; with one
    sitemap, and with an index of sitemaps of 100 addresses."""
    monkeypatch.setattr(pages, "SITEMAP_SIZE", sitemap_size)
    config = paginated / "site_config.yaml"
    builder = Builder(config, preview=True)
    first = builder.build()
    builder.remember(first)
    # its pages were drawn by forked workers; the cards they drew came back (render.Memo),
    # so the lists an edit redraws reuse them: every claim's card is in the preview's memo
    memo = builder._last.renderer.env.globals["memo"]
    carded = {key[1][0] for key in memo._table if getattr(key[0], "name", "") == "claim"}
    assert len(first.files) >= 400 and carded >= set(builder._last.site.claims)
    atom = "{http://www.w3.org/2005/Atom}"
    in_feed = {link.get("href").rstrip("/").rsplit("/", 1)[-1]
               for link in ElementTree.fromstring(first.files["feed.xml"]).iter(f"{atom}link")
               if "/claims/" in link.get("href", "")}
    # claims without an `updated` date: their `reviewed` date is the feeds' and sitemap's
    claims = [p for p in sorted((paginated / "content" / "claims").glob("*.md"))
              if "\nupdated:" not in p.read_text(encoding="utf-8")]
    quiet = next(p for p in claims if p.stem not in in_feed)
    featured = next(p for p in claims if p.stem in in_feed)

    def said(path: Path) -> str:
        return re.search(r"^said: *(\S+)$", path.read_text(encoding="utf-8"), re.M).group(1)
    tags = re.search(r"^tags: *\[(.*)\]$", quiet.read_text(encoding="utf-8"), re.M).group(1)
    steps = [(quiet, "verdict", "accurate", {"feed.xml": False, "sitemap": False}),
             (quiet, "verdict", "misleading", {"feed.xml": False}),
             (quiet, "reviewed", said(quiet), {"feed.xml": False, "sitemap": True}),
             # a tag no claim had, first of all tags: its page comes, and goes again
             (quiet, "tags", f'["Aaa first tag", {tags}]', {"feed.xml": False, "sitemap": True,
                                                           "tags/aaa-first-tag/index.html": True}),
             (quiet, "tags", f"[{tags}]", {"feed.xml": False, "sitemap": True,
                                           "tags/aaa-first-tag/index.html": True}),
             (featured, "verdict", "opinion", {"feed.xml": True, "sitemap": False}),
             (featured, "reviewed", said(featured), {"feed.xml": True, "sitemap": True})]
    saved = {p: p.read_bytes() for p in (quiet, featured)}
    try:
        for path, name, value, expect in steps:
            _set_field(path, name, value)
            result = builder.build({str(path)})
            builder.remember(result)
            assert result.patched, f"{path.stem} {name}: the full build was taken"
            changed, files = set(result.changed), result.files  # (a failing assert prints no model)
            fresh = Builder(config, preview=True).build().files
            assert sorted(files) == sorted(fresh)
            assert [n for n in fresh if files[n] != fresh[n]] == [], f"{path.stem} {name} = {value}"
            sitemaps = {n for n in changed if n.startswith("sitemap")}  # sitemap.xml, sitemaps/*
            shown = changed | ({"sitemap"} if sitemaps else set())
            assert {n: n in shown for n in expect} == expect
            if sitemap_size == 100 and name == "reviewed":  # one file of the index has the page
                assert len(sitemaps - {"sitemap.xml"}) == 1, sitemaps
    finally:
        for path, data in saved.items():
            path.write_bytes(data)


def test_a_large_site_has_a_sitemap_index_of_every_page(paginated: Path, monkeypatch):
    """Past SITEMAP_SIZE pages, sitemap.xml is an index of sitemap files: together they list
    what one sitemap lists, in the same order, and each is dated by its newest page."""
    config = paginated / "site_config.yaml"
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"

    def parse(data: bytes) -> ElementTree.Element:
        return ElementTree.fromstring(data)

    one = Builder(config).build().files
    root = parse(one["sitemap.xml"])
    assert root.tag == f"{ns}urlset"
    every = [(u.findtext(f"{ns}loc"), u.findtext(f"{ns}lastmod")) for u in root.iter(f"{ns}url")]
    assert len(every) > 300 and not any(name.startswith("sitemaps/") for name in one)

    monkeypatch.setattr(pages, "SITEMAP_SIZE", 100)
    split = Builder(config).build().files
    index = parse(split["sitemap.xml"])
    assert index.tag == f"{ns}sitemapindex"
    listed = []
    for number, entry in enumerate(index.iter(f"{ns}sitemap"), 1):
        loc = entry.findtext(f"{ns}loc")
        assert loc == f"https://example.org/bench/sitemaps/{number}.xml"
        part = parse(split[f"sitemaps/{number}.xml"])
        assert part.tag == f"{ns}urlset"
        urls = [(u.findtext(f"{ns}loc"), u.findtext(f"{ns}lastmod")) for u in part.iter(f"{ns}url")]
        assert 0 < len(urls) <= 100
        assert entry.findtext(f"{ns}lastmod") == max((d for _, d in urls if d), default=None)
        listed += urls
    assert listed == every
    assert sorted(n for n in split if n.startswith("sitemaps/")) == \
        sorted(f"sitemaps/{n}.xml" for n in range(1, number + 1))
    assert split["robots.txt"] == one["robots.txt"]  # it names sitemap.xml, index or not


def test_preview_verdict_list_gaining_and_losing_a_page_equals_clean_builds(paginated: Path, monkeypatch):
    """Verdict edits that give a verdict's list one page more, then one fewer: the new page is
    written and then gone, and the sitemap (an index of small sitemaps here) follows."""
    monkeypatch.setattr(pages, "SITEMAP_SIZE", 100)
    config = paginated / "site_config.yaml"
    per_page = 20
    claims = sorted((paginated / "content" / "claims").glob("*.md"))
    verdict_of = {p: re.search(r"^verdict: *(\S+)$", p.read_text(encoding="utf-8"), re.M).group(1)
                  for p in claims}
    counts = {v: list(verdict_of.values()).count(v) for v in set(verdict_of.values())}
    # the verdict fewest edits away from needing one more page
    target = min(counts, key=lambda v: (per_page - counts[v] % per_page) % per_page)
    needed = (per_page - counts[target] % per_page) % per_page + 1
    movers = [p for p in claims if verdict_of[p] != target][:needed]
    new_page = f"verdicts/{target}/page/{-(-(counts[target] + needed) // per_page)}/index.html"
    saved = {p: p.read_bytes() for p in movers}
    builder = Builder(config, preview=True)
    builder.remember(builder.build())
    try:
        for step, path in enumerate([*movers, movers[0]]):
            _set_field(path, "verdict", target if step < len(movers) else verdict_of[path])
            result = builder.build({str(path)})
            builder.remember(result)
            assert result.patched
            if step < len(movers) - 1:
                continue
            changed, files = set(result.changed), result.files  # (a failing assert prints no model)
            fresh = Builder(config, preview=True).build().files
            assert sorted(files) == sorted(fresh)
            assert [n for n in fresh if files[n] != fresh[n]] == []
            assert new_page in changed
            assert (new_page in files) == (step < len(movers))
    finally:
        for path, data in saved.items():
            path.write_bytes(data)


# --------------------------------------------------------------------------- the cache file

@pytest.fixture
def parallel_sample(tmp_path: Path, monkeypatch) -> SiteDir:
    """The sample site, its pages drawn by worker processes as a large site's are (the cache's
    early tables are written while they work)."""
    import factsite.parallel
    import factsite.pipeline

    monkeypatch.setattr(factsite.parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(factsite.pipeline, "MIN_ITEMS", 1)
    monkeypatch.setattr(factsite.parallel, "workers", lambda: 2)
    return stage_sample(tmp_path)


def test_pages_drawn_by_worker_processes_are_those_drawn_in_one(parallel_sample: SiteDir,
                                                                  tmp_path: Path, monkeypatch):
    """Every file byte for byte, the search index made by a thread of the parent's while
    the workers draw the pages included."""
    import factsite.parallel
    import factsite.pipeline

    threads = []
    real = factsite.pipeline.in_thread

    def in_thread(function, name):
        threads.append(name)
        return real(function, name)

    monkeypatch.setattr(factsite.pipeline, "in_thread", in_thread)
    parallel_sample.build(tmp_path / "workers")
    assert threads == ["factsite-search-index"]
    monkeypatch.setattr(factsite.parallel, "workers", lambda: 1)
    monkeypatch.setattr(factsite.pipeline, "MIN_ITEMS", 10**9)
    shutil.rmtree(parallel_sample.root / ".cache")
    parallel_sample.build(tmp_path / "alone")
    assert len(threads) == 1

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and p.name != ".factsite-manifest.json"}
    drawn, alone = files(tmp_path / "workers"), files(tmp_path / "alone")
    assert "search/index.json" in drawn and len(drawn) > 80
    assert sorted(drawn) == sorted(alone)
    assert [name for name in drawn if drawn[name] != alone[name]] == []


def _tables(caches: Any) -> dict[str, str]:
    """The caches' saved tables, each as the sorted reprs of its entries (the order in which
    a table's entries were written differs: streamed from workers, or at the end)."""
    from factsite.cache import SAVED

    def canonical(value: object) -> object:  # (a set's order differs between processes)
        if isinstance(value, (set, frozenset)):
            return sorted(value)
        return tuple(map(canonical, value)) if isinstance(value, tuple) else value

    def shown(value: object) -> str:
        return repr(sorted((repr(k), repr(canonical(v))) for k, v in value.items())
                    if isinstance(value, dict) else value)
    return {name: shown(getattr(caches, name)) for name in SAVED}


def _saved_tables(site: SiteDir, out: Path) -> dict[str, str]:
    return _tables(_loaded_caches(site, out))


def test_the_cache_written_while_pages_render_equals_one_written_after(parallel_sample: SiteDir,
                                                                        tmp_path: Path, monkeypatch):
    from factsite.cache import CacheWriter, cache_dir_for

    started = []
    real_start = CacheWriter.start_early

    def start_early(writer: CacheWriter) -> None:
        started.append(writer)
        real_start(writer)

    monkeypatch.setattr(CacheWriter, "start_early", start_early)
    parallel_sample.build(tmp_path / "out")
    assert len(started) == 1  # the early tables were written from the thread
    early = _saved_tables(parallel_sample, tmp_path / "out")
    assert all(early.values())
    shutil.rmtree(cache_dir_for(parallel_sample.config))
    monkeypatch.setattr(CacheWriter, "start_early", lambda writer: None)  # everything at the end
    parallel_sample.build(tmp_path / "out2")
    assert _saved_tables(parallel_sample, tmp_path / "out2") == early
    assert [p.name for p in cache_dir_for(parallel_sample.config).rglob("*.tmp")] == []


def test_render_workers_compile_no_template(parallel_sample: SiteDir, tmp_path: Path, monkeypatch):
    """The parent compiles the templates while the quotations are checked; the render
    workers it forks then find them compiled (each compiled them all, 0.09 CPU-s)."""
    import jinja2

    log = tmp_path / "compiled.log"
    real = jinja2.Environment.compile

    def compile(env, source, name=None, filename=None, raw=False, defer_init=False):  # noqa: A001
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {name}\n")
        return real(env, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", compile)
    built = parallel_sample.build(tmp_path / "out")
    assert built.rendered > 0
    rows = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    assert {name for _pid, name in rows} >= {"claim.html", "base.html", "macros.html"}
    assert {pid for pid, _name in rows} == {str(os.getpid())}


def _loaded_caches(site: SiteDir, out: Path) -> Any:
    """The caches the site's last build into `out` saved (with the options it was built with)."""
    from factsite.cache import CACHE_FILE, cache_dir_for, load_caches
    from factsite.sealed import read_sealed_file, user_key

    folder = cache_dir_for(site.config, out)
    header = read_sealed_file(folder / CACHE_FILE, user_key(), CACHE_FILE.encode())[0]
    caches, refused = load_caches(folder, header.split(b"\0", 1)[1].decode(), user_key())
    assert refused is None
    return caches


def test_the_cache_keeps_only_what_the_last_build_used(site: SiteDir, tmp_path: Path):
    """An edited quote, a removed claim: their old checks and fields leave the cache, so
    editing for years does not grow it; what the build still uses stays."""
    out = tmp_path / "out"
    site.build(out)
    before = _loaded_caches(site, out)
    claim, other = site.root / MINIMAL_CLAIM, site.root / OTHER_CLAIM
    old_quote = "We will return to the table in January, and we will not set any conditions."
    claim.write_text(claim.read_text(encoding="utf-8").replace(old_quote, "We will return to the table in January"),
                     encoding="utf-8")
    other.unlink()
    site.build(out)
    after = _loaded_caches(site, out)
    assert any(wording == old_quote for _source, wording in before.quotes)
    assert all(wording != old_quote for _source, wording in after.quotes)
    assert any(wording == "We will return to the table in January" for _source, wording in after.quotes)
    shown = {path for path, _digest in after.records}
    assert len(after.records) == len(shown)  # one record per file: the edited claim's old one went
    assert not any(path.endswith(OTHER_CLAIM.rsplit("/", 1)[1]) for path in shown)
    kept = set(before.records) & set(after.records)
    assert kept and len(kept) == len(before.records) - 2  # the others' records stayed


@pytest.mark.parametrize("workers", [2, 1])
def test_the_saved_cache_holds_what_the_build_kept(parallel_sample: SiteDir, tmp_path: Path,
                                                   monkeypatch, workers: int):
    """The workers' results go into the cache file as the pickles they sent (in one process,
    pickled as they come), the rest at the end: loaded again, every table is the one the
    build had in memory when it saved."""
    import factsite.parallel
    import factsite.pipeline
    from factsite.cache import SAVED

    monkeypatch.setattr(factsite.parallel, "workers", lambda: workers)
    kept = []
    real = factsite.pipeline.save_caches

    def save(folder, key, caches, seal, writer=None):
        kept.append(caches)
        real(folder, key, caches, seal, writer)

    monkeypatch.setattr(factsite.pipeline, "save_caches", save)
    parallel_sample.build(tmp_path / "out")
    assert len(kept) == 1 and kept[0].streamed  # results were streamed, not saved whole
    assert {table for table, _key in kept[0].streamed} == {"files", "records", "quotes", "wordings"}
    saved = _saved_tables(parallel_sample, tmp_path / "out")
    in_memory = _tables(kept[0])
    assert all(in_memory[name] not in ("[]", "None") for name in SAVED)
    assert saved == in_memory


def test_a_cache_whose_streamed_results_could_not_be_written_is_not_saved(parallel_sample: SiteDir,
                                                                         tmp_path: Path, monkeypatch):
    """A disk that fills up while the workers' results stream in: the build goes on, and no
    cache missing those results is saved; the next build reads everything again."""
    from factsite.cache import CacheWriter, cache_dir_for
    from factsite.sealed import SealedWriter

    real, real_stream = SealedWriter.write, CacheWriter.stream
    dumped, streams = [], []

    def write(writer: SealedWriter, *parts: bytes) -> None:
        if parts[0] == b"u":  # workers' results
            dumped.append(parts)
            if len(dumped) == 1:
                raise OSError(28, "No space left on device")
        real(writer, *parts)

    def stream(writer: CacheWriter, data: bytes) -> None:
        streams.append(len(data))
        real_stream(writer, data)

    monkeypatch.setattr(SealedWriter, "write", write)
    monkeypatch.setattr(CacheWriter, "stream", stream)
    pages = parallel_sample.build(tmp_path / "out").pages
    assert len(dumped) == 1 and len(streams) == 2  # the checks' results came after the failure
    folder = cache_dir_for(parallel_sample.config, tmp_path / "out")
    assert not (folder / "build.cache").exists()
    assert list(folder.glob("*.tmp")) == []
    monkeypatch.setattr(SealedWriter, "write", real)
    claim = next((parallel_sample.content / "claims").glob("*.md"))
    claim.write_text(claim.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    rendered = parallel_sample.build(tmp_path / "out").rendered
    assert (folder / "build.cache").is_file()
    assert rendered == pages  # nothing was taken from a cache
    claim.write_text(claim.read_text(encoding="utf-8") + "\nAnd one more.\n", encoding="utf-8")
    rendered = parallel_sample.build(tmp_path / "out").rendered
    assert rendered < pages  # now there is one


def test_a_build_failing_while_the_cache_is_written_keeps_the_last_cache(parallel_sample: SiteDir,
                                                                          tmp_path: Path):
    from factsite.cache import cache_dir_for

    parallel_sample.build(tmp_path / "out")
    folder = cache_dir_for(parallel_sample.config, tmp_path / "out")
    saved = (folder / "build.cache").read_bytes()
    claim = (parallel_sample.root / "templates" / "claim.html")
    text = claim.read_text(encoding="utf-8")
    assert "{{ claim.said|time_tag }}" in text
    claim.write_text(text.replace("{{ claim.said|time_tag }}", "{{ claim.nope }}", 1),
                     encoding="utf-8")  # every claim page fails as it is drawn
    with pytest.raises(BuildFailed):
        parallel_sample.build(tmp_path / "out")
    assert (folder / "build.cache").read_bytes() == saved
    assert [p.name for p in cache_dir_for(parallel_sample.config).rglob("*.tmp")] == []


@pytest.mark.skipif(os.name != "posix", reason="process liveness is checked with POSIX signals")
def test_a_killed_builds_temporary_cache_file_is_removed_by_the_next_save(tmp_path: Path):
    """A build killed while writing its cache leaves `build.cache.<pid>.<n>.tmp` (open from
    the checks to the end of a cold build); the next build to save removes it, and leaves
    the file of a build still running."""
    from factsite.cache import cache_dir_for

    site = stage_sample(tmp_path)
    folder = cache_dir_for(site.config, tmp_path / "out")
    folder.mkdir(parents=True)
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # its pid now names no process
    orphan = folder / f"build.cache.{finished.pid}.1f.tmp"
    running = folder / f"build.cache.{os.getpid()}.2f.tmp"
    orphan.write_bytes(b"x" * 1000)
    running.write_bytes(b"y")
    site.build(tmp_path / "out")
    assert not orphan.exists()
    assert running.read_bytes() == b"y"
    assert (folder / "build.cache").is_file()
