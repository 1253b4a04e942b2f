"""Which pages the site has: one PageSpec per output file, from the model.

Index pages are split into numbered pages past `per_page`; every list is
sliced here so no template loops over the whole archive on every page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .model import Site
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


def paginate(base: str, items: Sequence[Any], per_page: int, template: str,
             context: dict[str, Any]) -> list[PageSpec]:
    count = max(1, -(-len(items) // per_page))
    specs = []
    for number in range(1, count + 1):
        pager = Pager(number, count, base)
        chunk = items[(number - 1) * per_page:number * per_page]
        specs.append(PageSpec(pager.url_of(number), template,
                              dict(context, items=chunk, pager=pager, total=len(items))))
    return specs


def plan_pages(site: Site) -> list[PageSpec]:
    per = site.config.per_page
    specs: list[PageSpec] = [
        PageSpec("", "home.html", {"latest": site.claims[:HOME_LATEST],
                                   "counts": site.verdict_counts(site.claims)}),
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
    specs += [PageSpec(c.url, "claim.html", {"claim": c}) for c in site.claims]
    specs += [PageSpec(s.url, "speaker.html", {"speaker": s, "counts": site.verdict_counts(s.claims)})
              for s in site.speakers]
    specs += [PageSpec(e.url, "event.html", {"event": e}) for e in site.events]
    specs += [PageSpec(s.url, "source.html", {"source": s}) for s in site.sources]
    specs += [PageSpec(p.url, "page.html", {"page": p}) for p in site.pages]
    for tag in site.tags:
        specs += paginate(tag.url, tag.claims, per, "list.html",
                          {"title": f"Tag: {tag.name}", "item": "claim",
                           "crumbs": [("Tags", "tags/")], "intro": None})
    for verdict, _ in site.verdict_counts(site.claims):
        claims = [c for c in site.claims if c.verdict is verdict]
        specs += paginate(f"verdicts/{verdict.id}/", claims, per, "list.html",
                          {"title": f"Verdict: {verdict.label}", "item": "claim",
                           "crumbs": [], "intro": verdict.description})
    specs.append(PageSpec("search/", "search.html"))
    specs += _feeds(site)
    html_pages = [(spec.path, _lastmod(spec)) for spec in specs if spec.template.endswith(".html")
                  and spec.path != "404.html"]
    specs.append(PageSpec("sitemap.xml", "sitemap.xml", {"entries": html_pages}))
    specs.append(PageSpec("robots.txt", "robots.txt"))
    return specs


def _lastmod(spec: PageSpec) -> Any:
    claim = spec.context.get("claim")
    return (claim.updated or claim.reviewed) if claim is not None else None


def _feed(path: str, title: str, alternate: str, claims: Sequence[Any]) -> PageSpec:
    """An Atom feed of the most recently reviewed claims of a list."""
    def changed(c: Any) -> Any:
        return c.updated or c.reviewed

    entries = sorted(claims, key=lambda c: (changed(c), c.said, c.slug), reverse=True)[:FEED_SIZE]
    updated = max((changed(c) for c in entries), default=None)
    return PageSpec(path, "feed.xml", {"title": title, "alternate": alternate, "entries": entries,
                                       "updated": updated.isoformat() if updated else "1970-01-01"})


def _feeds(site: Site) -> list[PageSpec]:
    name = site.config.title
    feeds = [_feed("feed.xml", f"{name}: all claims", "", site.claims)]
    feeds += [_feed(f"{s.url}feed.xml", f"{name}: claims by {s.name}", s.url, s.claims)
              for s in site.speakers]
    feeds += [_feed(f"{e.url}feed.xml", f"{name}: claims at {e.name}", e.url, e.claims)
              for e in site.events]
    return feeds
