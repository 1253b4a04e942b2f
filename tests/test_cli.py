"""The command line: `build.py [build|check|new] ...`, its exit codes and what it prints."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import chdir, split_file, stage
from factsite import cli
from factsite.schema import KINDS

MINIMAL_CONFIG = "tests/sites/minimal/site_config.yaml"


def files_under(root: Path) -> dict[str, bytes]:
    """Every file under root except the build cache (.cache/)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".cache" not in p.relative_to(root).parts}


def test_help_lists_the_commands(tmp_path: Path):
    site = stage("sites", "minimal", tmp_path)
    run = site.run("--help")
    assert run.code == 0
    for command in ("build", "check", "new", "serve"):
        assert command in run.out


def test_build_is_the_default_command(tmp_path: Path):
    site = stage("sites", "minimal", tmp_path)
    run = site.run("--config", "site_config.yaml", "--output", str(tmp_path / "out"))
    assert run.code == 0, run.text
    assert run.out.startswith("Built ")
    assert (tmp_path / "out" / "index.html").is_file()


def test_check_writes_nothing(tmp_path: Path):
    """No output, no change to content or templates (a build cache may be kept)."""
    site = stage("sites", "minimal", tmp_path)
    before = files_under(site.top)
    run = site.cli("check", "--config", "site_config.yaml")
    assert run.code == 0
    assert files_under(site.top) == before
    assert not (site.root / "output").exists()


@pytest.mark.parametrize("command", [("check",), ("build", "--output", "out")])
def test_an_unusable_cache_folder_does_not_stop_the_command(command, tmp_path: Path):
    """The cache only saves time ("a read-only project still builds"): when .cache/ cannot
    be created (here a file is in the way), check and build still work."""
    site = stage("sites", "minimal", tmp_path)
    (site.root / ".cache").write_text("not a folder\n")
    run = site.cli(command[0], "--config", "site_config.yaml", *command[1:])
    assert run.code == 0, run.text


def test_config_given_before_the_command_is_used(tmp_path: Path):
    """`--help` shows --config as a global option, so `build.py --config X check` checks X."""
    site = stage("sites", "minimal", tmp_path)
    run = site.cli("--config", MINIMAL_CONFIG, "check", cwd=site.top)
    assert run.code == 0, run.text
    assert run.out.startswith("All good: 2 claims")


def test_missing_config_is_a_located_error(tmp_path: Path):
    site = stage("sites", "minimal", tmp_path)
    run = site.cli("check", "--config", "nowhere.yaml", "--format", "json")
    assert run.code == 1
    assert '"message": "the site configuration file does not exist"' in run.out
    assert '"path": "nowhere.yaml"' in run.out


def test_build_of_a_broken_site_exits_1_and_prints_problems_on_stderr(tmp_path: Path):
    site = stage("invalid", "unknown-speaker", tmp_path)
    run = site.run("build", "--config", "site_config.yaml", "--output", str(tmp_path / "out"))
    assert run.code == 1
    assert "Traceback" not in run.text
    assert re.search(r"^content/claims/agreement\.md:\d+:\d+: error: unknown speaker `ana-markovik`$",
                     run.err, re.M), run.err
    assert "    hint: did you mean `ana-markovic`?" in run.err
    assert "1 error, 0 warnings" in run.err
    assert not (tmp_path / "out").exists()


def test_only_a_command_that_ends_the_process_pauses_the_garbage_collector(tmp_path: Path):
    """build.py's process ends after its command, so it builds with the cyclic collector
    off; called in a process that goes on (the preview, tests), the command leaves it on."""
    site = stage("sites", "minimal", tmp_path)
    out = io.StringIO()
    assert gc.isenabled()
    try:
        with chdir(site.root), contextlib.redirect_stdout(out):
            assert cli.main(["build", "--output", str(tmp_path / "a")]) == 0
            assert gc.isenabled()
            assert cli.main(["build", "--output", str(tmp_path / "b")], exiting=True) == 0
            assert not gc.isenabled()
    finally:
        gc.enable()
    assert out.getvalue().count("Built ") == 2


# --------------------------------------------------------------------------- new

NEW = {"claim": ("claims", "Some Title", "some-title", "quote"),
       "speaker": ("speakers", "Jovana Jovanović", "jovana-jovanovic", "name"),
       "event": ("events", "Talks in Ohrid", "talks-in-ohrid", "name"),
       "source": ("sources", "Minister says talks resume", "minister-says-talks-resume", "title"),
       "page": ("pages", "Corrections policy", "corrections-policy", "title")}


def test_new_claim_as_a_process(tmp_path: Path):
    site = stage("sites", "minimal", tmp_path)
    config = str(site.config)
    run = site.run("new", "claim", "Some Title", "--config", config, cwd=tmp_path)
    assert run.code == 0, run.text
    created = site.content / "claims" / "some-title.md"
    assert created.is_file()
    assert str(created.name) in run.out
    text = created.read_text(encoding="utf-8")
    for name in KINDS["claims"]:
        assert re.search(rf"^\s*#?\s*(- )?{name}:", text, re.M), f"field {name} missing from the new file"
    before = created.read_bytes()
    again = site.run("new", "claim", "Some Title", "--config", config, cwd=tmp_path)
    assert again.code == 1
    assert "this file already exists; nothing was written" in again.text
    assert created.read_bytes() == before


def test_new_entries_have_every_field_and_guess_nothing(tmp_path: Path):
    """`new` wrote plausible values (a real speaker, a TASS address, the title as the quote)
    that were published wrong when forgotten (issue 26). Now every required value but the
    title and today's own dates is an empty placeholder marked FILL IN, which `check`
    refuses at its line until it is filled."""
    site = stage("sites", "minimal", tmp_path)
    for kind, (folder, title, slug, title_field) in NEW.items():
        run = site.cli("new", kind, title, "--config", "site_config.yaml")
        assert run.code == 0, run.text
        created = site.content / folder / f"{slug}.md"
        assert created.is_file(), kind
        text = created.read_text(encoding="utf-8")
        fields = KINDS[folder]
        for name in fields:
            assert re.search(rf"^\s*#?\s*(- )?{name}:", text, re.M), f"{kind}: field {name} missing"
        header, _body = split_file(text)
        data = yaml.safe_load(header)
        assert data.get("draft") is True, kind  # new entries start as drafts
        for name, field in fields.items():
            if field.required:
                assert name in data, f"{kind}: required field {name} is commented out"
        placeholders = [name for name, value in data.items() if value == ""]
        for name in placeholders:
            line = next(i for i, l in enumerate(text.splitlines(), 1) if l.startswith(f"{name}:"))
            assert "# FILL IN: required" in text.splitlines()[line - 1]
        if kind == "claim":
            assert data["quote"] == "" and "speaker" in placeholders and "verdict" in placeholders
            assert data["appearances"] == [{"source": "", "indirect": False}]
        else:
            assert data[title_field] == title, kind
    problems = json.loads(site.cli("check", "--format", "json").out)
    empty = {(p["path"], p["line"]) for p in problems if p["message"] == "this field is empty"}
    assert {p["path"] for p in problems} == {f"content/{f}/{s}.md" for f, _t, s, _f in NEW.values()
                                             if f != "pages"}
    assert len(empty) == len(problems)  # nothing but the placeholders
    assert ("content/claims/some-title.md", 2) in empty  # the quote


def test_new_claim_names_the_entries_given_and_refuses_unknown_ones(tmp_path: Path):
    site = stage("sites", "minimal", tmp_path)
    run = site.cli("new", "claim", "Talks go on", "--speaker", "ana-markovic", "--event", "press-conference-2022",
                   "--source", "example-daily-2022-12-22-talks")
    assert run.code == 0, run.text
    data = yaml.safe_load(split_file((site.content / "claims" / "talks-go-on.md").read_text(encoding="utf-8"))[0])
    assert (data["speaker"], data["event"], data["appearances"][0]["source"]) == \
        ("ana-markovic", "press-conference-2022", "example-daily-2022-12-22-talks")
    run = site.cli("new", "claim", "Other", "--speaker", "ana-markovich")
    assert run.code == 1 and "--speaker: error: there is no speaker `ana-markovich`" in run.text
    assert "did you mean `ana-markovic`?" in run.text
    assert not (site.content / "claims" / "other.md").exists()


def test_new_refuses_to_overwrite(tmp_path: Path):
    site = stage("sites", "minimal", tmp_path)
    existing = site.content / "claims" / "talks-resume-in-january.md"
    before = existing.read_bytes()
    run = site.cli("new", "claim", "Talks resume in January", "--config", "site_config.yaml")
    assert run.code == 1
    assert existing.read_bytes() == before
    assert "this file already exists; nothing was written" in run.err


def test_new_with_a_title_without_letters_is_refused(tmp_path: Path):
    site = stage("sites", "minimal", tmp_path)
    before = files_under(site.content)
    run = site.cli("new", "claim", "?!", "--config", "site_config.yaml")
    assert run.code == 1
    assert "cannot make a file name" in run.err
    assert files_under(site.content) == before


def _draft_of(site, old: str, new: str) -> None:
    """A new draft claim, a copy of the minimal site's second claim with one change."""
    claim = site.root / "content" / "claims" / "agreement-not-implemented.md"
    text = claim.read_text(encoding="utf-8").replace("verdict: accurate", "verdict: accurate\ndraft: true")
    assert old in text
    (site.root / "content" / "claims" / "draft-claim.md").write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("old, new, message", [
    ("still not been implemented", "still not been respected", "the wording is not in content/sources/"),
    ("speaker: ana-markovic", "speaker: nobody-at-all", "unknown speaker"),
    ("verdict: accurate", "verdict: mostly-true", "is not a verdict of this site's scale"),
])
def test_check_finds_mistakes_in_drafts(tmp_path: Path, old: str, new: str, message: str):
    """A draft is what an editor is working on: `check` said "All good" while the preview
    showed the error (issue 26)."""
    site = stage("sites", "minimal", tmp_path)
    _draft_of(site, old, new)
    run = site.cli("check")
    assert run.code == 1, run.text
    assert "content/claims/draft-claim.md:" in run.text and message in run.text, run.text


def test_check_counts_the_drafts_it_checked(tmp_path: Path):
    site = stage("sites", "minimal", tmp_path)
    _draft_of(site, "still not been implemented", "still not been implemented")
    run = site.cli("check")
    assert run.code == 0, run.text
    assert run.out.startswith("All good: 3 claims (1 draft), 1 speakers, 1 events, 1 sources checked; "
                              "3 quotations verified."), run.out
    # and a published claim that names a draft is still the error the build reports
    claim = site.root / "content" / "speakers" / "ana-markovic.md"
    claim.write_text(claim.read_text(encoding="utf-8").replace('aliases:', 'draft: true\naliases:'), encoding="utf-8")
    run = site.cli("check")
    assert run.code == 1 and "is a draft and is not published" in run.text, run.text


def test_a_new_drafts_placeholders_do_not_stop_the_build(tmp_path: Path):
    """What is left to fill in a draft is for `check` and the preview; the published build
    goes on, and says the draft has problems."""
    site = stage("sites", "minimal", tmp_path)
    assert site.cli("new", "claim", "Half written").code == 0
    run = site.cli("build", "--output", str(tmp_path / "out"))
    assert run.code == 0, run.text
    assert "content/claims/half-written.md:1: warning: this draft has 5 problems and is not published" in run.err
    assert not (tmp_path / "out" / "claims" / "half-written").exists()
    assert site.cli("check").code == 1
