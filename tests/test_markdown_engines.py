"""markdown-it-pyrs renders bodies only where its HTML is byte for byte markdown-it-py's.

`Markdown.render` must equal markdown-it-py's rendering (`render_markdown` on the
reference parser) for every body: the divergences found so far, typical bodies
(which must also take the fast path, or the accelerator does nothing), the sample
site, a generated archive, and random bodies.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factsite.frontmatter import split_front_matter
from factsite.markup import Markdown, render_markdown
from factsite.markup_fast import _UNICODE_SPACE, _unicode_space, available

ROOT = Path(__file__).resolve().parent.parent


def test_the_fast_engine_is_installed_where_it_has_wheels():
    """pyproject installs it on Python < 3.13 on these machines; a broken install would
    leave every build on the slow path without a word."""
    if sys.version_info < (3, 13) and platform.machine() in ("x86_64", "AMD64", "aarch64", "arm64"):
        assert available()
    else:
        pytest.skip("no markdown-it-pyrs wheel for this Python or machine")


needs_fast = pytest.mark.skipif(not available(), reason="markdown-it-pyrs is not installed")

ENGINES = {html: Markdown(html) for html in (False, True)}


def assert_same(body: str, *, html: bool = False) -> None:
    md = ENGINES[html]
    for shift in (0, 1):
        assert md.render(body, shift) == render_markdown(md.reference, body, shift), (body, shift)


# Bodies on which markdown-it-pyrs 0.4 and markdown-it-py 4 differ, each kept apart by one
# check in factsite/markup_fast.py (removing the check makes its case fail here).
DIVERGENT = {
    "footnotes defined in another order than referred to": "a[^b] c[^a]\n\n[^a]: A\n[^b]: B\n",
    "a footnote referred to twice": "a[^x] b[^x]\n\n[^x]: X\n",
    "a footnote defined twice": "[^b]\n\n[^b]: [\n\n[^b]: ",
    "a footnote's text indented after its label": "[^a]\n\n[^a]:     [",
    "an unused footnote before a used one": "a[^y]\n\n[^x]: X\n[^y]: Y\n",
    "a footnote interrupting a paragraph": "Text.[^1]\n[^1]: The note.\n",
    "a footnote inside a quote": "\n> „\n> [^1]: \n",
    "a footnote defined in a quote after a blank line": "[^1]\n\n> [^1]: note\n",
    "a footnote referring to itself": "   [^1]: [^1]",
    "an inline footnote": "^[[^1]",
    "an inline footnote that panics the Rust port": "%^[Í²]]x",
    "an unmatched backtick after a code span in brackets (a panic)": "[foo `bar` baz`\n",
    "a link outside the allow-list": "<irc://foo.bar:2233/baz>\n",
    "a reference definition to a backslash": "[r]: \\",
    "a reference definition outside the allow-list": "[r]: //a\n\n[x][r]\n\n[r]: A:b\n\n[y][r]\n",
    "a host outside ASCII": "[x](http://Вучић.рс/Приштина)\n",
    "a punycode host": "<http://xn--n3h.net/>\n",
    "a user name in a link": "[](//@)",
    "an IPv6 host": "[foo](//[::ffff:192.0.2.1]/)\n",
    "a %-escape in an autolink": "<http://example.com/α%CE%B2γ%CE%B4>\n",
    "emphasis by a currency sign": "*£*bravo.\n",
    "emphasis between punctuation and a symbol": "„*„*€",
    "strikethrough by quotation marks": "„~~~~„~~\n",
    "NUL (made U+FFFD) by emphasis": "*\x00*0",
    "a no-break space ending a paragraph": "\xa0",
    "a vertical tab": "\x0b",
    "an empty quote": ">\n",
    "an empty list item after a quote": "> a\n-\n",
    "a table line after a quote": "> x\n| a | b |\n|---|---|\n",
    "a table of one column with no pipes": "[^a]\r\n:-:",
    "a code span of spaces": "`   `\n",
    "an escape in an image's alt text": "![a \\* b](x)\n",
    "an open fence on a last line with no line break": "\n```\n„",
    "a carriage return before a footnote": "„\r[^1]: ",
    "carriage returns around an empty list item": "> a\r-\r",
    # found by a review's fuzzer that stacks list, quote, table and definition lines
    "a fence under a tight list item's text": "- a\n  ```\n  x\n  ```\n",
    "a fence under a numbered item's text": "1. a\n   ```\n   x\n   ```\n",
    "quotes nested 20 deep": ">" * 20 + " a\n",
    "list items nested 21 deep": "- " * 21 + "a\n",
    "a space entity before a scheme": "[x](&#32;javascript:alert(1))\n",
    "a space entity ending a URL": "[x](/&#32;)\n",
    "a numbered item after a quote": "> He said it.\n2. Second point\n",
    "a numbered item after a quote's lazy line": "> He said it.\nand more\n10. Second point\n",
    "a numbered item after a table": "| a | b |\n|---|---|\n| 1 | 2 |\n2. next\n",
    "a numbered item after a table's row with no pipe": "| a | b |\n|---|---|\nb c\n10. x\n",
    "an empty list item in a quote": ">>a\n>-",
    "an empty list item in a list item": "- >a\n    -",
    "a one-column delimiter row, pipe after": "a\n-|",
    "a one-column delimiter row, pipe before": "a\n|-",
    "a one-column table": "|a\n--",
    "a table line after a quote line": ">|a\n-|-",
    "an escaped bracket in a definition's label": "[a\\]:]: irc:x\n",
    "a definition inside a quote": "> quote\n>\n> [r]:\n> irc://x\n",
    "a definition to a backslash, then a line": "[r]:\\\n[R]",
    "a definition redefined to a backslash": "[r]:a\n[r]:\\",
    "a reference followed by a parenthesis": "[s]:a\n[s](",
    "a link's bracket before a definition": "[](a a[s]\n\n[s]:a",
    "an empty footnote label": "[^]:\n[^a]:",
    "a run of four stars": "**a * a****a**,*a*a",
    "a run of four tildes": "a~~~~a~~\n",
}


@needs_fast
@pytest.mark.parametrize("body", DIVERGENT.values(), ids=DIVERGENT.keys())
def test_bodies_the_two_render_apart_come_out_as_markdown_it_py_renders_them(body: str):
    assert_same(body)


def test_bodies_nested_deep_enough_to_crash_the_rust_port_render(tmp_path):
    """Nested 50,000 deep, the Rust port overflows its stack and the process dies (SIGSEGV),
    beyond any except; markdown-it-py stops nesting at 20. Run apart, so a crash fails
    this test instead of ending the test run."""
    script = (
        "from factsite.markup import Markdown, render_markdown\n"
        "md = Markdown()\n"
        "for body in ['- ' * 50000 + 'a\\n', '>' * 90000 + 'a\\n', '> - ' * 30000 + 'a\\n',\n"
        "             ''.join('  ' * i + '- a\\n' for i in range(3000))]:\n"
        "    assert md.render(body) == render_markdown(md.reference, body)\n"
        "print('rendered')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
    assert done.returncode == 0 and "rendered" in done.stdout, (done.returncode, done.stderr[-2000:])


PANICS = ["[foo `bar` baz`\n", "![alt `code` x`\n", "%^[Í²]]x", "^[\n"]


@needs_fast
@pytest.mark.parametrize("body", PANICS)
def test_bodies_that_panic_the_rust_port_never_reach_it(body: str, capfd):
    """A panic is caught (markdown-it-py renders the body), but Rust prints it on stderr
    first, which would read as a crash in the middle of a build's output."""
    assert_same(body)
    assert "panicked" not in capfd.readouterr().err


def test_the_space_check_finds_each_character_the_class_holds_and_no_other():
    """`_unicode_space` skips the regex on a text whose lines `isprintable` passes: every
    character of the class must be one that it refuses, wherever it stands."""
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if _UNICODE_SPACE.fullmatch(chr(c))]
    assert len(spaces) == 25  # \x0b \x0c \x1c-\x1f \x85 \xa0 \u1680 \u2000-\u200a \u2028 \u2029 \u202f \u205f \u3000
    for ch in spaces:
        for text in (ch, f"a{ch}b", f"line\nx {ch}\n", f"\n\n{ch}"):
            assert _unicode_space(text), repr(text)
    for text in ("", "a\nb\n\n", "Vučić in Priština\n„Косово“ — 10 %\n", "tab\there", "\u00ad"):
        assert _unicode_space(text) == (_UNICODE_SPACE.search(text) is not None), repr(text)


@needs_fast
def test_raw_html_comments_come_out_as_markdown_it_py_renders_them():
    assert_same("foo <!-- this is a --\ncomment - with hyphens -->\n", html=True)
    assert_same("# A\n\n<h2>raw</h2>\n", html=True)


TYPICAL = [
    "## What was said\n\nLavrov spoke in *Belgrade* on 10 October 2021.\n\n"
    "- one\n- two\n\n1. first\n2. second\n",
    "Вучић said „the Serbs of Kosovska Mitrovica” would **not** leave Priština's talks.\n",
    "> A quoted line\n> that goes on.\n\nAfter it, a [link](https://example.org/a_b?c=d&e=f#g).\n",
    "| Year | Figure |\n|---|---|\n| 2021 | 12 |\n\n~~struck~~ and `code`\n",
    "Claim[^a] and another[^b].\n\n[^a]: First, <https://example.org/1>.\n[^b]: Second.\n",
    "Setext\n======\n\n    indented code\n\n```\nfenced\n```\n",
]


@needs_fast
@pytest.mark.parametrize("body", TYPICAL)
def test_typical_bodies_take_the_fast_path_and_render_the_same(body: str):
    for shift in (0, 1):
        assert ENGINES[False].fast.render(body, shift) is not None
    assert_same(body)


def _bodies(content: Path) -> list[tuple[str, int]]:
    found = []
    for path in sorted(content.glob("*/*.md")):
        body = split_front_matter(path.read_text(encoding="utf-8")).body
        found.append((body, 1 if path.parent.name == "claims" else 0))
    return found


@needs_fast
def test_the_sample_site_and_a_generated_archive_render_the_same(tmp_path: Path):
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate_corpus.py"), "--claims", "200",
                    "--seed", "7", "--out", str(tmp_path)], check=True, capture_output=True)
    bodies = _bodies(ROOT / "content") + _bodies(tmp_path / "content")
    md = ENGINES[False]
    fast = 0
    for body, shift in bodies:
        assert md.render(body, shift) == render_markdown(md.reference, body, shift), body[:200]
        fast += md.fast.render(body, shift) is not None
    # the accelerator must carry the ordinary bodies, not hand them all back
    assert fast >= 0.9 * len(bodies), (fast, len(bodies))


BLOCKS = ["\n\n", "\n", "\n- ", "\n1. ", "\n> ", "\n# ", "\n```\n", "\n    ", "\n| a | b |\n|---|---|\n| ",
          "\n\n[^a]: ", "\n\n[^b]: ", "\n\n[^1]: ", "\n\n[r]: ", "\n===\n", "\n---\n", "\n***\n",
          # nested containers, tables of every shape, definitions (a review's fuzzer found most
          # differences among these)
          "\n  - ", "\n    - ", "\n10. ", "\n2) ", "\n>> ", "\n> - ", "\n- > ", "\n|a|\n|-|\n", "\na | b\n--|--\n",
          "\n| x | y |", "\n[r]: ", "\n\n[s]: /u \"t\"\n", "\n  ```\n", "\n-", "\n>"]
INLINES = ["*", "**", "_", "~~", "`", "[", "]", "(", ")", "![", "^[", "[^a]", "[^b]", "[^1]", "[r]", "<", ">",
           "\\", "&amp;", "&#0;", "http://x.y/", "https://a.b/c?d=e&f", "mailto:a@b.c", "javascript:x",
           "ftp://h/", "//@", "xn--n3h", "%", "%2", "„", "“", "«", "€", "£", "Вучић", "Priština", "\xa0", "\t",
           "\r", "\r\n", " ", "  \n", "a", "b c", ":", "|", "!", "#", "1)", "-", "[r][]", "[x][r]",
           "[x]( /u )", "&#32;", "***", "a*b*c", "[x](/u \"t\")"]
bodies = st.one_of(
    st.lists(st.one_of(st.sampled_from(BLOCKS + INLINES), st.text(max_size=5)), max_size=40).map("".join),
    st.lists(st.sampled_from(BLOCKS + INLINES), max_size=60).map("".join),
)


@needs_fast
@settings(max_examples=400, deadline=None, derandomize=True)
@given(body=bodies, html=st.booleans())
def test_random_bodies_render_as_markdown_it_py_renders_them(body: str, html: bool):
    assert_same(body, html=html)
