"""Which pages the site has: one PageSpec per output file, from the model.

Index pages are split into numbered pages past `per_page`, so no template
loops over the whole archive on every page (a speaker's, event's or
source's own page lists all of its claims).
Each spec also lists its `deps`: the file digests and derived values it
shows, which is what lets a rebuild skip pages that cannot have changed.
Whatever a template shows must be covered by its page's deps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .model import Claim, Entry, Event, Page, Site, Source, Speaker, Tag
from .render import PageSpec

HOME_LATEST = 10
FEED_SIZE = 50


@dataclass
class Pager:
    number: int
    count: int
    base: str  # 'claims/'

    def url_of(self, number: int) -> str:
        return self.base if number == 1 else f"{self.base}page/{number}/"

    @property
    def previous(self) -> str | None:
        return self.url_of(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        return self.url_of(self.number + 1) if self.number < self.count else None

    @property
    def numbers(self) -> list[tuple[int, str] | None]:
        """First, last and two either side of the current page; None marks a gap."""
        wanted = {1, self.count, *range(self.number - 2, self.number + 3)}
        shown: list[tuple[int, str] | None] = []
        for n in sorted(x for x in wanted if 1 <= x <= self.count):
            if shown and shown[-1] is not None and n - shown[-1][0] > 1:
                shown.append(None)
            shown.append((n, self.url_of(n)))
        return shown


# What a card (one entry in a list) shows, as deps: front matter only, never bodies.
def claim_card(c: Claim) -> tuple[Any, ...]:
    assert c.speaker is not None
    return ("c", c.slug, c.meta_digest, c.speaker.meta_digest,
            c.event.meta_digest if c.event else None)


def _counted(e: Speaker | Event | Source) -> tuple[Any, ...]:
    return (e.slug, e.meta_digest, len(e.claims))


def _tag_card(t: Tag) -> tuple[Any, ...]:
    return (t.slug, t.name, len(t.claims))


CARDS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "claim": claim_card, "speaker": _counted, "event": _counted, "source": _counted, "tag": _tag_card,
}


def paginate(base: str, items: Sequence[Any], per_page: int, template: str,
             context: dict[str, Any], deps: tuple[Any, ...] = ()) -> list[PageSpec]:
    count = max(1, -(-len(items) // per_page))
    card = CARDS[context["item"]]
    specs = []
    for number in range(1, count + 1):
        pager = Pager(number, count, base)
        chunk = items[(number - 1) * per_page:number * per_page]
        specs.append(PageSpec(pager.url_of(number), template,
                              dict(context, items=chunk, pager=pager, total=len(items)),
                              deps + (number, count, len(items), tuple(card(x) for x in chunk))))
    return specs


def own_page(site: Site, entry: Entry) -> PageSpec:
    """The page an entry has of its own: the only page that shows its body."""
    if isinstance(entry, Claim):
        assert entry.speaker is not None
        deps = (entry.digest, entry.speaker.meta_digest, entry.event.meta_digest if entry.event else None,
                tuple(a.source.digest for a in entry.appearances),
                tuple((t.slug, t.name) for t in entry.tags))
        return PageSpec(entry.url, "claim.html", {"claim": entry}, deps)
    if isinstance(entry, Speaker):
        return PageSpec(entry.url, "speaker.html",
                        {"speaker": entry, "counts": site.verdict_counts(entry.claims)},
                        (entry.digest, tuple(claim_card(c) for c in entry.claims)))
    if isinstance(entry, Event):
        return PageSpec(entry.url, "event.html", {"event": entry},
                        (entry.digest, tuple(claim_card(c) for c in entry.claims),
                         tuple(_counted(s) for s in entry.sources)))
    if isinstance(entry, Source):
        return PageSpec(entry.url, "source.html", {"source": entry},
                        (entry.digest, tuple(claim_card(c) for c in entry.claims)))
    assert isinstance(entry, Page)
    return PageSpec(entry.url, "page.html", {"page": entry}, (entry.digest,))


def plan_pages(site: Site) -> list[PageSpec]:
    per = site.config.per_page
    counts = site.verdict_counts(site.claims)
    latest = site.claims[:HOME_LATEST]
    totals = tuple(len(x) for x in (site.claims, site.speakers, site.events, site.sources, site.tags))
    specs: list[PageSpec] = [
        PageSpec("", "home.html", {"latest": latest, "counts": counts},
                 (tuple(claim_card(c) for c in latest), tuple(n for _, n in counts), totals)),
        PageSpec("404.html", "404.html"),
    ]
    sections = [
        ("claims/", "Claims", "claim", site.claims),
        ("speakers/", "Speakers", "speaker", site.speakers),
        ("events/", "Events", "event", site.events),
        ("sources/", "Sources", "source", site.sources),
        ("tags/", "Tags", "tag", site.tags),
    ]
    for base, title, item, items in sections:
        specs += paginate(base, items, per, "list.html",
                          {"title": title, "item": item, "crumbs": [], "intro": None})
    for group in (site.claims, site.speakers, site.events, site.sources, site.pages):
        specs += [own_page(site, entry) for entry in group]
    for tag in site.tags:
        specs += paginate(tag.url, tag.claims, per, "list.html",
                          {"title": f"Tag: {tag.name}", "item": "claim",
                           "crumbs": [("Tags", "tags/")], "intro": None}, (tag.name,))
    by_verdict: dict[str, list[Claim]] = {v.id: [] for v, _ in counts}
    for c in site.claims:
        assert c.verdict is not None
        by_verdict[c.verdict.id].append(c)
    for verdict, _ in counts:
        specs += paginate(f"verdicts/{verdict.id}/", by_verdict[verdict.id], per, "list.html",
                          {"title": f"Verdict: {verdict.label}", "item": "claim",
                           "crumbs": [], "intro": verdict.description})
    specs.append(PageSpec("search/", "search.html"))
    specs += _feeds(site)
    html_pages = [(spec.path, _lastmod(spec)) for spec in specs if spec.template.endswith(".html")
                  and spec.path != "404.html"]
    specs.append(PageSpec("sitemap.xml", "sitemap.xml", {"entries": html_pages}, tuple(html_pages)))
    specs.append(PageSpec("robots.txt", "robots.txt"))
    return specs


def _lastmod(spec: PageSpec) -> Any:
    claim = spec.context.get("claim")
    return (claim.updated or claim.reviewed) if claim is not None else None


def _feed(path: str, title: str, alternate: str, claims: Sequence[Claim]) -> PageSpec:
    """An Atom feed of the most recently reviewed claims of a list."""
    def changed(c: Claim) -> Any:
        return c.updated or c.reviewed

    entries = sorted(claims, key=lambda c: (changed(c), c.said, c.slug), reverse=True)[:FEED_SIZE]
    updated = max((changed(c) for c in entries), default=None)
    return PageSpec(path, "feed.xml", {"title": title, "alternate": alternate, "entries": entries,
                                       "updated": updated.isoformat() if updated else "1970-01-01"},
                    (title, tuple(claim_card(c) for c in entries)))


def _feeds(site: Site) -> list[PageSpec]:
    name = site.config.title
    feeds = [_feed("feed.xml", f"{name}: all claims", "", site.claims)]
    feeds += [_feed(f"{s.url}feed.xml", f"{name}: claims by {s.name}", s.url, s.claims)
              for s in site.speakers]
    feeds += [_feed(f"{e.url}feed.xml", f"{name}: claims at {e.name}", e.url, e.claims)
              for e in site.events]
    return feeds
