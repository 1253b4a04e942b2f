"""Machine-readable views of the model: schema.org ClaimReview and the search index.

Both are plain dicts serialised here, so escaping is decided in one place:
JSON placed inside <script> has <, > and & escaped so that no text from
content can close the element.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

from markupsafe import Markup

from .config import SiteConfig
from .model import Claim, Event, Site, Source, Speaker
from .urls import absolute, base_path


def _abs(config: SiteConfig, path: str) -> str:
    return absolute(config.base_url, base_path(config.base_url) + path)


def claim_review(config: SiteConfig, claim: Claim) -> dict[str, Any]:
    """ClaimReview with Google's required and recommended properties."""
    assert claim.speaker is not None and claim.verdict is not None
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": claim.verdict.label}
    if claim.verdict.rating is not None:
        rating.update(ratingValue=claim.verdict.rating, bestRating=config.rating_best,
                      worstRating=config.rating_worst)
    speaker: dict[str, Any] = {"@type": "Person", "name": claim.speaker.name,
                               "jobTitle": claim.speaker.role, "url": _abs(config, claim.speaker.url)}
    appearances = [
        {
            "@type": "CreativeWork",
            "url": a.source.url_original,
            "headline": a.source.title,
            "datePublished": a.source.published.isoformat(),
            "publisher": {"@type": "Organization", "name": a.source.outlet},
        }
        for a in claim.appearances
    ]
    item: dict[str, Any] = {
        "@type": "Claim",
        "author": speaker,
        "datePublished": claim.said.isoformat(),
        "appearance": appearances,
    }
    if appearances:
        item["firstAppearance"] = min(appearances, key=lambda a: (a["datePublished"], a["url"]))
    review: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": _abs(config, claim.url),
        "claimReviewed": claim.quote,
        "datePublished": claim.reviewed.isoformat(),
        "author": {"@type": "Organization", "name": config.publisher, "url": config.base_url},
        "reviewRating": rating,
        "itemReviewed": item,
    }
    if claim.updated:
        review["dateModified"] = claim.updated.isoformat()
    if config.language:
        review["inLanguage"] = config.language
    return review


def script_json(data: Any) -> Markup:
    """JSON safe to place inside <script type="application/ld+json">."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # looked for first: a `replace` that finds nothing in a non-ASCII text still cost ~1 us
    # (a claim page's 1.4 KB), against 0.04 us for `in`
    for unsafe, escaped in _SCRIPT_UNSAFE:
        if unsafe in text:
            text = text.replace(unsafe, escaped)
    return Markup(text)


_SCRIPT_UNSAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                  ("\u2029", "\\u2029"))


def search_record(entry: Any) -> str:
    """One entry's record of the search index, as JSON: [kind, url, title, detail, extra
    words searched but not shown]. Arrays keep the file small at 10,000 claims."""
    if isinstance(entry, Claim):
        c = entry
        assert c.speaker is not None and c.verdict is not None
        extra = " ".join([*c.speaker.aliases, *(t.name for t in c.tags),
                          c.event.name if c.event else "", *(a.source.outlet for a in c.appearances)])
        record = ["claim", c.url, c.quote, f"{c.speaker.name} · {c.said.isoformat()} · {c.verdict.label}",
                  extra]
    elif isinstance(entry, Speaker):
        record = ["speaker", entry.url, entry.name, entry.role, " ".join(entry.aliases)]
    elif isinstance(entry, Event):
        record = ["event", entry.url, entry.name, f"{entry.date.isoformat()} · {entry.place}", ""]
    else:
        assert isinstance(entry, Source)
        record = ["source", entry.url, entry.title, f"{entry.outlet} · {entry.published.isoformat()}",
                  entry.author or ""]
    # the array as json.dumps(record, ensure_ascii=False, separators=(",", ":")) writes it:
    # its strings through the same C function, without building an encoder for each record
    return "[" + ",".join(map(encode_basestring, record)) + "]"


class SearchIndex:
    """The index of every claim, speaker, event and source for the search page, kept
    record by record for one model, so that after a claim edit in the preview only that
    claim's record is made again (`stale`). Records are kept encoded: the index is ~4.5 MB
    at 10,000 claims, and encoding it whole took longer than joining it."""

    def __init__(self) -> None:
        self.claims: dict[str, bytes] = {}  # by slug
        self.others: bytes | None = None  # speakers, events and sources: a claim edit keeps them

    def build(self, site: Site, stale: set[str] = frozenset()) -> bytes:  # type: ignore[assignment]
        """The index's bytes; `stale` are the slugs of claims whose records changed."""
        records = self.claims
        for slug in stale:
            records.pop(slug, None)
        if self.others is None:
            self.others = b",".join(search_record(e).encode() for group in (site.speakers, site.events,
                                                                             site.sources) for e in group)
        parts = []
        for claim in site.claims:
            found = records.get(claim.slug)
            if found is None:
                found = records[claim.slug] = search_record(claim).encode()
            parts.append(found)
        if self.others:
            parts.append(self.others)
        return b'{"fields":["kind","url","title","detail","extra"],"records":[' + b",".join(parts) + b"]}"
