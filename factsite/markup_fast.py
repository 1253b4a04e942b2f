"""markdown-it-pyrs (markdown-it ported to Rust), held to markdown-it-py's HTML.

The Rust port renders a body about ten times faster, but it follows an older
CommonMark and its own plugin ports, so some constructs come out differently,
a few inputs make it panic, and nesting tens of thousands deep crashes it.
`FastEngine.render` gives up, returning None, whenever the body or the HTML
shows one of them; markdown-it-py then renders the body. Each check below names
the difference it guards against. They were found by comparing the two on the
CommonMark spec's examples, markdown-it-py's and mdit-py-plugins' fixtures and
random bodies; tests/test_markdown_engines.py holds a body for each.
"""

from __future__ import annotations

import re
import unicodedata
from html import unescape
from typing import Callable
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt

try:
    import markdown_it_pyrs
except ImportError:  # no wheel for this Python or platform: markdown-it-py renders everything
    markdown_it_pyrs = None


def available() -> bool:
    return markdown_it_pyrs is not None


# markdown-it-pyrs's rules for the same syntax as make_markdown's parser
_RULES = ["blockquote", "code", "fence", "heading", "hr", "lheading", "list", "paragraph",
          "reference", "autolink", "backticks", "emphasis", "entity", "escape", "image", "link",
          "newline", "table", "strikethrough", "footnote"]
_HTML_RULES = ["html_block", "html_inline"]

_HEADING_TAG = re.compile(r"<(/?)h([1-6])>")
# a URL that markdown-it-py's normalising leaves as it is, with an allowed scheme (or none):
# http(s)://host[:port] then /, ? or # (or nothing), or a path, query or fragment of its own
_PLAIN_URL = re.compile(r"(?:https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?=[/?#]|$)|(?=[/?#])(?!//))"
                        r"[A-Za-z0-9\-._~/?#&=+,;:!*'()$]*")
# an autolink whose text holds a %-escape: markdown-it-py shows it decoded, the Rust port as written
_AUTOLINK_ESCAPE = re.compile(r"<[^<>\s]*%")
# what Python's str.strip() takes for space and CommonMark does not: markdown-it-py trims it
# from paragraphs, headings and cells, the Rust port keeps it
_UNICODE_SPACE = re.compile("[\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# a footnote definition's label at the start of a line
_FOOTNOTE_LABEL = re.compile(r"(?m)^ {0,3}\[\^[^\]\n]+\]:")
# a list item with nothing in it (lazy quote lines end at one in markdown-it-py only)
# (searched in "\n" + text: a pattern that starts with (?m)^ or (?:^|\n) tries every
# position and is 6-10x slower on a 3 KB body)
_EMPTY_ITEM = re.compile(r"\n[ \t>]*(?:(?:[-+*]|[0-9]{1,9}[.)])[ \t>]+)*(?:[-+*]|[0-9]{1,9}[.)])[ \t]*(?:\n|$)")
# a line nested 16 containers deep (quotes, list items, indents): markdown-it-py stops nesting
# at 20, and the Rust port goes on until its stack overflows (a crash, at ~50,000)
_DEEP = re.compile(r"\n(?:[ \t]*(?:>|(?:[-+*]|[0-9]{1,9}[.)])(?=[ \t\n]))){16}|\n[ \t]{32}")
# a delimiter row of one column (`|-`, `-|`, `--`, `:-:`): tables of one column are found apart
_ONE_COLUMN_ROW = re.compile(r"\n[ \t]*\|?[ \t]*:?-+:?[ \t]*\|?[ \t]*(?:\n|$)")
# a quote's line
_QUOTE_LINE = re.compile(r"\n[ \t]*>")
# a numbered list item's line after a line of text that is not a list item's first line
_NUMBERED_INTERRUPTING = re.compile(r"\n(?![ \t]*(?:[0-9]{1,9}[.)]|[-+*][ \t]|\n))[^\n]+\n[ \t>]*[0-9]{1,9}[.)]")
# a numbered list item's line (after a table or a quote: they end there in markdown-it-py only)
_NUMBERED_ITEM = re.compile(r"\n[ \t>]*[0-9]{1,9}[.)]")
# a fence with anything before it on its line
_FENCE_AFTER = re.compile(r"[^\n]```")
# a list item or a table's line right after a quote's line, or a list item right after a
# table's line: the two end a quote's paragraph or a table apart there
_AFTER_QUOTE_OR_TABLE = re.compile(r"\n[ \t]*>[^\n]*\n[ \t]*(?:[0-9]{1,9}[.)]|[|:-])"
                                   r"|\n[^\n]*\|[^\n]*\n[ \t]*(?:[0-9]{1,9}[.)]|[-+*][ \t])")
# a footnote definition's label anywhere (in a quote, a list item or a line too)
_ANY_FOOTNOTE_LABEL = re.compile(r"\[\^[^\]\n]+\]:")
# a footnote reference as the Rust port writes it
_FOOTNOTE_REF = re.compile(r'<sup class="footnote-ref"><a href="#fn(\d+)" id="fnref(\d+)">\[(\d+)\]</a>')
# a code span of spaces only: the Rust port strips it to one
_BLANK_CODE = re.compile(r"<code> +</code>")


def _shift_headings(html: str, shift: int) -> str:
    # each tag looked up in a table made once per shift: working the level out in the
    # replacement function for each tag was half of this (14.8 vs 6.4 us a 10k corpus body)
    table = _SHIFTED.get(shift) or _shifted_tags(shift)
    return _HEADING_TAG.sub(lambda m: table[m[0]], html)


def _shifted_tags(shift: int) -> dict[str, str]:
    """Each heading tag, to the tag it becomes `shift` levels down (h6 at most)."""
    return {f"<{close}h{level}>": f"<{close}h{min(6, level + shift)}>"
            for close in ("", "/") for level in range(1, 7)}


_SHIFTED = {1: _shifted_tags(1)}  # the shift claim pages use (their notes sit under an h2)


def _wide_host(url: str) -> bool:
    """Is there a %-escape in the host (a name outside ASCII, which markdown-it-py
    writes in punycode and the Rust port %-encodes)?"""
    try:
        parts = urlsplit(url)
    except ValueError:
        return True
    return "%" in parts.netloc or (parts.scheme == "mailto" and "%" in parts.path)


def _footnotes_plain(text: str) -> bool:
    """Is every footnote defined once, at the start of a line after a blank line or
    another footnote, its text one space after the label, and none referred to after
    the first one starts? The two parse, number and keep the others differently."""
    first = -1
    labels_after = 0
    names: set[str] = set()
    for label in _ANY_FOOTNOTE_LABEL.finditer(text):
        name = " ".join(label[0].casefold().split())
        if name in names:
            return False  # defined twice: markdown-it-py keeps the last, the Rust port the first
        names.add(name)
        line_start = text.rfind("\n", 0, label.start()) + 1
        indent = text[line_start:label.start()]
        if len(indent) > 3 or indent.strip(" "):
            return False  # in a quote or a list item, or inside a line
        before = text[text.rfind("\n", 0, max(line_start - 1, 0)) + 1:max(line_start - 1, 0)]
        if before.strip() and not _FOOTNOTE_LABEL.match(before):
            return False  # it interrupts a paragraph: a footnote in markdown-it-py only
        after = text[label.end():label.end() + 2]
        if after == "  " or "\t" in after:
            return False  # indented text after the label: code in the Rust port only
        if first < 0:
            first = label.end()
        else:
            labels_after += 1
    if first < 0:
        return True
    rest = text[first:]
    return rest.count("[^") == labels_after and "^[" not in rest


def _footnotes_in_order(html: str) -> bool:
    """Is each footnote referred to once, in the order they are defined? markdown-it-py
    numbers footnotes by first reference and the Rust port by definition; they also
    mark a second reference to one footnote, and skip unused ones, in their own ways."""
    refs = _FOOTNOTE_REF.findall(html)
    if html.count('class="footnote-item"') != len(refs):
        return False
    return all(a == b == c == str(n) for n, (a, b, c) in enumerate(refs, 1))


def _numbered_after_quote(lines: str) -> bool:
    """Is there a numbered list item right after a line of text (not a list item's first
    line), anywhere after a quote's first line? In markdown-it-py one ends the quote's lazily
    continued paragraph, in the Rust port the paragraph goes on."""
    quote = _QUOTE_LINE.search(lines)
    return quote is not None and _NUMBERED_INTERRUPTING.search(lines, quote.end()) is not None


def _wide_delimiter(text: str) -> bool:
    """Does a *, _ or ~ touch punctuation or a symbol outside ASCII? The Rust port predates
    CommonMark 0.31, which made symbols (£, €) count as punctuation for emphasis, and it
    reads ~~ by „ its own way."""
    if text.isascii():
        return False
    for delimiter in "*_~":  # str.find, not a regex: it skims a body's 3 KB many times faster
        at = text.find(delimiter)
        while at >= 0:
            for wide in text[at - 1:at] + text[at + 1:at + 2] if at else text[1:2]:
                if not wide.isascii() and unicodedata.category(wide)[0] in "PS":
                    return True
            at = text.find(delimiter, at + 1)
    return False


def _unicode_space(text: str) -> bool:
    """Is there a character of `_UNICODE_SPACE`? Each is one that `str.isprintable` refuses,
    so only a text with such a character on a line is searched: the test costs half the
    regex's class, which is tried at every character (6.9 vs 12.4 us a 10k corpus body)."""
    return not text.replace("\n", " ").isprintable() and _UNICODE_SPACE.search(text) is not None


def _footnote_link(url: str) -> bool:
    """#fnN or #fnrefN, as the footnote plugins write them."""
    return url.startswith("#fn") and (url[3:].isdigit() or (url.startswith("#fnref") and url[6:].isdigit()))


class FastEngine:
    """markdown-it-pyrs, used only where its HTML is `reference`'s (a parser from
    markup.make_markdown, whose link check and link normalising are the judges here)."""

    def __init__(self, allow_html: bool, reference: MarkdownIt) -> None:
        self.allow_html = allow_html
        self.validate: Callable[[str], bool] = reference.validateLink
        self.normalize: Callable[[str], str] = reference.normalizeLink
        self.md = markdown_it_pyrs.MarkdownIt("zero")
        self.md.enable_many(_RULES + (_HTML_RULES if allow_html else []))

    def _links_agree(self, html: str) -> bool:
        """Would markdown-it-py make these links, and write them so?

        It leaves a link outside the allow-list as text, where the Rust port refuses only
        javascript:, vbscript:, file: and data:. The two normalise a few URLs apart: a
        host outside ASCII (or in brackets) is %-escaped by the Rust port only, and
        where markdown-it-py would write a URL otherwise (`//@` as `//`), normalising
        the Rust port's URL again changes it. Only images have src=, and they go to
        markdown-it-py."""
        for part in html.split(' href="')[1:]:
            url = part[:part.find('"')]
            if _footnote_link(url):
                continue
            url = unescape(url) if "&" in url else url
            if "%" in url and unquote(url) != unquote(url).strip():
                return False  # markdown-it-py strips white space from a URL before judging it
            if _PLAIN_URL.fullmatch(url):
                continue  # allowed, and markdown-it-py's normalising leaves it as it is
            if not self.validate(url) or ("%" in url and _wide_host(url)) or self.normalize(url) != url:
                return False
        return True

    def render(self, text: str, heading_shift: int) -> str | None:
        """The HTML, or None where markdown-it-py must render the body instead."""
        # the text as both parsers first make it (line breaks, NUL), so the checks see it too
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\x00" in text:
            text = text.replace("\x00", "\ufffd")
        if self.allow_html and "<" in text:
            return None  # raw HTML: comments and headings in it are read differently
        if _quadratic(text):
            return None
        lines = "\n" + text
        if (_holds(text, "![")  # image alt text: the Rust port drops escapes and entities from it
                or _holds(text, "^[")  # inline footnotes: the Rust port misreads (and panics on) some
                # a code span inside link brackets: an unmatched ` after it panics the Rust port
                or ("`" in text and "[" in text)
                or _holds(text, "xn--", "x")  # punycode: markdown-it-py shows the host decoded
                # runs of three: emphasis and strikethrough pair up differently (`a~~~~a~~`)
                or _holds(text, "***") or _holds(text, "___") or _holds(text, "~~~")
                or _unicode_space(text)
                or _EMPTY_ITEM.search(lines)
                # a fence after anything on its line (a list item's indent): the Rust port
                # puts a line break between an item's text and the fence
                or (_holds(text, "```") and _FENCE_AFTER.search(text))
                # a fence left open on a last line with no line break: the Rust port adds one
                or (not text.endswith("\n") and _holds(text, "```"))
                or _DEEP.search(lines)
                or (("|" in text or ">" in text) and _AFTER_QUOTE_OR_TABLE.search(lines))
                or (">" in text and _numbered_after_quote(lines))
                or ("%" in text and _AUTOLINK_ESCAPE.search(text)) or _wide_delimiter(text)):
            return None
        definitions = _holds(text, "]:")
        if definitions:
            if "]:" in _ANY_FOOTNOTE_LABEL.sub("", text):
                return None  # a link reference definition: the two read many apart
            if not _footnotes_plain(text):
                return None
        try:
            html = self.md.render(text)
        except BaseException as error:  # a Rust panic arrives as pyo3's PanicException
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            return None
        # (the HTML is searched for a quote or a code span only if the text can make one,
        # raw HTML being refused above: a quote needs a ">", a code span a "`". Not so a
        # table: the Rust port makes one of `[^a]` and `:-:`)
        if ((">" in text and "<blockquote>\n</blockquote>" in html)
                # a definition left as text: markdown-it-py reads some (`[r]: \`) as one
                or (definitions and "]:" in html)
                # a table line may continue a quote's paragraph lazily in one, not the other;
                # a table's rows go on until a numbered item in markdown-it-py only
                or ("<table>" in html and ("<blockquote>" in html or _NUMBERED_ITEM.search(lines)))
                or (("|" in text or "<table>" in html) and _ONE_COLUMN_ROW.search(lines))
                or ("`" in text and "<code> " in html and _BLANK_CODE.search(html))):
            return None
        if " href=" in html and not self._links_agree(html):
            return None
        if "footnote-item" in html:
            if not _footnotes_in_order(html):
                return None
            html = html.replace('class="footnote-item">\n', 'class="footnote-item">')
        return _shift_headings(html, heading_shift) if heading_shift else html


# The Rust port pairs link brackets, emphasis runs and table pipes by scanning ahead from
# each one, so its time grows with (their number) x (the body's length): `x[^` repeated
# took 0.84 s at 64 KB and 3.3 s at 128 KB, `_a_ ` 0.24 and 0.92 s, where markdown-it-py
# renders either in linear time (~7 s a MB at worst, bench/pathological.py). Past this
# product a body goes to markdown-it-py; the Rust port's worst is then ~20 ms a body. A
# body under 4 KB is below it whatever it holds; usual bodies of 3-10 KB are far below.
_QUADRATIC_BUDGET = 1 << 25
_PAIRED = "[*_|~"


def _quadratic(text: str) -> bool:
    """Would the Rust port take time out of proportion to this body's length?"""
    size = len(text)
    return size * size > _QUADRATIC_BUDGET and \
        sum(map(text.count, _PAIRED)) * size > _QUADRATIC_BUDGET


def _holds(text: str, needle: str, probe: str = "") -> bool:
    """`needle in text`, looked for only when its character `probe` (its first by default)
    is there: one character is found with memchr, where a longer needle in a text with
    letters outside Latin-1 (two bytes each) is searched at ~1 ns a character. Each body
    was searched for a dozen of them, 23 us of a 2,800-character body's 40 us of checks."""
    return (probe or needle[0]) in text and needle in text
