"""`build.py check` on broken sites: every mistake at its file, line and column, with a hint.

One fixture per kind of mistake under tests/invalid/<case>/. Each test states the problems
`check` must report: locations are computed from the fixture files themselves, messages
are the texts of factsite's source. Both output formats are checked against the same
expectations; the command runs in the site's folder, as an editor would run it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conftest import SiteDir, line_of, problems_json, stage, stage_sample

FRONT_MATTER_START = 2  # line 1 is `---`; the first field is on line 2


@dataclass
class Expect:
    path: str
    line: int
    column: int
    message: str | Callable[[str], bool]
    hint: str | tuple[str, ...] | None = None  # exact text, or parts it must contain; None: any
    severity: str = "error"

    def matches(self, p: dict) -> bool:
        if (p["path"], p["line"], p["column"], p["severity"]) != (
                self.path, self.line, self.column, self.severity):
            return False
        if callable(self.message):
            if not self.message(p["message"]):
                return False
        elif p["message"] != self.message:
            return False
        if not p["hint"]:
            return False  # every problem comes with a hint
        if isinstance(self.hint, str):
            return p["hint"] == self.hint
        if isinstance(self.hint, tuple):
            return all(part in p["hint"] for part in self.hint)
        return True

    def __str__(self) -> str:
        message = self.message if isinstance(self.message, str) else "<message as described>"
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {message} (hint: {self.hint})"


def rel(site: SiteDir, path: str) -> str:
    assert (site.root / path).is_file(), path
    return path


def at(site: SiteDir, path: str, needle: str) -> tuple[str, int, int]:
    line, column = line_of(site.root / path, needle)
    return rel(site, path), line, column


CLAIM = "content/claims/agreement.md"
SOURCE = "content/sources/example-daily-2022-12-22-talks.md"


def _missing_field(s):
    return [Expect(rel(s, "content/claims/no-date.md"), FRONT_MATTER_START, 1,
                   "missing required field `said`",
                   "add `said:` — when it was said (or first reported), YYYY-MM-DD.")]


def _wrong_type(s):
    return [Expect(*at(s, "content/speakers/ana-markovic.md", "role: 1.10"),
                   "expected text, found a number (1.1)",
                   "YAML read this as the number 1.1; write it in double quotes")]


def _invalid_date(s):
    return [Expect(*at(s, "content/claims/bad-date.md", "said: 2022-13-01"),
                   "'2022-13-01' is not a valid date", "write it as YYYY-MM-DD, e.g. 2022-12-21")]


def _unknown_speaker(s):
    return [Expect(*at(s, CLAIM, "speaker: ana-markovik"), "unknown speaker `ana-markovik`",
                   "did you mean `ana-markovic`?")]


def _unknown_event(s):
    return [Expect(*at(s, CLAIM, "event: press-conferense-2022"), "unknown event `press-conferense-2022`",
                   "did you mean `press-conference-2022`?")]


def _unknown_source(s):
    # the key sits inside a list item: the column is that of `source`, not of the `-`
    return [Expect(*at(s, CLAIM, "source: example-daily-2022-12-23-talks"),
                   "unknown source `example-daily-2022-12-23-talks`",
                   "did you mean `example-daily-2022-12-22-talks`?")]


def _verdict_not_in_scale(s):
    return [Expect(*at(s, CLAIM, "verdict: acurate"), "`acurate` is not a verdict of this site's scale",
                   "did you mean `accurate`?")]


def _duplicate_slug(s):
    folder = s.content / "speakers"
    same = sorted(p.name for p in folder.iterdir() if p.stem.lower() in ("vucic", "vučić"))
    assert len(same) == 3, same
    first = same[0]  # entries are read in file-name order; the first keeps the slug
    return [Expect(f"content/speakers/{name}", 1, 0,
                   f"the slug 'vucic' is already used by content/speakers/{first}",
                   "file names must differ by more than case or accents; rename one of them")
            for name in same[1:]]


def _empty_quote(s):
    return [Expect(*at(s, "content/claims/empty.md", 'quote: ""'), "this field is empty",
                   "write its value (a new entry's comment beside it says what goes there)")]


def _no_appearances(s):
    def says_empty(message: str) -> bool:
        # "expected a list of items, found a list" contradicts itself: the list is empty
        return "found a list" not in message and ("empty" in message or "no appearance" in message)
    return [Expect(*at(s, "content/claims/nowhere.md", "appearances: []"), says_empty)]


def _unknown_field(s):
    return [Expect(*at(s, CLAIM, "speeker:"), "unknown field `speeker`", "did you mean `speaker`?"),
            Expect(rel(s, CLAIM), FRONT_MATTER_START, 1, "missing required field `speaker`")]


def _malformed_yaml(s):
    needle = "summary: The minister said: the agreement"
    line, column = line_of(s.root / CLAIM, needle)
    column += needle.index(": the")  # the second ": " is where YAML gives up
    return [Expect(rel(s, CLAIM), line, column,
                   lambda m: m.startswith("YAML syntax error: mapping values are not allowed"),
                   'a value contains ": " — put the whole value in double quotes')]


def _unknown_config_key(s):
    return [Expect(*at(s, "site_config.yaml", "per_pgae: 20"), "unknown field `per_pgae`",
                   "did you mean `per_page`?")]


def _missing_front_matter(s):
    return [Expect(rel(s, "content/events/notes.md"), 1, 0, "the file does not start with front matter")]


def _unclosed_front_matter(s):
    return [Expect(rel(s, "content/speakers/unclosed.md"), 1, 0, "the front matter is not closed")]


def _misquote(s):
    return [Expect(*at(s, CLAIM, 'wording: "The agreement from 2014'),
                   f'the wording is not in {SOURCE}: "The agreement from 2014 has still not been implemented"',
                   ('closest passage: "The agreement from 2013 has still not been implemented"',
                    'quote has "2014" where the source has "2013"'))]


def _misquote_last_word(s):
    return [Expect(*at(s, CLAIM, 'wording: "The agreement from 2013'),
                   f'the wording is not in {SOURCE}: "The agreement from 2013 has still not been respected"',
                   ('closest passage: "The agreement from 2013 has still not been implemented"',
                    'quote has "respected" where the source has "implemented"'))]


def _misquote_in_quote(s):
    # The quote is the appearance's wording here: one changed word is one problem, not two
    # (whichever of the two messages factsite keeps, it must quote, locate and explain it).
    return [Expect(*at(s, CLAIM, 'quote: "The agreement from 2014'),
                   lambda m: '"The agreement from 2014 has still not been implemented"' in m,
                   ('"The agreement from 2013 has still not been implemented"',
                    'quote has "2014" where the source has "2013"'))]


def _multi_error(s):
    return (_missing_field(s)
            + [Expect(*at(s, "content/claims/bad-verdict.md", "verdict: acurate"),
                      "`acurate` is not a verdict of this site's scale", "did you mean `accurate`?"),
               Expect(*at(s, "content/claims/misquote.md", 'wording: "The agreement from 2014'),
                      f'the wording is not in {SOURCE}: "The agreement from 2014 has still not been implemented"',
                      ('closest passage: "The agreement from 2013 has still not been implemented"',)),
               Expect(*at(s, "content/claims/typo-field.md", "sumary:"), "unknown field `sumary`",
                      "did you mean `summary`?")]
            + _wrong_type(s) + _missing_front_matter(s)
            + [Expect(rel(s, "content/sources/readme.txt"), 0, 0, "ignored: not a .md file",
                      severity="warning")])


CASES: dict[str, Callable[[SiteDir], list[Expect]]] = {
    "missing-field": _missing_field,
    "wrong-type": _wrong_type,
    "invalid-date": _invalid_date,
    "unknown-speaker": _unknown_speaker,
    "unknown-event": _unknown_event,
    "unknown-source": _unknown_source,
    "verdict-not-in-scale": _verdict_not_in_scale,
    "duplicate-slug": _duplicate_slug,
    "empty-quote": _empty_quote,
    "no-appearances": _no_appearances,
    "unknown-field": _unknown_field,
    "malformed-yaml": _malformed_yaml,
    "unknown-config-key": _unknown_config_key,
    "missing-front-matter": _missing_front_matter,
    "unclosed-front-matter": _unclosed_front_matter,
    "misquote": _misquote,
    "misquote-last-word": _misquote_last_word,
    "misquote-in-quote": _misquote_in_quote,
    "multi-error": _multi_error,
}

_PROBLEM = re.compile(r"^(?P<path>[^\s:][^:]*?)(?::(?P<line>\d+))?(?::(?P<column>\d+))?: "
                      r"(?P<severity>error|warning): (?P<message>.*)$")


def parse_text(output: str) -> tuple[list[dict], str]:
    """The text format back to problems: `path:line:col: severity: message` + `    hint: ...`."""
    lines = output.rstrip("\n").split("\n")
    problems: list[dict] = []
    for line in lines[:-1]:
        if line.startswith("    hint: "):
            assert problems and not problems[-1]["hint"], f"stray hint line: {line!r}"
            problems[-1]["hint"] = line.removeprefix("    hint: ")
            continue
        m = _PROBLEM.match(line)
        assert m, f"not a problem line: {line!r}"
        problems.append(dict(path=m["path"], line=int(m["line"] or 0), column=int(m["column"] or 0),
                             severity=m["severity"], message=m["message"], hint=""))
    return problems, lines[-1]


def summary(expected: list[Expect]) -> str:
    e = sum(x.severity == "error" for x in expected)
    w = sum(x.severity == "warning" for x in expected)
    return f"{e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''}"


def assert_problems(found: list[dict], expected: list[Expect]) -> None:
    unmatched = list(found)
    missing = []
    for e in expected:
        hit = next((p for p in unmatched if e.matches(p)), None)
        if hit is None:
            missing.append(str(e))
        else:
            unmatched.remove(hit)
    assert not missing and not unmatched, (
        "\nexpected but not reported:\n  " + ("\n  ".join(missing) or "(none)")
        + "\nreported but not expected:\n  " + ("\n  ".join(map(str, unmatched)) or "(none)"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_text_format(case: str, tmp_path: Path) -> None:
    site = stage("invalid", case, tmp_path)
    expected = CASES[case](site)
    run = site.cli("check", "--config", "site_config.yaml")
    assert run.code == 1, run.text
    problems, last = parse_text(run.out)
    assert_problems(problems, expected)
    assert last == summary(expected)


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_json_format(case: str, tmp_path: Path) -> None:
    site = stage("invalid", case, tmp_path)
    expected = CASES[case](site)
    run = site.cli("check", "--config", "site_config.yaml", "--format", "json")
    assert run.code == 1, run.text
    problems = problems_json(run)
    assert all(set(p) == {"path", "line", "column", "severity", "message", "hint"} for p in problems)
    assert_problems(problems, expected)


def test_multi_error_run_as_a_process(tmp_path: Path) -> None:
    """One real `python build.py check` reports every problem of the site, then the summary."""
    site = stage("invalid", "multi-error", tmp_path)
    expected = _multi_error(site)
    run = site.run("check", "--config", "site_config.yaml")
    assert run.code == 1
    assert "Traceback" not in run.text
    problems, last = parse_text(run.out)
    assert_problems(problems, expected)
    assert last == summary(expected) == "6 errors, 1 warning"
    # the files with errors are all named, each once per mistake
    assert {p["path"] for p in problems if p["severity"] == "error"} == {
        "content/claims/no-date.md", "content/claims/bad-verdict.md", "content/claims/misquote.md",
        "content/claims/typo-field.md", "content/speakers/ana-markovic.md", "content/events/notes.md"}


def test_problems_are_listed_in_file_and_line_order(tmp_path: Path) -> None:
    site = stage("invalid", "multi-error", tmp_path)
    problems, _ = parse_text(site.cli("check", "--config", "site_config.yaml").out)
    keys = [(p["path"], p["line"], p["column"]) for p in problems]
    assert keys == sorted(keys)


def test_check_of_a_site_with_only_a_warning_exits_0(tmp_path: Path) -> None:
    site = stage("sites", "minimal", tmp_path)
    (site.content / "claims" / "notes.txt").write_text("scratch notes\n", encoding="utf-8")
    run = site.cli("check", "--config", "site_config.yaml", "--format", "json")
    assert run.code == 0
    assert problems_json(run) == [{"path": "content/claims/notes.txt", "line": 0, "column": 0,
                                   "severity": "warning", "message": "ignored: not a .md file",
                                   "hint": "entries are Markdown files ending in .md"}]


@pytest.mark.parametrize("case", ["unknown-speaker", "unknown-config-key", "misquote"])
def test_paths_in_messages_open_from_the_working_directory(case: str, tmp_path: Path) -> None:
    """Run from elsewhere (`--config tests/invalid/<case>/site_config.yaml`): every path printed
    must still name the file from where the command ran, so editors and terminals can open it."""
    site = stage("invalid", case, tmp_path)
    config = site.config.relative_to(site.top).as_posix()
    run = site.cli("check", "--config", config, "--format", "json", cwd=site.top)
    assert run.code == 1
    problems = problems_json(run)
    assert problems
    for p in problems:
        assert (site.top / p["path"]).is_file(), (
            f"{p['path']!r} (from {p['message']!r}) is not a file relative to the working directory")
    text_run = site.cli("check", "--config", config, cwd=site.top)
    for p in parse_text(text_run.out)[0]:
        assert (site.top / p["path"]).is_file(), p["path"]


def test_quotations_checked_in_worker_processes_give_the_one_process_result(tmp_path: Path,
                                                                           monkeypatch) -> None:
    """A large site's quotations are checked by worker processes while the parent links the
    claims whose results are in: the claims, their passages and wordings, and the problems
    are those of one process checking all of it in turn. Two wordings are broken here (one
    mid-site, one in the last claim in file order) so some claims fail on the way."""
    import factsite.parallel
    from factsite.config import load_config
    from factsite.errors import Problems
    from factsite.loading import load_content
    from factsite.validate import build_site

    site = stage_sample(tmp_path)
    claims = sorted((site.content / "claims").glob("*.md"))
    for path in (claims[len(claims) // 2], claims[-1]):
        text = path.read_text(encoding="utf-8")
        line = next(x for x in text.splitlines() if x.startswith("quote:"))
        words = line.split()
        words[3] = "zzzz"
        path.write_text(text.replace(line, " ".join(words)), encoding="utf-8")

    def check() -> tuple[list, list]:
        problems = Problems()
        config = load_config(site.config, problems)
        built = build_site(config, load_content(config.content_dir, problems), problems)
        def texts(segments: list) -> list:
            return [(s.text, s.marked) for s in segments or []]
        model = [(c.slug, [(a.source.slug, texts(a.context), texts(a.diff), a.text_fragment)
                           for a in c.appearances])
                 for c in built.claims]
        return model, sorted(problems.items, key=repr)

    alone = check()
    monkeypatch.setattr(factsite.parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(factsite.parallel, "CHUNK", 2)
    monkeypatch.setattr(factsite.parallel, "workers", lambda: 2)
    assert check() == alone
    model, problems = alone
    assert len(model) == len(claims) - 2
    assert sum("zzzz" in p.message for p in problems) >= 2


def test_claims_are_linked_while_workers_check_their_quotations(tmp_path: Path, monkeypatch) -> None:
    """The quotation checks go to worker processes before the parent links the claims, so
    both go on at once; the parent then only looks the results up: no quotation is checked
    in the parent, and every claim is linked and verified."""
    import contextlib

    import factsite.parallel
    import factsite.validate as validate
    from factsite.config import load_config
    from factsite.errors import Problems
    from factsite.loading import load_content
    from factsite.quotes import SourceText

    monkeypatch.setattr(factsite.parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(factsite.parallel, "workers", lambda: 2)
    site = stage_sample(tmp_path)
    parent, events = os.getpid(), []
    real_started, real_link, real_check = validate.started, validate.ClaimLinker.link, SourceText.check

    @contextlib.contextmanager
    def started(*args, **kwargs):
        with real_started(*args, **kwargs) as results:
            events.append("checks under way")
            yield results

    def link(linker, *args):
        events.append("link")
        return real_link(linker, *args)

    def check(text, wording):
        if os.getpid() == parent:
            events.append("checked in the parent")
        return real_check(text, wording)

    monkeypatch.setattr(validate, "started", started)
    monkeypatch.setattr(validate.ClaimLinker, "link", link)
    monkeypatch.setattr(SourceText, "check", check)
    problems = Problems()
    config = load_config(site.config, problems)
    built = validate.build_site(config, load_content(config.content_dir, problems), problems)
    assert not problems.errors
    claims = len(list((site.content / "claims").glob("*.md")))
    assert events == ["checks under way"] + ["link"] * claims
    assert len(built.claims) == claims
    assert all(a.context for c in built.claims for a in c.appearances)  # verified, with passages


@pytest.mark.parametrize("broken", [False, True], ids=["every quotation found", "one not found"])
def test_the_site_planned_while_quotations_are_checked_is_the_one_built(tmp_path: Path, monkeypatch,
                                                                       broken: bool) -> None:
    """`meanwhile` gets the linked site while workers check (pages are planned then); it is
    the site returned when every quotation is found. When one is not, the site returned is
    another, without that claim, and its entries list only the claims kept."""
    import contextlib

    import factsite.parallel
    import factsite.validate as validate
    from factsite.config import load_config
    from factsite.errors import Problems
    from factsite.loading import load_content

    monkeypatch.setattr(factsite.parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(factsite.parallel, "workers", lambda: 2)
    site = stage_sample(tmp_path)
    claims = sorted((site.content / "claims").glob("*.md"))
    if broken:
        text = claims[0].read_text(encoding="utf-8")
        line = next(x for x in text.splitlines() if x.startswith("quote:"))
        words = line.split()
        words[3] = "zzzz"
        claims[0].write_text(text.replace(line, " ".join(words)), encoding="utf-8")
    events, seen = [], []
    real_started = validate.started

    @contextlib.contextmanager
    def started(*args, **kwargs):
        with real_started(*args, **kwargs) as results:
            events.append("checks under way")
            yield results
            events.append("checks done")

    def ids(entries: list) -> list[int]:
        return [id(e) for e in entries]

    def meanwhile(hoped) -> None:
        events.append("meanwhile")
        seen.append((id(hoped), ids(hoped.claims), [ids(s.claims) for s in hoped.speakers]))

    monkeypatch.setattr(validate, "started", started)
    problems = Problems()
    config = load_config(site.config, problems)
    built = validate.build_site(config, load_content(config.content_dir, problems), problems,
                                meanwhile=meanwhile)
    assert events == ["checks under way", "meanwhile", "checks done"]
    # (compared as ids, taken outside the asserts: a failed one would show the repr of the
    # objects it names, and a linked site's runs to gigabytes)
    hoped, hoped_claims, hoped_lists = seen[0]
    site_id, claim_ids, speaker_lists = id(built), ids(built.claims), [ids(s.claims) for s in built.speakers]
    errors = len(problems.errors)
    assert len(hoped_claims) == len(claims)
    if not broken:
        assert errors == 0
        assert site_id == hoped and claim_ids == hoped_claims and speaker_lists == hoped_lists
    else:
        assert errors > 0
        assert site_id != hoped and len(claim_ids) == len(claims) - 1
        listed = [c for ids_of_speaker in speaker_lists for c in ids_of_speaker]
        assert sorted(listed) == sorted(claim_ids)


def test_no_plan_is_made_for_a_site_with_errors_before_its_quotations(tmp_path: Path) -> None:
    """An unknown speaker is an error found while linking: the build stops after the checks,
    so nothing is planned for it."""
    from factsite.config import load_config
    from factsite.errors import Problems
    from factsite.loading import load_content
    from factsite.validate import build_site

    site = stage_sample(tmp_path)
    claim = sorted((site.content / "claims").glob("*.md"))[0]
    text = claim.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("speaker:"))
    claim.write_text(text.replace(line, "speaker: nobody-at-all"), encoding="utf-8")
    problems = Problems()
    config = load_config(site.config, problems)
    called = []
    build_site(config, load_content(config.content_dir, problems), problems, meanwhile=called.append)
    assert problems.errors and called == []


def test_a_verdict_yaml_reads_as_false_gets_both_answers_at_once(tmp_path: Path):
    """`verdict: false` is a YAML boolean; once quoted, it is still not on the scale. Both
    are said in one run (issue 26: it took two)."""
    from conftest import stage

    site = stage("sites", "minimal", tmp_path)
    claim = site.root / "content" / "claims" / "agreement-not-implemented.md"
    claim.write_text(claim.read_text(encoding="utf-8").replace("verdict: accurate", "verdict: false"),
                     encoding="utf-8")
    run = site.cli("check")
    assert run.code == 1
    assert "claims/agreement-not-implemented.md:6:" in run.text
    assert "expected text, found a yes/no value (false)" in run.text
    assert "`false` is not a verdict of this site's scale either" in run.text
    assert "use one of: accurate, misleading, opinion" in run.text


@pytest.mark.parametrize("pasted", ['"“{}”"', "'“{}”'", '"«{}»"', "'\"{}\"'"])
def test_quotation_marks_pasted_around_a_quote_are_not_shown_twice(tmp_path: Path, pasted: str):
    from bs4 import BeautifulSoup

    from conftest import stage

    site = stage("sites", "minimal", tmp_path)
    claim = site.root / "content" / "claims" / "agreement-not-implemented.md"
    words = "The agreement from 2013 has still not been implemented"
    claim.write_text(claim.read_text(encoding="utf-8").replace(f'quote: "{words}"', "quote: " + pasted.format(words)),
                     encoding="utf-8")
    assert site.cli("--output", str(tmp_path / "out")).code == 0
    page = BeautifulSoup((tmp_path / "out" / "claims" / "agreement-not-implemented" / "index.html")
                         .read_text(encoding="utf-8"), "html.parser")
    assert page.select_one("h1.claim-quote").get_text() == f"“{words}”"


def test_marks_inside_a_quote_keep_the_outer_ones():
    from factsite.quotes import without_outer_marks

    assert without_outer_marks('"Kosovo" and "Metohija"') == '"Kosovo" and "Metohija"'
    assert without_outer_marks("“Kosovo is Serbia”") == "Kosovo is Serbia"
    assert without_outer_marks("‘Serbia’s friend’") == "‘Serbia’s friend’"
    assert without_outer_marks('"') == '"'


@pytest.mark.parametrize("reference", ["A. Marković", "Ана Марковић", "Ana Marković"])
def test_a_reference_may_be_a_speakers_name_or_alias(tmp_path: Path, reference: str):
    """`speaker: Vucic` was "unknown speaker" with the advice to create a second file for
    the same person (issue 26); a name or an alias in any script names the entry."""
    from bs4 import BeautifulSoup

    from conftest import stage

    site = stage("sites", "minimal", tmp_path)
    speakers = site.root / "content" / "speakers"
    (speakers / "ana-markovic.md").rename(speakers / "markovic.md")  # the name is no longer the file's
    text = (speakers / "markovic.md").read_text(encoding="utf-8")
    (speakers / "markovic.md").write_text(text.replace('aliases: ["Ana Markovic"]',
                                                        'aliases: ["A. Marković", "Ана Марковић"]'), encoding="utf-8")
    for claim in (site.root / "content" / "claims").glob("*.md"):
        claim.write_text(claim.read_text(encoding="utf-8").replace("speaker: ana-markovic", f'speaker: "{reference}"'),
                         encoding="utf-8")
    run = site.cli("--output", str(tmp_path / "out"))
    assert run.code == 0, run.text
    page = BeautifulSoup((tmp_path / "out" / "claims" / "agreement-not-implemented" / "index.html")
                         .read_text(encoding="utf-8"), "html.parser")
    assert any(a["href"] == "/speakers/markovic/" for a in page.find_all("a", href=True))


@pytest.mark.parametrize("header, line, hint", [
    ('quote: People know it\n speaker: ana-markovic', 3, "`speaker:` starts 1 space in"),
    ('appearances:\n  - source: example\n     wording: "w"', 4, "`wording:` starts 5 spaces in"),
    ('appearances:\n  - source: example\n   wording: "w"', 4, "`wording:` starts 3 spaces in"),
    (' quote: "x"\nspeaker: a', 3, "the fields above this one start with spaces"),
    ('summary: Serbia: the talks', 2, 'a value contains ": " — put the whole value in double quotes'),
])
def test_yaml_hints_point_at_the_indentation_when_that_is_the_mistake(tmp_path: Path, header: str,
                                                                      line: int, hint: str):
    """A badly indented field was advised to quote its value (issue 26); a value with ": "
    in it still is."""
    from conftest import stage

    site = stage("sites", "minimal", tmp_path)
    path = site.root / "content" / "claims" / "broken.md"
    path.write_text(f"---\n{header}\n---\n\nBody.\n", encoding="utf-8")
    run = site.cli("check")
    assert run.code == 1
    assert f"content/claims/broken.md:{line}:" in run.text, run.text
    assert hint in run.text, run.text
    if "starts" in hint:
        assert "double quotes" not in run.text.split("broken.md", 1)[1].split("\n\n")[0]
