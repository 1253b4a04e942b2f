"""One configured Markdown renderer for notes, bios and summaries.

Raw HTML is off unless the site opts in (markdown-it's "commonmark" preset
turns it on); links are checked against an allow-list of schemes, so
`javascript:`, `vbscript:` and `data:` links never reach a page.

markdown-it-py defines what a body renders to. Where markdown-it-pyrs (the
same parser ported to Rust) is installed, a body goes through it first, about
ten times faster, and its HTML is kept only when nothing in the body or the
HTML is one of the things on which the two are known to differ (see
`markup_fast.FastEngine.render`); otherwise markdown-it-py renders it, so the
page is the same either way. tests/test_markdown_engines.py holds the two to
that on each difference found, on generated archives and on random bodies.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from .markup_fast import FastEngine, available

SAFE_SCHEMES = {"", "http", "https", "mailto"}


def _validate_link(url: str) -> bool:
    # spaces and control characters are dropped first (browsers ignore them in a scheme)
    if url.isprintable() and " " not in url:
        cleaned = url.lower()
    else:
        cleaned = "".join(ch for ch in url if ch > " ").lower()
    try:
        scheme = urlsplit(cleaned).scheme
    except ValueError:
        return False
    return scheme in SAFE_SCHEMES


def make_markdown(allow_html: bool = False) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": allow_html, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.validateLink = _validate_link  # type: ignore[method-assign]
    return md


def render_markdown(md: MarkdownIt, text: str, heading_shift: int = 0) -> str:
    """HTML for a body; headings move down `heading_shift` levels to sit under the page's own."""
    env: dict = {}
    tokens = md.parse(text, env)
    if heading_shift:
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                level = min(6, int(token.tag[1]) + heading_shift)
                token.tag = f"h{level}"
    return md.renderer.render(tokens, md.options, env)


class Markdown:
    """Renders bodies as markdown-it-py does, through markdown-it-pyrs where it can."""

    def __init__(self, allow_html: bool = False) -> None:
        self.reference = make_markdown(allow_html)
        self.fast = FastEngine(allow_html, self.reference) if available() else None

    def render(self, text: str, heading_shift: int = 0) -> str:
        if self.fast is not None:
            html = self.fast.render(text, heading_shift)
            if html is not None:
                return html
        return render_markdown(self.reference, text, heading_shift)
