"""The content model: plain dataclasses, cross-linked once by `validate`.

Objects compare by identity (eq=False) because they point at each other:
a speaker lists its claims and each claim points back at its speaker.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .config import SiteConfig, Verdict
from .urls import with_text_fragment


# What a page depends on when its template reads an attribute (factsite/reads.py records
# the reads): a facet of the object, fingerprinted once per build. None: the object's
# identity only (which the read that reached it already covers); an attribute not listed
# is in the `DEFAULT_FACET` of its class.
_ENTRY_FACETS: dict[str, str | None] = {
    "slug": None, "url": None, "section": None, "kind": None,
    "body": "body", "body_html": "body", "digest": "body",  # the whole file's digest
    "source_path": "path", "body_line": "path",
}

_BLANK_LINE = re.compile(r"\n\s*\n")
_SPACE_RUN = re.compile(r"\s*\n\s*")


def _paragraphs(body: str) -> list[str]:
    """The body's paragraphs, the line breaks inside each (and the spaces around them)
    folded to one space. The regex runs only where a paragraph has a line break: it tries
    every white-space character otherwise, 3x the whole function's time (68 vs 20 us a
    source text) for paragraphs that are mostly one line."""
    out = []
    for paragraph in _BLANK_LINE.split(body):
        paragraph = paragraph.strip()
        if paragraph:
            out.append(_SPACE_RUN.sub(" ", paragraph) if "\n" in paragraph else paragraph)
    return out


@dataclass(eq=False)
class Entry:
    slug: str
    source_path: str  # as shown in messages, relative to the project
    body: str  # Markdown (or, for sources, the archived plain text)
    body_line: int
    digest: str  # of the whole file
    meta_digest: str  # of the front matter only
    draft: bool
    body_html: str | None = None  # filled just before its page is drawn (pipeline._markdown)

    section = ""
    kind: ClassVar[str] = ""  # the content folder: 'claims'
    FACETS: ClassVar[dict[str, str | None]] = _ENTRY_FACETS
    DEFAULT_FACET: ClassVar[str] = "meta"  # the front matter, as `meta_digest` fingerprints it

    @property
    def url(self) -> str:
        """Site-relative path with a trailing slash: 'claims/x/'."""
        return f"{self.section}/{self.slug}/"


@dataclass(eq=False)
class Speaker(Entry):
    name: str = ""
    role: str = ""
    organisation: str | None = None
    country: str | None = None
    aliases: list[str] = field(default_factory=list)
    claims: list["Claim"] = field(default_factory=list)  # newest first

    section = kind = "speakers"
    FACETS = {**_ENTRY_FACETS, "claims": "links"}

    @property
    def title(self) -> str:
        return self.name


@dataclass(eq=False)
class Event(Entry):
    name: str = ""
    date: dt.date = dt.date.min
    end_date: dt.date | None = None
    place: str = ""
    claims: list["Claim"] = field(default_factory=list)  # in time order
    sources: list["Source"] = field(default_factory=list)

    section = kind = "events"
    FACETS = {**_ENTRY_FACETS, "claims": "links", "sources": "links"}

    @property
    def title(self) -> str:
        return self.name


@dataclass(eq=False)
class Source(Entry):
    outlet: str = ""
    title: str = ""
    url_original: str = ""
    published: dt.date = dt.date.min
    language: str = ""
    author: str | None = None
    retrieved: dt.date = dt.date.min
    archive_url: str | None = None
    claims: list["Claim"] = field(default_factory=list)
    _text: Any = field(default=None, repr=False)

    section = kind = "sources"
    FACETS = {**_ENTRY_FACETS, "claims": "links", "paragraphs": "body", "text": "body", "_text": "body"}

    @property
    def paragraphs(self) -> list[str]:
        """The archived text's paragraphs, white space inside each folded. Computed each
        time a page needs them (~20 us), not kept: kept for every source, they and the
        searchable texts grew each render worker by ~70 MB at 10,000 claims."""
        return _paragraphs(self.body)

    def text(self) -> Any:
        """The archived text as a searchable SourceText (word index included), built once
        per build when a quotation is checked."""
        if self._text is None:
            from .quotes import SourceText

            self._text = SourceText("\n\n".join(self.paragraphs))
        return self._text


@dataclass(eq=False)
class Segment:
    """A run of text, marked when it is the quote (in context) or a difference. Slotted and
    pickled as its two values: every checked quotation keeps its passage's segments in the
    cache, and pickling ~60,000 by their slots took 3x as long (0.14 vs 0.04 s)."""
    __slots__ = ("text", "marked")
    text: str
    marked: bool

    def __reduce__(self) -> tuple[Any, tuple[str, bool]]:
        return (Segment, (self.text, self.marked))


@dataclass(eq=False)
class Appearance:
    source: Source
    wording: str
    indirect: bool
    text_fragment: str = ""  # '#:~:text=...' for the link to the original
    diff: list[Segment] = field(default_factory=list)  # wording with differences marked
    context: list[Segment] = field(default_factory=list)  # the sentences around, quote marked

    @property
    def original_link(self) -> str:
        """The original article's address, highlighting the quote where browsers can."""
        return with_text_fragment(self.source.url_original, self.text_fragment)


@dataclass(eq=False)
class Tag:
    slug: str
    name: str
    claims: list["Claim"] = field(default_factory=list)

    kind: ClassVar[str] = "tags"
    FACETS: ClassVar[dict[str, str | None]] = {"slug": None, "url": None, "name": "name", "title": "name",
                                               "claims": "links"}
    DEFAULT_FACET: ClassVar[str] = "all"

    @property
    def url(self) -> str:
        return f"tags/{self.slug}/"

    @property
    def title(self) -> str:
        return self.name


@dataclass(eq=False)
class Claim(Entry):
    quote: str = ""
    speaker: Speaker | None = None
    event: Event | None = None
    said: dt.date = dt.date.min
    verdict: Verdict | None = None
    appearances: list[Appearance] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    summary: str | None = None
    reviewed: dt.date = dt.date.min
    updated: dt.date | None = None

    section = kind = "claims"
    # the sources' words and where they were found depend on the sources' texts
    FACETS = {**_ENTRY_FACETS, "speaker": "links", "event": "links", "tags": "links",
              "appearances": "appearances", "reported": "appearances"}

    @property
    def title(self) -> str:
        """The quote, shortened for <title>, breadcrumbs and feeds."""
        words = self.quote.split()
        return self.quote if len(words) <= 14 else " ".join(words[:14]) + " …"

    @property
    def reported(self) -> bool:
        """Did every source report the words in indirect speech? Then they are the sources'
        words for what was said, and pages do not put them in quotation marks."""
        return bool(self.appearances) and all(a.indirect for a in self.appearances)


@dataclass(eq=False)
class Page(Entry):
    title: str = ""

    kind = "pages"

    @property
    def url(self) -> str:
        return f"{self.slug}/"


@dataclass(eq=False)
class Site:
    config: SiteConfig
    claims: list[Claim]  # newest first (said, then slug)
    speakers: list[Speaker]  # by name
    events: list[Event]  # newest first
    sources: list[Source]  # newest first
    tags: list[Tag]  # by name
    pages: list[Page]
    preview: bool = False  # drafts included (the `serve` preview)

    kind: ClassVar[str] = "site"
    # each list is a facet (the entries in it, in order); the config and `preview` are in
    # every page's fingerprint; the methods' own reads are recorded as they read
    FACETS: ClassVar[dict[str, str | None]] = {
        **{name: name for name in ("claims", "speakers", "events", "sources", "tags", "pages")},
        "config": None, "preview": None, "page": None, "verdict_counts": None}
    DEFAULT_FACET: ClassVar[str] = "all"

    def page(self, slug: str) -> Page | None:
        """The editorial page with this slug (`site.page('about')`), if there is one: a
        claim page links to it, and a filter over the pages cost ~10 us a page."""
        return next((p for p in self.pages if p.slug == slug), None)

    def verdict_counts(self, claims: list[Claim]) -> list[tuple[Verdict, int]]:
        """Counts per verdict, every verdict of the scale in scale order (zeros kept)."""
        counts = {v.id: 0 for v in self.config.verdicts}
        for claim in claims:
            assert claim.verdict is not None
            counts[claim.verdict.id] += 1
        return [(v, counts[v.id]) for v in self.config.verdicts]
