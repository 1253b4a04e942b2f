"""Which pages the site has: one PageSpec per output file, from the model.

Index pages are split into numbered pages past `per_page`, so no template
loops over the whole archive on every page (a speaker's, event's or
source's own page lists all of its claims).
A spec says what a page is given, not what it shows: what its drawing reads
of the model is recorded as it is drawn (reads.py).
"""

from __future__ import annotations

import heapq
import operator
from dataclasses import dataclass
from typing import Any, Sequence

from .model import Claim, Entry, Event, Page, Site, Source, Speaker
from .render import PageSpec

HOME_LATEST = 10
FEED_SIZE = 50
# Addresses per sitemap file. The protocol allows 50,000; past SITEMAP_SIZE pages,
# sitemap.xml is an index of sitemaps/1.xml, 2.xml, ..., so a claim's new date redraws
# one of them (~10 ms) rather than one file of every address (~95 ms at 10,000 claims).
SITEMAP_SIZE = 2000


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


_PAGED = ("items", "pager", "total")  # what `paginate` adds to a list's context


def paginate(base: str, items: Sequence[Any], per_page: int, template: str,
             context: dict[str, Any], previous: list[PageSpec] | None = None) -> list[PageSpec]:
    """The list's pages. A page of `previous` (the same list's pages planned on the same
    model, see `replan`) is kept if it is given the very same claims (an edited claim is a
    new object) and context: whether it is drawn again is then up to what it read."""
    count = max(1, -(-len(items) // per_page))
    if previous is not None and (context["item"] != "claim" or len(previous) != count
                                 or previous[0].context["total"] != len(items)
                                 or {k: v for k, v in previous[0].context.items() if k not in _PAGED} != context):
        previous = None
    specs = []
    for number in range(1, count + 1):
        chunk = items[(number - 1) * per_page:number * per_page]
        if previous is not None:
            old = previous[number - 1]
            shown = old.context["items"]
            if len(shown) == len(chunk) and all(map(operator.is_, shown, chunk)):
                specs.append(old)
                continue
        pager = Pager(number, count, base)
        specs.append(PageSpec(pager.url_of(number), template,
                              dict(context, items=chunk, pager=pager, total=len(items))))
    return specs


def own_page(site: Site, entry: Entry) -> PageSpec:
    """The page an entry has of its own: the only page that shows its body."""
    if isinstance(entry, Claim):
        return PageSpec(entry.url, "claim.html", {"claim": entry})
    if isinstance(entry, Speaker):
        return PageSpec(entry.url, "speaker.html",
                        {"speaker": entry, "counts": site.verdict_counts(entry.claims)})
    if isinstance(entry, Event):
        return PageSpec(entry.url, "event.html", {"event": entry})
    if isinstance(entry, Source):
        return PageSpec(entry.url, "source.html", {"source": entry})
    assert isinstance(entry, Page)
    return PageSpec(entry.url, "page.html", {"page": entry})


# A group of pages: the specs one key stands for. Keys are ("home",), ("404",),
# ("section", base), ("own", entry), ("tag", tag), ("verdict", id), ("search",) and
# ("feed", entry or None for the whole site); the sitemap and robots.txt come last.
Group = tuple[Any, ...]
SECTIONS = (("claims/", "Claims", "claim"), ("speakers/", "Speakers", "speaker"),
            ("events/", "Events", "event"), ("sources/", "Sources", "source"), ("tags/", "Tags", "tag"))


def group_keys(site: Site) -> list[Group]:
    """Every group of the site, in the order its pages are planned."""
    keys: list[Group] = [("home",), ("404",)]
    keys += [("section", base) for base, _, _ in SECTIONS]
    for group in (site.claims, site.speakers, site.events, site.sources, site.pages):
        keys += [("own", entry) for entry in group]
    keys += [("tag", tag) for tag in site.tags]
    keys += [("verdict", v.id) for v in site.config.verdicts]
    keys.append(("search",))
    keys.append(("feed", None))
    keys += [("feed", s) for s in site.speakers]
    keys += [("feed", e) for e in site.events]
    return keys


def plan_group(site: Site, key: Group, previous: list[PageSpec] | None = None) -> list[PageSpec]:
    """The pages of one group, with their deps (`previous`: see `paginate`)."""
    kind = key[0]
    per = site.config.per_page
    if kind == "own":
        return [own_page(site, key[1])]
    if kind == "section":
        base, title, item = next(s for s in SECTIONS if s[0] == key[1])
        items = {"claim": site.claims, "speaker": site.speakers, "event": site.events,
                 "source": site.sources, "tag": site.tags}[item]
        return paginate(base, items, per, "list.html",
                        {"title": title, "item": item, "crumbs": [], "intro": None}, previous=previous)
    if kind == "tag":
        tag = key[1]
        return paginate(tag.url, tag.claims, per, "list.html",
                        {"title": f"Tag: {tag.name}", "item": "claim",
                         "crumbs": [("Tags", "tags/")], "intro": None}, previous)
    if kind == "verdict":
        verdict = site.config.verdict(key[1])
        assert verdict is not None
        claims = [c for c in site.claims if c.verdict is not None and c.verdict.id == verdict.id]
        return paginate(f"verdicts/{verdict.id}/", claims, per, "list.html",
                        {"title": f"Verdict: {verdict.label}", "item": "claim",
                         "crumbs": [], "intro": verdict.description}, previous=previous)
    if kind == "feed":
        return [_feed(site, key[1])]
    if kind == "home":
        return [PageSpec("", "home.html", {"latest": site.claims[:HOME_LATEST],
                                           "counts": site.verdict_counts(site.claims)})]
    if kind == "404":
        return [PageSpec("404.html", "404.html")]
    assert kind == "search", key
    return [PageSpec("search/", "search.html")]


def plan_groups(site: Site, keep: dict[Group, list[PageSpec]] | None = None,
                redo: set[Group] = frozenset()) -> dict[Group, list[PageSpec]]:  # type: ignore[assignment]
    """Every group's pages; with `keep` (the last plan), only groups in `redo` or new
    since then are planned again (a claim edit in the preview, see patch.py)."""
    if keep is None:
        return {key: plan_group(site, key) for key in group_keys(site)}
    return {key: keep[key] if key in keep and key not in redo else plan_group(site, key)
            for key in group_keys(site)}


def replan(site: Site, last: dict[Group, list[PageSpec]], redo: set[Group], replaced: dict[Claim, Claim]
           ) -> tuple[dict[Group, list[PageSpec]], list[tuple[Group | None, Group | None]]]:
    """The plan after claims were replaced by edited ones in their places (`replaced`: old ->
    new): the groups are the same, in the same order, but for the replaced claims' own and
    the tags, which follow `site.tags` (a new tag's group is planned, a tag left without
    claims loses its group); those and the groups in `redo` are planned again.

    Also gives (old key, new key) of each group planned again, None for a group that came,
    went or moved, for `SiteMap.update`. At 10,000 claims this takes ~5 ms where `plan_groups`
    and the sitemap took ~40."""
    groups: dict[Group, list[PageSpec]] = {}
    moved: list[tuple[Group | None, Group | None]] = []
    tags = [("tag", tag) for tag in site.tags]
    placed = False  # the tag groups are planned where the last plan had them (see group_keys)
    tags_before: list[Group] = []
    for key, specs in last.items():
        if not placed and key[0] in ("tag", "verdict", "search", "feed"):
            placed = True
            for tag_key in tags:
                before = last.get(tag_key)
                if before is not None and tag_key not in redo:
                    groups[tag_key] = before
                    continue
                groups[tag_key] = plan_group(site, tag_key, previous=before)
                moved.append((tag_key if before is not None else None, tag_key))
        if key[0] == "tag":
            tags_before.append(key)
            if key not in groups:
                moved.append((key, None))
            continue
        old = key
        if key[0] == "own" and key[1] in replaced:
            key = ("own", replaced[key[1]])
        elif key not in redo or (key[0] == "feed" and _feed_kept(specs[0], replaced)):
            groups[key] = specs
            continue
        groups[key] = plan_group(site, key, previous=specs)
        moved.append((old, key))
    # a tag spelt anew (as the first claim that has it spells it) can sort elsewhere: its
    # pages move in the sitemap as if its group had gone and come again
    kept = [key for key in tags if key in last]
    if kept != [key for key in tags_before if key in groups]:
        moved += [(key, None) for key in kept] + [(None, key) for key in kept]
    return groups, moved


def all_pages(groups: dict[Group, list[PageSpec]], site_map: SiteMap | None = None) -> list[PageSpec]:
    """The groups' pages in order, then the sitemap(s) of every HTML page and robots.txt."""
    return [spec for group in groups.values() for spec in group] + \
        (site_map or SiteMap.of(groups)).specs + [PageSpec("robots.txt", "robots.txt")]


@dataclass
class SiteMap:
    """Every HTML page's (address, date last changed) in sitemap order, where each group's
    entries are, and the sitemap files' specs. An edit that keeps each group's number of
    pages changes entries in place (`update`) instead of walking 17,500 groups again."""
    entries: list[tuple[str, Any]]
    places: dict[Group, tuple[int, int]]  # group -> (first entry, number of entries)
    specs: list[PageSpec]

    @classmethod
    def of(cls, groups: dict[Group, list[PageSpec]]) -> SiteMap:
        site_map = cls([], {}, [])
        site_map._splice(groups, [])  # (no old entries: every group is read from its pages)
        return site_map

    def update(self, groups: dict[Group, list[PageSpec]],
               moved: list[tuple[Group | None, Group | None]]) -> bool:
        """Take in the groups planned again ((old key, new key), see `replan`); True if an
        entry changed. Where a group came, went or changed its number of pages, the entries
        after it move: the map is put together again from the old entries of the groups
        that were not planned again (~5 ms at 10,000 claims, where `of` takes ~40)."""
        changed = False
        for old, new in moved:
            if old is None or new is None:
                self._splice(groups, moved)
                return True
            start, count = self.places[old]
            mine = _sitemap_entries(groups[new])
            if len(mine) != count:
                self._splice(groups, moved)
                return True
            del self.places[old]
            self.places[new] = (start, count)
            if self.entries[start:start + count] != mine:
                self.entries[start:start + count] = mine
                changed = True
        if changed:
            self.specs = sitemap_files(self.entries)
        return changed

    def _splice(self, groups: dict[Group, list[PageSpec]],
                moved: list[tuple[Group | None, Group | None]]) -> None:
        """The entries of `groups` in order: a group planned again is read from its pages,
        any other copied from where the old map had it (its pages are the same)."""
        replanned = {new for _old, new in moved}
        entries: list[tuple[str, Any]] = []
        places: dict[Group, tuple[int, int]] = {}
        for key, specs in _sitemap_order(groups):
            place = self.places.get(key) if key not in replanned else None
            if place is None:
                mine = _sitemap_entries(specs)
            else:
                mine = self.entries[place[0]:place[0] + place[1]]
            places[key] = (len(entries), len(mine))
            entries += mine
        self.entries, self.places = entries, places
        self.specs = sitemap_files(entries)


def _sitemap_order(groups: dict[Group, list[PageSpec]]) -> list[tuple[Group, list[PageSpec]]]:
    """The entries' own pages first, then the lists, home and the rest, each in plan order.
    A tag that comes or goes, or a list that gains a page, then moves only the entries after
    it in the last sitemap files; first in the order, it moved every file (10 at 10,000
    claims)."""
    items = list(groups.items())
    return [item for item in items if item[0][0] == "own"] + [item for item in items if item[0][0] != "own"]


def sitemap_files(entries: list[tuple[str, Any]]) -> list[PageSpec]:
    """sitemap.xml with every entry or, past SITEMAP_SIZE entries, an index of sitemap files
    of SITEMAP_SIZE entries each, dated by their latest entry."""
    if len(entries) <= SITEMAP_SIZE:
        return [PageSpec("sitemap.xml", "sitemap.xml", {"entries": entries})]
    parts = [entries[at:at + SITEMAP_SIZE] for at in range(0, len(entries), SITEMAP_SIZE)]
    files = [PageSpec(f"sitemaps/{number}.xml", "sitemap.xml", {"entries": part})
             for number, part in enumerate(parts, 1)]
    index = [(spec.path, max((date for _, date in part if date is not None), default=None))
             for spec, part in zip(files, parts)]
    return [PageSpec("sitemap.xml", "sitemap_index.xml", {"sitemaps": index}), *files]


def _sitemap_entries(specs: list[PageSpec]) -> list[tuple[str, Any]]:
    """(address, date last changed) of each HTML page of a group but the 404 page."""
    return [(spec.path, _lastmod(spec)) for spec in specs
            if spec.template.endswith(".html") and spec.path != "404.html"]


def plan_pages(site: Site) -> list[PageSpec]:
    return all_pages(plan_groups(site))


def _lastmod(spec: PageSpec) -> Any:
    claim = spec.context.get("claim")
    return _changed(claim) if claim is not None else None


def _feed(site: Site, owner: Speaker | Event | None) -> PageSpec:
    """An Atom feed of the most recently reviewed claims of the site, a speaker or an event."""
    name = site.config.title
    if owner is None:
        return _feed_of("feed.xml", f"{name}: all claims", "", site.claims)
    if isinstance(owner, Speaker):
        return _feed_of(f"{owner.url}feed.xml", f"{name}: claims by {owner.name}", owner.url, owner.claims)
    return _feed_of(f"{owner.url}feed.xml", f"{name}: claims at {owner.name}", owner.url, owner.claims)


def _changed(c: Claim) -> Any:
    return c.updated or c.reviewed


def _feed_order(c: Claim) -> tuple[Any, ...]:
    """Feeds show the claims with the greatest of these first (slugs are unique: no ties)."""
    return (_changed(c), c.said, c.slug)


def _feed_of(path: str, title: str, alternate: str, claims: Sequence[Claim]) -> PageSpec:
    """An Atom feed of the most recently reviewed claims of a list."""
    # = sorted(..., reverse=True)[:FEED_SIZE], without sorting all
    entries = heapq.nlargest(FEED_SIZE, claims, key=_feed_order)
    updated = max((_changed(c) for c in entries), default=None)
    return PageSpec(path, "feed.xml", {"title": title, "alternate": alternate, "entries": entries,
                                       "updated": updated.isoformat() if updated else "1970-01-01"})


def _feed_kept(feed: PageSpec, replaced: dict[Claim, Claim]) -> bool:
    """A full feed stays as it is if no replaced claim was among its entries and none of
    their new versions would be: the site's feed, out of 10,000 claims, mostly does."""
    entries = feed.context["entries"]
    if len(entries) < FEED_SIZE:
        return False
    last = _feed_order(entries[-1])
    return all(old not in entries and _feed_order(new) < last for old, new in replaced.items())
