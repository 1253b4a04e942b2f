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
    return specs
