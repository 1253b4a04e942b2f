"""Property-based tests (hypothesis): whatever the front matter and Markdown, the build gives
a located error or a valid, script-free page; it never raises anything else.

Whole-build properties write generated entries (a claim, its speaker, event and source)
into one staged copy of tests/sites/minimal, restored before every example, and call
factsite.pipeline.build in this process. A BuildFailed is accepted only if every error is
located in one of the generated files; a success must give a claim page (parsed with
html5lib) with no script but the template's own and no javascript:/vbscript:/data: URL,
JSON-LD that gives back the quote, and a search index that parses.

Unit-level properties (parse_yaml, check_record, the Markdown renderer, slugs and output
paths) are cheap, so they run more examples.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from conftest import REPO, SiteDir, chdir, stage

from factsite import yamlfast
from factsite.errors import BuildFailed
from factsite.frontmatter import FrontMatterError, Split, split_front_matter
from factsite.markup import Markdown
from factsite.model import _paragraphs
from factsite.pipeline import build
from factsite.quotes import SourceText, _flat, _passage_bounds, compare_wordings, fragments, tokenize
from factsite.schema import KINDS, check_record
from factsite.urls import check_relative, slug_problem, slugify
from factsite.yamlread import _TYPES as YAML_TYPES
from factsite.yamlread import _Loader as YamlLoader
from factsite.yamlread import parse_yaml

DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "srcset", "xlink:href", "background")
INJECTED = ["x-evil", "iframe", "object", "embed", "svg", "math", "base", "style", "textarea", "form",
            "input", "button", "frame", "frameset", "meta", "link"]
RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}

# Whole builds take ~50 ms each: shrinking a failure could take minutes, so the failing
# example is reported as generated (hypothesis prints it) instead of shrunk.
BUILD_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate],
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
UNIT_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

OUTCOMES: Counter[str] = Counter()


def dangerous(url: str) -> bool:
    cleaned = "".join(ch for ch in url if ch > " ").lower()
    return cleaned.startswith(DANGEROUS_SCHEMES)


# --------------------------------------------------------------------------- strategies

PAYLOADS = ["<script>alert(1)</script>", "</script>", '"><img src=x onerror=alert(1)>', "<!--", "-->",
            "]]>", "<![CDATA[", "&amp;", "&#x3C;", "&lt;script&gt;", "'", '"', "\\", "\u2028", "\u2029",
            "\ufeff", "\u202e", "\x85", "javascript:alert(1)", "{{ 7*7 }}", "{% raw %}", "${x}", "%s",
            "../../etc/passwd", "CON", "nul", "\U0001f642", "Вучић", "ﷺ", "\u0301", "\t", "  ",
            "null", "~", "yes", "NO", "1.10", "2022-12-21", "0x1f", "1e3", ".nan", "- a", "a: b",
            "# c", "[x]", "{y: z}", "*alias", "&anchor", "!!python/object", "|", ">", "@", "`"]

any_char = st.characters(exclude_categories=("Cs",))  # lone surrogates are not text a file can hold
# XML 1.0 allows tab, newline and carriage return of the C0 controls, and not U+FFFE/U+FFFF
xml_char = st.one_of(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"),
                     st.sampled_from("\t\n\r\x85"))


def texts(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Hostile text that is not blank (a blank required field is an error, tested elsewhere)
    and has a letter (so a tag of it has a slug)."""
    piece = st.one_of(st.text(alphabet, max_size=12), st.sampled_from(PAYLOADS))
    return st.tuples(st.lists(piece, min_size=1, max_size=5).map("".join), st.sampled_from("aXé7Жz"),
                     st.integers(0, 2)).map(lambda t: t[0][:t[2] * 5] + t[1] + t[0][t[2] * 5:])


ANY_TEXT = texts(any_char)
XML_TEXT = texts(xml_char)


def values(leaf_text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Any YAML value: scalars of every type, nested lists and mappings."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 40, 10 ** 40),
                        st.floats(allow_nan=True, allow_infinity=True), leaf_text,
                        st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(leaf_text, inner, max_size=3)), max_leaves=8)


SCHEMES = st.one_of(st.sampled_from(["javascript:", "JaVaScRiPt:", " javascript:", "java\tscript:",
                                     "jav&#x61;script:", "&#106;avascript:", "javascript&colon;",
                                     "vbscript:", "VBSCRIPT:", "data:", "data:text/html,", "DATA:",
                                     "http:", "https:", "mailto:", "file:", "ftp:", "//", "", "#"]),
                    st.from_regex(r"[a-zA-Z][a-zA-Z0-9+.\-]{0,8}:", fullmatch=True))
MARKDOWN_PIECES = ["[", "]", "(", ")", "<", ">", "![", "[^1]", "[^1]: ", "[r]", "[r]: ", "\n", "\n\n",
                   "\n- ", "\n1. ", "\n> ", "\n# ", "\n```\n", "`", "*", "_", "~~", "|", "\n| a | b |\n|---|---|\n",
                   "<script>", "</script>", "<a href=\"", "\">", "</a>", "<img src=x onerror=alert(1)>",
                   "<svg onload=alert(1)>", "<iframe src=javascript:alert(1)>", "&#x6A;", "&colon;",
                   "&amp;", "<!--", "-->", "\\", "    ", "\t", "{{", "}}"]


body_char = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")  # NUL: a binary file


@st.composite
def markdown(draw, alphabet=body_char) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            label = draw(st.text(alphabet, max_size=6))
            parts.append(f"[{label}]({draw(SCHEMES)}{draw(st.text(alphabet, max_size=10))})")
        elif kind == 1:
            parts.append(f"![i]({draw(SCHEMES)}alert(1))")
        elif kind == 2:
            parts.append(f"<{draw(SCHEMES)}alert(1)>")
        elif kind == 3:
            parts.append(f"\n\n[r]: {draw(SCHEMES)}alert(1)\n\n[ref][r] [r]\n")
        elif kind == 4:
            parts.append(draw(st.sampled_from(MARKDOWN_PIECES)))
        else:
            parts.append(draw(st.text(alphabet, max_size=15)))
    return "".join(parts)


@st.composite
def damage(draw, records: list[dict[str, Any]], leaf_text: st.SearchStrategy[str]) -> None:
    """Break about half of the generated sites: a field replaced by anything, dropped, or an
    unknown key added (the other half keeps valid fields, with hostile text in them)."""
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3]))):
        record = draw(st.sampled_from(records))
        action = draw(st.integers(0, 3))
        if action == 0 and record:
            del record[draw(st.sampled_from(sorted(record)))]
        elif action == 1:
            record[draw(leaf_text)] = draw(values(leaf_text))
        elif record:
            record[draw(st.sampled_from(sorted(record)))] = draw(values(leaf_text))


def dump(data: Any, body: str) -> bytes:
    header = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return ("---\n" + header + "---\n\n" + body + "\n").encode("utf-8")


@st.composite
def generated_site(draw, leaf_text: st.SearchStrategy[str]) -> tuple[dict[str, bytes], Any]:
    """A claim, its speaker, event and source, with random text, random damage and random bodies."""
    quote = draw(leaf_text)
    speaker = {"name": draw(leaf_text), "role": draw(leaf_text), "organisation": draw(leaf_text),
               "country": draw(leaf_text), "aliases": draw(st.lists(leaf_text, max_size=3))}
    event_ = {"name": draw(leaf_text), "date": "2023-01-01", "place": draw(leaf_text)}
    source = {"outlet": draw(leaf_text), "title": draw(leaf_text), "url": "https://example.com/news/x",
              "published": "2023-01-02", "language": "en", "author": draw(leaf_text),
              "retrieved": "2026-11-01"}
    claim = {"quote": quote, "speaker": "gen-speaker", "event": "gen-event", "said": "2023-01-01",
             "verdict": draw(st.sampled_from(["accurate", "misleading", "opinion"])),
             "tags": draw(st.lists(leaf_text, max_size=3)), "summary": draw(leaf_text),
             "reviewed": "2026-11-24", "appearances": [{"source": "gen-source"}]}
    draw(damage([speaker, event_, source, claim], leaf_text))
    # the source's archived text holds the quote, as its own paragraph
    source_body = "Opening paragraph of the article.\n\n" + " ".join(quote.split()) + "\n\nThe end."
    files = {
        "content/speakers/gen-speaker.md": dump(speaker, draw(markdown())),
        "content/events/gen-event.md": dump(event_, draw(markdown())),
        "content/sources/gen-source.md": dump(source, source_body),
        "content/claims/gen-claim.md": dump(claim, draw(markdown())),
    }
    # the quote as YAML reads it back (PyYAML's emitter does not keep a NEL, U+0085, intact)
    header = yaml.safe_dump(claim, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return files, (yaml.safe_load(header) or {}).get("quote")


# --------------------------------------------------------------------------- whole builds

class Playground:
    """One staged minimal site; each example's files are written in, and removed after."""

    def __init__(self, root: Path):
        self.site: SiteDir = stage("sites", "minimal", root)
        self.root = root
        self.count = 0
        self.pristine = {p: p.read_bytes() for p in self.site.content.rglob("*") if p.is_file()}

    def reset(self) -> None:
        for path in sorted(self.site.content.rglob("*"), reverse=True):
            if path.is_file() and path not in self.pristine:
                path.unlink()
        for path, data in self.pristine.items():
            if path.read_bytes() != data:
                path.write_bytes(data)

    def build(self, files: dict[str, bytes]) -> tuple[str, Any, Path]:
        """'ok' and the result, or 'failed' and the problems; never anything else."""
        self.reset()
        for rel, data in files.items():
            (self.site.root / rel).write_bytes(data)
        self.count += 1
        out = self.root / "outputs" / f"out{self.count}"
        try:
            with chdir(self.site.root):
                result = build(self.site.config, output_dir=out, use_cache=False)
        except BuildFailed as failed:
            errors = failed.problems.errors
            assert errors, "BuildFailed without an error"
            stray = [p.format() for p in errors if p.location.path not in files]
            assert stray == [], f"errors not located in the generated files: {stray}"
            for p in errors:
                assert p.location.line >= 0 and p.message and p.hint, p
            return "failed", failed.problems, out
        finally:
            self.reset()
        return "ok", result, out


@pytest.fixture(scope="module")
def playground(tmp_path_factory) -> Playground:
    return Playground(tmp_path_factory.mktemp("properties"))


def _check_claim_page(out: Path, quote: str) -> BeautifulSoup:
    soup = BeautifulSoup((out / "claims" / "gen-claim" / "index.html").read_bytes(), "html5lib")
    scripts = soup.find_all("script")
    for script in scripts:
        if script.get("src"):
            assert script["src"].startswith("/static/"), str(script)
            assert not (script.string or "").strip()
        else:
            assert script.get("type") == "application/ld+json", str(script)[:300]
    (ld,) = [s for s in scripts if not s.get("src")]
    data = json.loads(ld.string)
    if isinstance(quote, str):
        assert data["claimReviewed"] == quote.strip()
    for name in INJECTED:
        for element in soup.find("main").find_all(name):
            raise AssertionError(f"<{name}> from content: {str(element)[:200]}")
    assert soup.find("img", src="x") is None
    for element in soup.find_all(True):
        for attribute, value in element.attrs.items():
            assert not attribute.lower().startswith("on"), (element.name, attribute)
            if attribute.lower() in URL_ATTRIBUTES:
                for v in value if isinstance(value, list) else [value]:
                    assert not dangerous(v), (element.name, attribute, v)
    return soup


def _check_search_index(out: Path, quote: str) -> None:
    index = json.loads((out / "search" / "index.json").read_text(encoding="utf-8"))
    titles = {r[1]: r[2] for r in index["records"]}
    if isinstance(quote, str):
        assert titles["claims/gen-claim/"] == quote.strip()


def _build_and_count(playground: "Playground", files: Any, label: str) -> tuple[str, Any, Path]:
    """Build a generated site; count and label the outcome for hypothesis' statistics."""
    outcome, value, out = playground.build(files)
    OUTCOMES[f"{label}:{outcome}"] += 1
    event(outcome)
    if outcome == "failed":
        for p in value.errors:
            event("error: " + re.sub(r"[`'\"(].*", "", p.message))
    return outcome, value, out


@given(generated=generated_site(ANY_TEXT))
@BUILD_SETTINGS
def test_any_content_gives_a_located_error_or_a_safe_page(playground: Playground, generated):
    files, quote = generated
    outcome, value, out = _build_and_count(playground, files, "any")
    if outcome == "ok":
        _check_claim_page(out, quote)
        _check_search_index(out, quote)
    shutil.rmtree(out, ignore_errors=True)


@given(generated=generated_site(XML_TEXT))
@BUILD_SETTINGS
def test_xml_legal_text_gives_well_formed_feeds_and_sitemap(playground: Playground, generated):
    files, quote = generated
    outcome, value, out = _build_and_count(playground, files, "xml")
    if outcome == "ok":
        _check_claim_page(out, quote)
        for path in sorted(out.rglob("*.xml")):
            ET.parse(path)
        atom = "{http://www.w3.org/2005/Atom}"
        entries = ET.parse(out / "speakers" / "gen-speaker" / "feed.xml").getroot().findall(f"{atom}entry")
        assert len(entries) == 1
    shutil.rmtree(out, ignore_errors=True)


YAML_NOISE = st.text(st.sampled_from(list("abq: -[]{}#&*!|>'\",%@`?\n\t 0123.\\~=") + ["\u2028", "é"]),
                     max_size=80)


@given(header=st.one_of(YAML_NOISE, st.lists(st.sampled_from(
    ["quote: ", "speaker: ", "tags: ", "- ", "  ", "&a ", "*a ", "!!str ", "!!binary ", "!!python/none ",
     "? ", ": ", "[", "]", "{", "}", "'", '"', "\n", "x", "1.10", "NO", "2022-02-30", "<<: *a\n",
     "--- ", "...", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n"]), max_size=25).map("".join)))
@BUILD_SETTINGS
def test_raw_yaml_noise_in_front_matter_is_located(playground: Playground, header: str):
    claim = ("---\n" + header + "\n---\n\nBody.\n").encode("utf-8")
    outcome, value, out = playground.build({"content/claims/gen-claim.md": claim})
    OUTCOMES["noise:" + outcome] += 1
    shutil.rmtree(out, ignore_errors=True)


def test_the_build_properties_reached_real_pages():
    """The generators are not so hostile that every example fails: pages were checked."""
    if not any(OUTCOMES.values()):
        pytest.skip("the build properties did not run")
    # "any" text mostly holds control characters, which the schema rejects (located)
    assert OUTCOMES["any:ok"] + OUTCOMES["xml:ok"] >= 5, OUTCOMES
    assert OUTCOMES["any:failed"] >= 5, OUTCOMES
    assert OUTCOMES["xml:ok"] >= 5, OUTCOMES


# --------------------------------------------------------------------------- unit properties

# nesting past Python's recursion limit (in-process only up to 3,000: libyaml itself overflows
# the C stack somewhere past 50,000, which test_hostile.py runs in a separate process)
DEEP = st.one_of(st.integers(0, 60), st.sampled_from([999, 1001, 1500, 3000])).flatmap(lambda d: st.sampled_from(["[" * d + "]" * d, "{a: " * d + "1" + "}" * d,
                                                             "- " * d + "x"]))


YAML_PIECES = st.lists(st.sampled_from(
    ["quote: ", "tags: ", "a: ", "b: ", "- ", "  ", "\n", "x", "'q'", "1", "-3", "0x1f", "1_000", "1.5e3", ".nan",
     ".inf", "true", "NO", "null", "~", "2022-02-30", "[", "]", "{", "}", ", ", "? ", ": ", "<<: {a: 1}\n",
     "!!set {a, b}", "!!omap [a: 1]", "!!str 5", "!!int '7'", "!!binary aGk=", "1: one", "? [a]: b", "&a x",
     "*a", "|\n  two\n  lines\n", ">\n  folded\n"]), max_size=25).map("".join)


@given(text=st.one_of(YAML_NOISE, YAML_PIECES))
@example(text="b: 2\n<<: {a: 1, b: 3}\n")
@example(text="n: 0x1f\nf: .nan\ns: !!set {a, b}\no: !!omap [a: 1]\n1: one\n? [a]\n: b\n")
@example(text="tags:\n- a\n- b\nquote: 'x'\nn: ~\n")
@example(text="a: &a x\na: *a\n")
@example(text="l0: &l0 {a: 1}\nl1: &l1 {<<: [*l0, *l0]}\nl2: {<<: [*l1, *l1]}\n")
@UNIT_SETTINGS
def test_parse_yaml_reads_what_pyyaml_reads(text: str):
    """The one-pass reader builds the same values as PyYAML's own constructor."""
    doc, errors = parse_yaml(text, 3)
    try:
        expected = yaml.load(text, Loader=YamlLoader)
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError):
        assert doc is None and errors
        return
    if doc is None:  # refused though PyYAML reads it: only for an alias
        assert "*" in text and any("aliases" in e.message for e in errors), errors
        return
    assert all("given twice" in e.message for e in errors), errors
    assert repr(doc.data) == repr(expected)
    assert doc.marks is None  # positions are recorded only when asked for
    root = yaml.compose(text, Loader=YamlLoader)
    if isinstance(root, yaml.MappingNode):
        where = {}  # each top-level key where PyYAML's composer saw it (a repeated key: the last)
        for key_node, _value in root.value:
            if isinstance(key_node, yaml.ScalarNode):
                where[key_node.value] = (key_node.start_mark.line + 4, key_node.start_mark.column + 1)
        for key, at in where.items():
            assert doc.position((key,)) == at, key


def same_values(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (True == 1 and 1 == 1.0 in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_values(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_values(x, y) for x, y in zip(a, b))
    return a == b


# front matter near the edges of what the fast reader takes: mostly well-formed documents of
# the usual shapes, with keys YAML types, values that are numbers, nulls, indicators,
# comments, escapes, line breaks YAML knows and Python does not, and indentation that nests
# or continues a scalar mixed in
_FM_GOOD_KEYS = st.from_regex(r"[a-z_][a-z0-9_-]{0,5}", fullmatch=True)
_FM_ODD_KEYS = (st.sampled_from(["true", "False", "null", "NULL", "y", "on", "nan", "a b", "'q'",
                                      '"q"', "?", "-x", "1", "<<", "ключ"]))
_FM_GOOD_VALUES = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9 ,.'()/-]{0,20}", fullmatch=True),
    st.from_regex(r'"[^"\\\x00-\x1f\x7f-\x9f]{0,20}"', fullmatch=True),
    st.lists(st.from_regex(r'"[^"\\\x00-\x1f\x7f-\x9f]{0,8}"', fullmatch=True), max_size=3).map(lambda i: f"[{', '.join(i)}]"),
    st.dates().map(str), st.sampled_from(["true", "false", "Vučić, Priština", "Косово", "https://a.example/x?y=1"]))
_FM_ODD_VALUES = st.one_of(
    st.sampled_from(["a: b", "a:b", "a #c", "a#c", "end:", "1", "-5", "+1", "1.5", "1e3", "0x1f", "0o7", "1_000",
                     "1:30", ".inf", ".NaN", "~", "null", "Null", "TRUE", "tRue", "yes", "2015-02-30",
                     "= x", "<< x", "- x", "? x", "% x", "@x", "`x`", "&a x", "*a", "!!str x", "|", ">",
                     '"with: colon # hash"', '"a\\"b"', '"esc\\n"', '"open', '"a" b', "'single'",
                     "'it''s'", "'open", '[ "a" , "b" ]', '["a",]', "[a, b]", "[ ]", '["a" "b"]',
                     "{a: 1}", "{}", "x ", "a\u2028b", "a\x85b", "a\ufeffb", "a\x7fb", "a\u200bb", "😀", ""]),
    st.text(st.sampled_from(list("ab :#-'\"[],{}?!&*|>%@`~.01\\\t") + ["\u2028", "é", "Ж"]), max_size=12))


def _mostly(good: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One odd draw in twenty-five: a document is left to PyYAML at its first odd line."""
    return st.integers(0, 24).flatmap(lambda n: good if n else odd)


_FM_KEYS = _mostly(_FM_GOOD_KEYS, _FM_ODD_KEYS)
_FM_VALUES = _mostly(_FM_GOOD_VALUES, _FM_ODD_VALUES)
_FM_SEPARATORS = st.sampled_from([": "] * 15 + [":", ":  ", " : ", ":\t"])
_FM_NOISE = st.sampled_from(["", " ", "# comment", "  # comment", "---", "...", "%YAML 1.1", "  more",
                             "\t- d", "-", "- ", "  -", "?", "key", "  key: v"])


@st.composite
def front_matter(draw: Any) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        shape = draw(st.sampled_from(["pair"] * 15 + ["list"] * 4 + ["items"] * 4 + ["noise"]))
        key = draw(_FM_KEYS)
        if shape == "pair":
            lines.append(key + draw(_FM_SEPARATORS) + draw(_FM_VALUES))
        elif shape == "noise":
            lines.append(draw(_FM_NOISE))
        else:
            lines.append(key + ":")
            indent = draw(st.sampled_from(["", "  ", "  ", "    ", " "]))
            for _item in range(draw(st.integers(0, 3))):
                dash = indent + draw(st.sampled_from(["- "] * 12 + ["-  ", "-", "-\t"]))
                if shape == "list":
                    lines.append(dash + draw(_FM_VALUES))
                    continue
                inner = " " * len(dash) if draw(st.integers(0, 19)) else draw(_FM_NOISE)
                pairs = [draw(_FM_KEYS) + draw(_FM_SEPARATORS) + draw(_FM_VALUES)
                         for _pair in range(draw(st.integers(1, 3)))]
                lines += [dash + pairs[0]] + [inner + pair for pair in pairs[1:]]
    return "\n".join(lines)


# front matter at the edges of what the fast reader takes: each one is read as PyYAML reads it
# only as long as the reader keeps one of its refusals (a mutation test of each, and a
# review's counterexamples: deep blank lines, a key too long for PyYAML, 21,801 values)
FRONT_MATTER_EDGES = [
    "quote: \"x\"\ntags: [\"a\", \"b\"]\nappearances:\n  - source: s\n    wording: 'w'\n  - source: t",
    "a: b\nlist:\n- x\n-  y: 1\nc:", "a: b\n  c", "a:\n  - x\n   - y", "a:\n  - x\n    y", "a: x #c",
    "a: a\u2028b", "a: 'it''s'", 'a: "esc\\n"', "a: [a, b]\nb: 1\nc: ~\nd: TRUE", "a:\n  b: 1", "a: b\na: c",
    "a: b\n" + " " * 101 + "\n", "a: b\n" + " " * 101 + "#c", "a:\n" + " " * 101 + "- x",
    "a:\n-" + " " * 100 + "b: c", "k" * 1025 + ": v", "a:\n- " + "k" * 1030 + ": v", "k" * 1024 + ": v",
    "a: [" + '"",' * 21800 + '""]',
]


def read_as_pyyaml_reads(text: str) -> bool:
    """Whatever the fast reader takes, PyYAML reads without a complaint to the same values,
    types included; says whether it took the text (it leaves the rest to PyYAML)."""
    data = yamlfast.read(text, YAML_TYPES)
    if data is None:
        return False
    expected = yaml.load(text, Loader=YamlLoader)  # raising here fails the test too
    assert same_values(data, expected), (data, expected)
    assert not [e for e in parse_yaml(text, marks=True)[1]], "PyYAML's reader found a mistake"
    return True


@pytest.mark.parametrize("text", FRONT_MATTER_EDGES, ids=range(len(FRONT_MATTER_EDGES)))
def test_front_matter_at_the_fast_readers_edges_is_read_as_pyyaml_reads_it(text: str):
    read_as_pyyaml_reads(text)


@given(text=front_matter())
@settings(UNIT_SETTINGS, max_examples=1200)
def test_front_matter_the_fast_reader_takes_is_read_as_pyyaml_reads_it(text: str):
    event("taken" if read_as_pyyaml_reads(text) else "left to PyYAML")


def test_the_fast_reader_takes_the_usual_front_matter(tmp_path: Path):
    """Every entry of the sample site and of a generated archive is read without PyYAML, to
    the values PyYAML reads (the property test above only checks what it takes)."""
    subprocess.run([sys.executable, str(REPO / "bench" / "generate_corpus.py"), "--claims", "100",
                    "--out", str(tmp_path)], check=True, capture_output=True)
    files = sorted((REPO / "content").glob("*/*.md")) + sorted((tmp_path / "content").glob("*/*.md"))
    assert len(files) >= 200
    for path in files:
        header = split_front_matter(path.read_text(encoding="utf-8")).header
        assert read_as_pyyaml_reads(header), header


@given(text=st.one_of(YAML_NOISE, st.text(any_char, max_size=200), DEEP))
@UNIT_SETTINGS
def test_parse_yaml_returns_data_or_located_errors(text: str):
    doc, errors = parse_yaml(text, 1)
    for err in errors:
        assert err.line >= 1 and err.message and err.hint
    assert doc is not None or errors


@given(data=st.dictionaries(st.one_of(ANY_TEXT, st.sampled_from(sorted({k for f in KINDS.values() for k in f}))),
                            values(ANY_TEXT), max_size=8),
       kind=st.sampled_from(sorted(KINDS)))
@settings(UNIT_SETTINGS, max_examples=80)
def test_check_record_reports_instead_of_raising(data: dict[str, Any], kind: str):
    reported = []
    values_ = check_record(data, KINDS[kind], lambda path, message, hint: reported.append((path, message, hint)))
    assert set(values_) == set(KINDS[kind])
    for path, message, hint in reported:
        assert isinstance(path, tuple) and message and hint


_md = Markdown(False)


@given(body=markdown())
@UNIT_SETTINGS
def test_markdown_never_yields_markup_or_script_links(body: str):
    html = _md.render(body)
    soup = BeautifulSoup(f"<body>{html}</body>", "html5lib")
    for element in soup.body.find_all(True):
        assert element.name not in ("script", "iframe", "svg", "style", "object", "embed", "form",
                                    "base", "meta", "link", "textarea"), str(element)[:200]
        for attribute, value in element.attrs.items():
            assert not attribute.lower().startswith("on"), (element.name, attribute)
            if attribute in ("href", "src"):
                assert not dangerous(value), (element.name, value)


def _marked_word_by_word(text: str, differs: set[int]) -> list[tuple[str, bool]]:
    """The reference: each word marked on its own, a gap marked between two marked words,
    neighbours with the same mark joined."""
    pieces, at = [], 0
    for i, token in enumerate(tokenize(text)):
        pieces += [(text[at:token.start], i in differs and i - 1 in differs),
                   (text[token.start:token.end], i in differs)]
        at = token.end
    pieces.append((text[at:], False))
    joined: list[tuple[str, bool]] = []
    for piece, marked in pieces:
        if piece and joined and joined[-1][1] == marked:
            joined[-1] = (joined[-1][0] + piece, marked)
        elif piece:
            joined.append((piece, marked))
    return joined


WORDING_WORDS = st.sampled_from(["Kosovo", "kosovo", "is", "Serbia", "Serbia's", "not", "will", "never",
                                 "Приштина", "Vučić", "the", "...", "—", ",", "\n", "  "])


@given(a=st.lists(WORDING_WORDS, max_size=14).map(" ".join),
       b=st.lists(WORDING_WORDS, max_size=14).map(" ".join))
@UNIT_SETTINGS
@example(a="Vučić said  it.", b="Vučić said  it.")  # alike (a third of the 10k corpus's pairs)
@example(a="", b="")
def test_differing_words_are_marked_as_a_word_by_word_diff_would(a: str, b: str):
    keys_a, keys_b = [t.key for t in tokenize(a)], [t.key for t in tokenize(b)]
    differs_a, differs_b = set(), set()
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False).get_opcodes():
        if op != "equal":
            differs_a.update(range(a1, a2))
            differs_b.update(range(b1, b2))
    got_a, got_b = compare_wordings(a, b)
    assert [(s.text, s.marked) for s in got_a] == _marked_word_by_word(a, differs_a)
    assert [(s.text, s.marked) for s in got_b] == _marked_word_by_word(b, differs_b)
    assert "".join(s.text for s in got_a) == a


SOURCE_WORDS = st.sampled_from(["Kosovo", "kosovo", "KOSOVO", "Kosovo's", "Kosovo’s", "is", "isn't", "Serbia",
                                "Serbia'", "'Serbia", "''", "not", "Приштина", "Vučić", "İstanbul", "straße",
                                "the", "thethe", "a_b", "…", "...", "[...]", "—", ",", ".", "\n\n", "  ", "x9",
                                "Ǆ", "ﬁnal"])


def _found_word_by_word(text: str, wording: str) -> tuple[bool, list[tuple[int, int]], str]:
    """The reference: the text cut into words once, each run of the wording compared
    word by word at every place, first to last, each after the one before."""
    tokens = tokenize(text)
    keys = [t.key for t in tokens]
    spans, at, first = [], 0, None
    for run in fragments(wording):
        n = len(run.keys)
        hit = next((i for i in range(at, len(keys) - n + 1) if keys[i:i + n] == run.keys), None)
        if hit is None:
            return False, [], ""
        spans.append((tokens[hit].start, tokens[hit + n - 1].end))
        first = hit if first is None else first
        at, last = hit + n, hit + n - 1
    if not spans:
        return False, [], ""
    words = [text[t.start:t.end] for t in tokens[first:last + 1]]
    if len(words) <= 8:
        fragment = text[tokens[first].start:tokens[last].end]
    else:
        fragment = (text[tokens[first].start:tokens[first + 3].end] + ","
                    + text[tokens[last - 3].start:tokens[last].end])
    return True, spans, fragment


def _check_wording(text: str, wording: str) -> None:
    archived = SourceText(text)
    found, spans, fragment = _found_word_by_word(archived.text, wording)
    indexed = SourceText(text)
    indexed.folded = None  # as for a text whose folding changes its length
    for got in (archived.check(wording), indexed.check(wording)):
        assert got.found == found
        if found:
            assert got.spans == spans
            assert unquote(got.text_fragment.removeprefix("#:~:text=")) == re.sub(r"\s+", " ", fragment)


@pytest.mark.parametrize("text, wording", [
    ("thethe Kosovo the Kosovo", "the Kosovo"),  # a first word inside another, then whole
    ("isn't is not", "t is"),  # a word after an apostrophe inside another word
    ("Kosovo Kosovo", "Kosovo … Kosovo"),  # the next run starts after the last one's end
    ("a " * 100 + "a b", "a " * 5 + "b"),  # the same two words many times: the index takes over
    ("one two three four five six seven eight nine", "one two three four five six seven eight"),
    ("one two three four five six seven eight nine", "one two three four five six seven eight nine"),
])
def test_wordings_at_the_edges_of_the_search_are_found_as_word_by_word(text: str, wording: str):
    _check_wording(text, wording)


def test_a_word_that_goes_on_is_not_taken_for_a_shorter_one():
    for length in range(1, 300):  # the wording's last word is the start of the text's
        _check_wording("a " + "b" * 200 + " c", "a " + "b" * length)


@given(text=st.lists(SOURCE_WORDS, max_size=40).map(" ".join), data=st.data())
@settings(UNIT_SETTINGS, max_examples=400)
def test_a_wording_is_found_where_a_word_by_word_search_finds_it(text: str, data):
    """SourceText looks for a wording's first word with str.find and compares the words
    there in place; the index (used where folding changes the text's length) searches all
    words."""
    words = text.split(" ")
    lo = data.draw(st.integers(0, len(words)))
    hi = data.draw(st.integers(lo, len(words)))
    wording = data.draw(st.one_of(st.just(" ".join(words[lo:hi])),
                                  st.lists(SOURCE_WORDS, max_size=12).map(" ".join)))
    _check_wording(text, wording)


# sentence ends as first defined: the sentence ends before the match (a look-behind on the
# stop); `quotes._SENTENCE_END` starts its match on the stop, to be searched for faster
_SENTENCE_END_REFERENCE = re.compile(r"(?<=[.!?…])[\"”’»“]*\s+|\n\s*\n")


def _all_sentences(text: str) -> list[tuple[int, int]]:
    sentences, at = [], 0
    for match in _SENTENCE_END_REFERENCE.finditer(text):
        if match.start() > at:
            sentences.append((at, match.start()))
        at = match.end()
    if at < len(text):
        sentences.append((at, len(text)))
    return sentences


def _passage_everywhere(text: str, start: int, end: int) -> tuple[int, int]:
    """The passage's bounds from all of the text's sentences, as before the local cut."""
    sentences = _all_sentences(text)
    first = next((i for i, (s, e) in enumerate(sentences) if e > start), 0)
    last = next((i for i, (s, e) in enumerate(sentences) if e >= end), len(sentences) - 1)
    return sentences[max(0, first - 1)][0], sentences[min(len(sentences) - 1, last + 1)][1]


# letters, sentence ends, the quotes that may follow them, white space of several kinds
SENTENCE_PIECES = st.sampled_from(["a", "bc", "Ž", "7", ".", "!", "?", "…", '"', "”", "’", "»", "“", ",",
                                   " ", "  ", "\n", "\n\n", " \n \n", "\t", "\u00a0", "\u2028", ". ", ".” "])


def _same_passage(text: str, start: int, end: int) -> None:
    expected = _passage_everywhere(text, start, end)
    for back in (1, 2, 3, 5, 8, 256):  # small first steps: the cut moves back, often
        assert _passage_bounds(text, start, end, back) == expected, (back, start, end)


@pytest.mark.parametrize("text, start, end", [
    ("a. b. c. d", 6, 7),
    # a cut after a quote mark would start a sentence end's match in its middle: the white
    # space after the paragraph break would open the sentence "b." (it must start at "b")
    ("a.””\n\n  b. c. d", 11, 12),
])
def test_a_passage_cut_near_the_quote_equals_one_cut_from_all_sentences(text: str, start: int, end: int):
    _same_passage(text, start, end)


@given(text=st.lists(SENTENCE_PIECES, min_size=1, max_size=80).map("".join), data=st.data())
@settings(UNIT_SETTINGS, max_examples=600)
def test_any_passage_cut_near_the_quote_equals_one_cut_from_all_sentences(text: str, data):
    """_passage_bounds cuts only the text near the quote into sentences, from a point it
    moves back until two sentences lie before the quote."""
    if not _all_sentences(text):  # white space and quotes only: no word to quote
        return
    start = data.draw(st.integers(0, len(text) - 1))
    _same_passage(text, start, data.draw(st.integers(start + 1, len(text))))


@given(text=st.lists(st.sampled_from(["a", "Ž", ".", " ", "  ", "\n", "\t", "\u00a0", "\u2028", "\x1c",
                                       "\x85", "\u3000", "\u200b"]), max_size=12).map("".join))
@settings(UNIT_SETTINGS, max_examples=600)
@example(text="")
@example(text=" ")
def test_white_space_flattens_as_the_regex_would(text: str):
    assert _flat(text) == re.sub(r"\s+", " ", text)


def _split_by_lines(text: str) -> Split:
    """The reference: the whole file cut into lines, as the splitter first did."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        raise FrontMatterError(1, "the file does not start with front matter", "")
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return Split("\n".join(lines[1:index]), 2, "\n".join(lines[index + 1:]), index + 2)
    raise FrontMatterError(1, "the front matter is not closed", "")


FILE_PIECES = st.sampled_from(["---", "...", "\n", "a: b", " ", "\t", "-- -", "----", "---x", " ---",
                               "\u2028", "\u00a0", "x", "Priština"])


@given(text=st.lists(FILE_PIECES, max_size=14).map("".join), opened=st.booleans())
@settings(UNIT_SETTINGS, max_examples=600)
@example(text="---", opened=True)  # closed on the next line: no fields
@example(text="a: b\n---", opened=True)  # the closing line is the file's last, no line break
@example(text="a: b\n", opened=True)  # never closed
def test_front_matter_splits_as_the_file_cut_into_lines_would(text: str, opened: bool):
    """split_front_matter walks the front matter's lines only and slices the body."""
    text = "---\n" + text if opened else text
    try:
        expected: Any = _split_by_lines(text)
    except FrontMatterError as exc:
        expected = str(exc)
    try:
        got: Any = split_front_matter(text)
    except FrontMatterError as exc:
        got = str(exc)
    assert got == expected

BODY_CHARACTERS = st.sampled_from([
    "a", "Ž", "ж", " ", "\n", "\t", "\r", "\r\n", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\x7f",
    "\x80", "\x85", "\u2028", "\ufeff", "\ufffd", "\uff01", "\ufffe", "\uffff", "\U0001f600"])


@given(body=st.lists(BODY_CHARACTERS, max_size=30).map("".join))
@settings(UNIT_SETTINGS, max_examples=400)
@example(body="\ufffe")  # EF BF BE
@example(body="\ufffd")  # EF BF BD: looked for, and not there
@example(body="a\r\x7f")
def test_a_body_is_refused_for_a_control_character_as_its_text_would_be(tmp_path_factory, body: str):
    """read_entry looks for control characters only in files whose bytes can hold one: the
    file read gives the problem (or none) that `control_character` gives on its body."""
    from factsite.errors import Problems
    from factsite.loading import read_entry
    from factsite.schema import control_character

    data = ('---\nquote: "x"\n---\n' + body + "\n").encode("utf-8")
    path = tmp_path_factory.mktemp("body") / "claim.md"
    path.write_bytes(data)
    found = Problems()
    entry = read_entry("claims", str(path), "claim.md", found)
    text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    expected = control_character(split_front_matter(text).body)
    assert (entry is None) == (expected is not None)
    if expected is None:
        assert found.items == []
    else:
        assert [problem.message for problem in found.items] == [expected[1]]


@given(body=st.text(max_size=40).filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t)))
@UNIT_SETTINGS
def test_an_entry_pickles_to_itself_and_leaves_its_body_as_it_was(tmp_path_factory, body: str):
    """Entries go through pickle to and from workers and the cache file; pickling must not
    leave a UTF-8 copy inside the body string (pickle's own encoding caches one there, which
    grew a 10,000-claim build by the bodies' size when it saved its cache)."""
    import pickle
    import sys

    from factsite.errors import Problems
    from factsite.loading import read_entry

    path = tmp_path_factory.mktemp("pickled") / "claim.md"
    path.write_bytes(('---\nquote: "Vučić in Priština"\n---\n' + body + "\nКосово …\n").encode("utf-8"))
    entry = read_entry("claims", str(path), "claim.md", Problems())
    if entry is None:  # (a control character: refused, as the test above shows)
        return
    size = sys.getsizeof(entry.body)  # counts a cached UTF-8 copy (CPython)
    again = pickle.loads(pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))
    assert sys.getsizeof(entry.body) == size
    assert (again.kind, again.path, again.shown, again.slug, again.body, again.body_line, again.digest,
            again.meta_digest) == (entry.kind, entry.path, entry.shown, entry.slug, entry.body,
                                   entry.body_line, entry.digest, entry.meta_digest)
    assert again.location(("quote",)) == entry.location(("quote",))


@given(body=st.text(st.sampled_from(["a", "b", " ", "\n", "\t", "\r", "\x0b", "\u2028", "\u00a0"]), max_size=60))
@UNIT_SETTINGS
def test_a_source_text_splits_into_paragraphs_with_line_breaks_folded(body: str):
    reference = [re.sub(r"\s*\n\s*", " ", p.strip()) for p in re.split(r"\n\s*\n", body) if p.strip()]
    assert _paragraphs(body) == reference


@given(name=st.one_of(ANY_TEXT, st.text(any_char, max_size=30)))
@UNIT_SETTINGS
def test_a_slug_is_refused_or_safe_as_a_folder_name(name: str):
    slug = slugify(name)
    if slug_problem(slug) is None:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug
        assert slug not in RESERVED and len(slug) <= 80


@given(parts=st.lists(st.one_of(st.sampled_from(["..", ".", "", "/", "\\", "\0", "output-evil", "~", "C:"]),
                                st.text(any_char, max_size=6)), min_size=1, max_size=6))
@UNIT_SETTINGS
def test_output_paths_never_leave_the_root(tmp_path_factory, parts: list[str]):
    root = _output_root(tmp_path_factory)
    relative = "/".join(parts)
    try:
        check_relative(relative)
    except ValueError:
        return
    joined = os.path.normpath(os.path.join(root, relative))
    assert joined == str(root) or joined.startswith(str(root) + os.sep), (relative, joined)


_ROOTS: dict[str, Path] = {}


def _output_root(factory) -> Path:
    if "root" not in _ROOTS:
        base = factory.mktemp("safe-paths")
        (base / "output").mkdir()
        (base / "output-evil").mkdir()
        _ROOTS["root"] = base / "output"
    return _ROOTS["root"]


def test_no_character_a_field_may_not_hold_is_printable():
    """control_character skips its search for printable text: that is only right while every
    character it refuses is one `str.isprintable` refuses too, which this checks for all."""
    from factsite.schema import _CONTROL, control_character

    refused = [chr(c) for c in range(0x110000) if _CONTROL.match(chr(c))]
    assert len(refused) > 2000  # C0 controls, DEL, the surrogates, U+FFFE and U+FFFF
    assert not any(c.isprintable() for c in refused)
    assert all(control_character(f"a{c}b") is not None for c in refused)
