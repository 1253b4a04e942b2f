"""Raw entries to the cross-linked model, collecting every problem on the way.

Nothing here writes files. Each check reports at the position of the field it
is about, so editors land on the right line.
"""

from __future__ import annotations

import difflib
import operator
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from .config import SiteConfig
from .errors import Location, Problems
from .loading import RawEntry, checked_fields
from .model import Appearance, Claim, Entry, Event, Page, Site, Source, Speaker, Tag
from .cache import PRUNED, Caches, record_key
from .parallel import started
from .quotes import QuoteResult, compare_wordings, without_outer_marks
from .urls import slug_problem

# Top-level folders the generator itself writes; a page may not take their names.
# how a published build says that a draft has problems (which `check` itself lists)
DRAFT_WAITS = "this draft has"

RESERVED_PAGE_SLUGS = {"claims", "speakers", "events", "sources", "tags", "verdicts", "search",
                       "static"}


class _Index:
    """Entries of one kind by slug, resolving references written as slug, as name or as
    one of the entry's aliases (`speaker: Vucic` for vucic.md or aleksandar-vucic.md)."""

    def __init__(self, kind: str, entries: dict[str, Entry], drafts: set[str], slug: Callable[[str], str]):
        self.kind, self.entries, self.drafts, self.slug = kind, entries, drafts, slug
        self._names: dict[str, Entry] | None = None  # made when a reference is not a slug

    def _by_name(self) -> dict[str, Entry]:
        """Entries by the slugs of their names and aliases (a file's own slug comes first)."""
        if self._names is None:
            self._names = {}
            for entry in self.entries.values():
                for text in (getattr(entry, "name", None), *getattr(entry, "aliases", ())):
                    if text:
                        self._names.setdefault(self.slug(text), entry)
        return self._names

    def resolve(self, value: str) -> tuple[Any, str]:
        slug = self.slug(value)
        if slug in self.entries:
            return self.entries[slug], ""
        named = self._by_name().get(slug)
        if named is not None:
            return named, ""
        if slug in self.drafts:
            return None, f"`{value}` is a draft and is not published; publish it or remove the reference"
        close = difflib.get_close_matches(slug, list(self.entries), n=1, cutoff=0.6)
        if close:
            return None, f"did you mean `{close[0]}`?"
        return None, f"create content/{self.kind}/{slug}.md, or use one of the existing file names"


def check_fields(entry: RawEntry, caches: Caches) -> tuple[dict[str, Any], list[Any]]:
    """The entry's typed values and field problems, computed once per file content
    (usually where the file was read)."""
    key = record_key(entry.shown, entry.digest)
    if key not in caches.records:
        caches.records[key] = checked_fields(entry)
    caches.used["records"].add(key)
    return caches.records[key]


@contextmanager
def _checking(claims: list[tuple[RawEntry, dict[str, Any]]], sources: _Index,
              caches: Caches) -> Iterator[Callable[[], None]]:
    """Check every quotation and compare every pair of wordings not in the caches yet,
    across cores, while the parent links the claims (inside the `with`); what it gives
    waits for the results and puts them in the caches, so that verifying the claims only
    looks them up. (Linked as the results came in, the parent's linking lagged the workers
    by 0.2 s at 10,000 claims, one core idle.)

    Jobs go by source, so each source's text is indexed once (in one worker); a cold
    10,000-claim build spent 5 of its 9 checking seconds on this in one process."""
    wanted: dict[str, list[str]] = {}  # source slug -> the texts its job looks for
    jobs: list[tuple[Any, ...]] = []
    pairs: set[tuple[str, str]] = set()
    for _entry, v in claims:
        wordings = []
        for item in v["appearances"] or []:
            if item["source"] is None:
                continue
            source, _hint = sources.resolve(item["source"])
            wording = item["wording"] or v["quote"]
            if source is None or not wording:
                continue
            # verifying looks for the quote itself in the appearances' sources, first
            # to last, until found: in the first one always (in a tenth of the 10k corpus's
            # claims that wording differs, and the parent indexed 940 texts on one core);
            # the quote is usually one of the wordings, so checking it in every source here
            # would mostly compute "closest passage" reports nobody reads
            first = not wordings
            wordings.append(wording)
            texts = [wording, v["quote"]] if first and v["quote"] and v["quote"] != wording else [wording]
            for text in texts:
                if (source.digest, text) not in caches.quotes:
                    if source.slug not in wanted:
                        wanted[source.slug] = []
                        jobs.append(("quotes", source, wanted[source.slug]))
                    wanted[source.slug].append(text)
        for other in wordings[1:]:
            pair = (wordings[0], other)
            if pair not in caches.wordings and pair not in pairs:
                pairs.add(pair)
                jobs.append(("wordings", *pair))
    jobs = [("quotes", job[1], sorted(set(job[2]))) if job[0] == "quotes" else job for job in jobs]

    def run(job: tuple[Any, ...]) -> tuple[Any, ...]:
        """The job's results as an update of the caches (see `Caches.take`)."""
        if job[0] == "quotes":
            text = job[1].text()
            return ("quotes", job[1].digest, job[2], [text.check(wording) for wording in job[2]])
        return ("wordings", job[1], job[2], compare_wordings(job[1], job[2]))

    with started(run, jobs, caches.sink) as results:
        def finish() -> None:
            for _i, update in results:
                caches.take(update)
        yield finish


def common(entry: RawEntry, values: dict[str, Any]) -> dict[str, Any]:
    """The fields every kind of entry has."""
    return dict(slug=entry.slug, source_path=entry.shown, body=entry.body, body_line=entry.body_line,
                digest=entry.digest, meta_digest=entry.meta_digest, draft=bool(values["draft"]))


def claim_order(claim: Claim) -> tuple[Any, ...]:
    """Claims are listed newest first by this key (reversed): when said, then slug."""
    return (claim.said, claim.slug)


def tag_order(tag: Tag) -> tuple[Any, ...]:
    return (tag.name.casefold(), tag.slug)


def link_claims(claims: list[Claim], speakers: Iterable[Speaker], events: Iterable[Event],
                sources: Iterable[Source], tags: Iterable[Tag]) -> None:
    """Fill the claim lists of the entries given from `claims` (sorted newest first); each
    list keeps that order, except an event's timeline, which runs oldest first."""
    speakers, events, sources, tags = list(speakers), list(events), list(sources), list(tags)
    for entry in (*speakers, *events, *sources, *tags):
        entry.claims = []
    wanted = set(speakers) | set(events) | set(sources) | set(tags)
    for claim in claims:
        assert claim.speaker is not None
        if claim.speaker in wanted:
            claim.speaker.claims.append(claim)
        if claim.event is not None and claim.event in wanted:
            claim.event.claims.append(claim)
        for appearance in claim.appearances:
            source = appearance.source
            if source in wanted and (not source.claims or source.claims[-1] is not claim):
                source.claims.append(claim)
        for tag in claim.tags:
            if tag in wanted:
                tag.claims.append(claim)
    for event in events:
        event.claims.reverse()  # time order, oldest first
        seen = {a.source for c in event.claims for a in c.appearances}
        event.sources = sorted(seen, key=lambda s: (s.published, s.slug))


Report = Callable[[tuple[Any, ...], str, str], None]


@dataclass
class _Linked:
    """A claim `ClaimLinker.link` made, for `verify`."""
    claim: Claim
    ok: bool  # nothing wrong so far
    # for each appearance: its number in the front matter, and whether it has its own wording
    quoted: list[tuple[int, bool]] = field(default_factory=list)


class ClaimLinker:
    """Turns one claim's checked values into a Claim linked to its speaker, event, sources
    and tags, with every quotation verified. A full build runs it over every claim; the
    preview over an edited one (patch.py)."""

    def __init__(self, config: SiteConfig, indexes: dict[str, _Index], caches: Caches,
                 tags: dict[str, Tag]):
        self.config, self.indexes, self.caches = config, indexes, caches
        self.tags = tags  # by slug; a tag is spelled as the first claim (in file order) spells it

    @classmethod
    def for_site(cls, site: Site, caches: Caches) -> "ClaimLinker":
        """A linker that resolves against a built site (drafts included only if it has them)."""
        def index(kind: str, entries: list[Any]) -> _Index:
            return _Index(kind, {e.slug: e for e in entries}, set(), caches.slug)
        return cls(site.config, {"speakers": index("speakers", site.speakers),
                                 "events": index("events", site.events),
                                 "sources": index("sources", site.sources)},
                   caches, {t.slug: t for t in site.tags})

    def check_quote(self, source: Source, wording: str) -> QuoteResult:
        caches = self.caches
        key = (source.digest, wording)
        if key not in caches.quotes:
            caches.quotes[key] = source.text().check(wording)
        caches.used["quotes"].add(key)
        return caches.quotes[key]

    def claim(self, e: RawEntry, v: dict[str, Any], report: Report) -> Claim | None:
        """The linked claim with every quotation verified, or None if it has problems
        (each reported)."""
        return self.verify(self.link(e, v, report), report)

    def _unread_verdict(self, e: RawEntry, report: Report) -> None:
        """A verdict YAML did not read as text (`verdict: false`, `verdict: 2`) was reported
        as such by the field check; if it would not be a verdict of the scale once quoted
        either, say so now, so that the editor does not learn it in a second round."""
        raw = e.doc.values().get("verdict")
        if raw is None or isinstance(raw, str):
            return
        shown = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if self.config.verdict(shown) is None:
            report(("verdict",), f"`{shown}` is not a verdict of this site's scale either",
                   self._off_scale_hint(shown))

    def _off_scale_hint(self, value: str) -> str:
        """What to write instead of a verdict that is not on the scale."""
        ids = [x.id for x in self.config.verdicts]
        close = difflib.get_close_matches(value, ids, n=1, cutoff=0.5)
        return f"did you mean `{close[0]}`?" if close else f"use one of: {', '.join(ids)}"

    def link(self, e: RawEntry, v: dict[str, Any], report: Report) -> "_Linked":
        """The claim linked to its speaker, event, sources and tags; its quotations are
        checked by `verify`."""
        config, indexes, caches, tags = self.config, self.indexes, self.caches, self.tags
        claim = Claim(**common(e, v), quote=without_outer_marks(v["quote"] or ""), said=v["said"] or Claim.said,
                      summary=v["summary"], reviewed=v["reviewed"] or Claim.reviewed, updated=v["updated"])
        ok = all(v[name] is not None for name in ("quote", "said", "reviewed"))
        for field_name, index in (("speaker", indexes["speakers"]), ("event", indexes["events"])):
            if v[field_name] is None:
                continue
            target, hint = index.resolve(v[field_name])
            if target is None:
                report((field_name,), f"unknown {field_name} `{v[field_name]}`", hint)
                ok = False
            setattr(claim, field_name, target)
        if v["verdict"] is None:
            self._unread_verdict(e, report)
        else:
            claim.verdict = config.verdict(v["verdict"])
            if claim.verdict is None:
                report(("verdict",), f"`{v['verdict']}` is not a verdict of this site's scale",
                       self._off_scale_hint(v["verdict"]))
        ok = ok and claim.verdict is not None and claim.speaker is not None
        linked = _Linked(claim, ok)
        for i, item in enumerate(v["appearances"] or []):
            if item["source"] is None:
                linked.ok = False
                continue
            source, hint = indexes["sources"].resolve(item["source"])
            if source is None:
                report(("appearances", i, "source"), f"unknown source `{item['source']}`", hint)
                linked.ok = False
                continue
            wording = item["wording"] or claim.quote
            if wording:
                appearance = Appearance(source=source, wording=wording, indirect=bool(item["indirect"]))
                claim.appearances.append(appearance)
                linked.quoted.append((i, bool(item["wording"])))
        for name in v["tags"] or []:
            slug = caches.slug(name)
            why = slug_problem(slug)
            if why:
                report(("tags",), f"the tag {name!r} cannot make a web address: {why}",
                       "write a different word for the tag")
                continue
            tag = tags.setdefault(slug, Tag(slug, name))
            if tag not in claim.tags:
                claim.tags.append(tag)
        return linked

    def verify(self, linked: "_Linked", report: Report) -> Claim | None:
        """The linked claim once each appearance's wording is found in its source and the
        quote in one of them (with the passages and differences the page shows); None if
        anything is wrong with it (each problem reported)."""
        caches, check_quote, claim = self.caches, self.check_quote, linked.claim
        ok = linked.ok
        quote_found = quote_reported = False
        for appearance, (i, own_wording) in zip(claim.appearances, linked.quoted):
            source = appearance.source
            result = check_quote(source, appearance.wording)
            if result.found:
                appearance.text_fragment = result.text_fragment
                appearance.context = result.context
            else:
                match = result.missing
                assert match is not None
                at = ("appearances", i, "wording") if own_wording else ("quote",)
                quote_reported = quote_reported or not own_wording
                detail = "; ".join(match.differences)
                closest = f'closest passage: "{match.closest}"' if match.closest else "no similar passage"
                report(at, f'the wording is not in {source.source_path}: "{match.fragment}"',
                       f"{closest} — {detail}")
                ok = False
            if claim.quote and not quote_found and check_quote(source, claim.quote).found:
                quote_found = True
        if claim.quote and claim.appearances and not quote_found and not quote_reported:
            first = claim.appearances[0].source
            missing = check_quote(first, claim.quote).missing
            detail = ""
            if missing is not None and missing.closest:
                detail = (f'closest passage in {first.source_path}: "{missing.closest}" — '
                          + "; ".join(missing.differences) + "; ")
            report(("quote",), f'the quote is in none of its appearances\' sources: "{claim.quote}"',
                   detail + "the quote must be one source's exact words; other wordings go in `wording`")
            ok = False
        if len(claim.appearances) > 1:
            # each wording is compared with the first; the first with the second
            first = claim.appearances[0]
            for index, other in enumerate(claim.appearances[1:]):
                key = (first.wording, other.wording)
                if key not in caches.wordings:
                    caches.wordings[key] = compare_wordings(*key)
                caches.used["wordings"].add(key)
                marked_first, other.diff = caches.wordings[key]
                if index == 0:
                    first.diff = marked_first
        return claim if ok else None


def build_site(config: SiteConfig, raw: list[RawEntry], problems: Problems,
               *, preview: bool = False, caches: Caches | None = None,
               meanwhile: Callable[[Site], None] | None = None) -> Site:
    """Check every entry and link them; problems are recorded, never raised.

    `meanwhile(site)` is work of the caller's that needs the linked site but not what the
    quotation checks find (planning the pages): it runs while workers check, on the site
    as it will be if every quotation is found. If one is not (an error), the site returned
    is another object."""
    caches = caches if caches is not None else Caches()
    caches.used = {name: set() for name in PRUNED}

    def reporter(entry: RawEntry) -> Callable[[tuple[Any, ...], str, str], None]:
        def report(path: tuple[Any, ...], message: str, hint: str) -> None:
            problems.error(entry.location(path), message, hint)
        return report

    by_kind: dict[str, list[tuple[RawEntry, dict[str, Any]]]] = defaultdict(list)
    drafts: dict[str, set[str]] = defaultdict(set)
    first_path: dict[tuple[str, str], str] = {}
    for entry in raw:
        values, field_problems = check_fields(entry, caches)
        errors = sum(p.severity == "error" for p in field_problems)
        if values.get("draft") and not preview and errors:
            # a draft is not published: what is left to fill in must not stop the build
            # (the preview and `check` show it, line by line)
            problems.warning(Location(entry.shown, 1), f"{DRAFT_WAITS} {errors} problem{'s' if errors > 1 else ''} "
                             "and is not published", "see them with `python build.py check` or in the preview")
        else:
            problems.items.extend(field_problems)
        why = slug_problem(entry.slug)
        if why:
            problems.error(Location(entry.shown, 1), f"this file name cannot make a web address: {why}",
                           "rename the file using letters or digits, e.g. my-claim.md")
            continue
        if entry.kind == "pages" and entry.slug in RESERVED_PAGE_SLUGS:
            problems.error(Location(entry.shown, 1), f"the page name {entry.slug!r} is used by the site itself",
                           "rename the file, e.g. about.md")
            continue
        key = (entry.kind, entry.slug)
        if key in first_path:
            problems.error(Location(entry.shown, 1),
                           f"the slug {entry.slug!r} is already used by {first_path[key]}",
                           "file names must differ by more than case or accents; rename one of them")
            continue
        first_path[key] = entry.shown
        if values.get("draft") and not preview:
            drafts[entry.kind].add(entry.slug)
            continue
        by_kind[entry.kind].append((entry, values))

    speakers = {e.slug: Speaker(**common(e, v), name=v["name"] or e.slug, role=v["role"] or "",
                                organisation=v["organisation"], country=v["country"],
                                aliases=v["aliases"] or [])
                for e, v in by_kind["speakers"]}
    events: dict[str, Event] = {}
    for e, v in by_kind["events"]:
        event = Event(**common(e, v), name=v["name"] or e.slug, date=v["date"] or Event.date,
                      end_date=v["end_date"], place=v["place"] or "")
        if event.end_date and v["date"] and event.end_date < event.date:
            problems.error(e.location(("end_date",)), "end_date is before date",
                           "swap the two dates, or fix the typo")
        events[e.slug] = event
    sources = {e.slug: Source(**common(e, v), outlet=v["outlet"] or "",
                              title=v["title"] or e.slug, url_original=v["url"] or "", published=v["published"] or Source.published,
                              language=v["language"] or config.language, author=v["author"],
                              retrieved=v["retrieved"] or Source.retrieved, archive_url=v["archive_url"])
               for e, v in by_kind["sources"]}
    for e, v in by_kind["sources"]:
        if not e.body.strip():
            problems.error(Location(e.shown, e.body_line), "the source has no archived text",
                           "paste the article's text below the front matter")
    pages = [Page(**common(e, v), title=v["title"] or e.slug) for e, v in by_kind["pages"]]

    indexes = {
        "speakers": _Index("speakers", speakers, drafts["speakers"], caches.slug),  # type: ignore[arg-type]
        "events": _Index("events", events, drafts["events"], caches.slug),  # type: ignore[arg-type]
        "sources": _Index("sources", sources, drafts["sources"], caches.slug),  # type: ignore[arg-type]
    }
    linker = ClaimLinker(config, indexes, caches, {})

    def assemble(claims: list[Claim]) -> Site:
        claims = sorted(claims, key=claim_order, reverse=True)
        tags = linker.tags
        link_claims(claims, speakers.values(), events.values(), sources.values(), tags.values())
        return Site(
            config=config,
            claims=claims,
            speakers=sorted(speakers.values(), key=lambda s: (s.name.casefold(), s.slug)),
            events=sorted(events.values(), key=lambda e: (e.date, e.slug), reverse=True),
            sources=sorted(sources.values(), key=lambda s: (s.published, s.slug), reverse=True),
            tags=sorted((t for t in tags.values() if t.claims), key=tag_order),
            pages=sorted(pages, key=lambda p: p.slug),
            preview=preview,
        )

    hoped: tuple[list[Claim], Site] | None = None
    with _checking(by_kind["claims"], indexes["sources"], caches) as checked:
        linked = [(e, linker.link(e, v, reporter(e))) for e, v in by_kind["claims"]]
        if meanwhile is not None and not problems.errors:  # (a build with errors stops here)
            ok = [link.claim for _e, link in linked if link.ok]
            hoped = (ok, assemble(ok))
            meanwhile(hoped[1])
        checked()
    claims = [claim for e, link in linked if (claim := linker.verify(link, reporter(e))) is not None]
    caches.prune()
    # verifying keeps a claim or drops it (and reports why): kept all, the site is as hoped
    if hoped is not None and len(claims) == len(hoped[0]) and all(map(operator.is_, claims, hoped[0])):
        return hoped[1]
    return assemble(claims)
