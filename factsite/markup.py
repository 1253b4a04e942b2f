"""One configured Markdown parser for notes, bios and summaries.

Raw HTML is off unless the site opts in (markdown-it's "commonmark" preset
turns it on); links are checked against an allow-list of schemes, so
`javascript:`, `vbscript:` and `data:` links never reach a page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

SAFE_SCHEMES = {"", "http", "https", "mailto"}


def _validate_link(url: str) -> bool:
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
