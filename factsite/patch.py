"""Edits the preview draws on its last good site instead of rebuilding it.

An editor writing context notes saves the same file again and again, changing
only its body: the pages drawn again are those whose drawing read it (reads.py),
its own page with the default templates (`body_edits`). A claim's front matter
(its verdict, tags, date, speaker, sources) changes which claims some lists hold:
its speaker's, event's, sources' and tags' pages and feeds, the lists and the
home page are planned again (`ClaimPatch`), and any page that read what changed
is drawn again. Re-linking one claim and re-planning those groups takes
milliseconds at any archive size; rebuilding the model of 10,000 claims took a
second. Anything else (new or deleted files, speakers, events, sources, whose
text other pages quote, templates, config) goes through the full build, and so
does any edit with a problem, which the full build reports in its place.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import Caches, record_key
from .errors import Problems, display_path
from .loading import FileStamp, RawEntry, file_stamp, kept_stamp, read_entry
from .model import Claim, Entry, Event, Page, Site, Speaker
from .pages import Group
from .reads import entity_key
from .validate import ClaimLinker, check_fields, claim_order, link_claims, tag_order

# the kinds whose body shows on their own page only
_PATCHABLE = {"claims": Claim, "speakers": Speaker, "events": Event, "pages": Page}


@dataclass
class BodyEdit:
    entry: Entry  # the model object, patched in place by `apply`
    raw: RawEntry  # the file as read now
    stamp: FileStamp | None  # for the file cache (`loading.kept_stamp`)

    def apply(self) -> None:
        self.entry.body = self.raw.body
        self.entry.digest = self.raw.digest
        self.entry.body_html = None


def entries_by_path(site: Site) -> dict[str, Entry]:
    """Model objects by the path shown in messages (the key `RawEntry.shown` uses)."""
    return {e.source_path: e for group in (site.claims, site.speakers, site.events, site.pages)
            for e in group}


# an edited file: the model object it made last time, the file as read now, its stamp
Reread = tuple[Entry, RawEntry, FileStamp | None]


def reread(by_path: dict[str, Entry], changed: set[str], cwd: Path) -> list[Reread] | None:
    """Every changed file read again, or None if one of them is not an existing entry of a
    patchable kind that reads without any problem and keeps its slug."""
    reads = []
    for path in sorted(changed):
        kind = os.path.basename(os.path.dirname(path))
        entry = by_path.get(display_path(Path(path), cwd))
        if kind not in _PATCHABLE or not path.endswith(".md") or entry is None \
                or not isinstance(entry, _PATCHABLE[kind]) or os.path.islink(path):
            return None
        found = Problems()
        listed_at = time.time_ns()
        try:
            info = os.stat(path)
        except OSError:
            return None  # deleted: the lists change
        raw = read_entry(kind, str(Path(path)), entry.source_path, found)
        if raw is None or found.items or raw.slug != entry.slug:
            return None
        reads.append((entry, raw, kept_stamp(file_stamp(info), listed_at)))
    return reads


def body_edits(reads: list[Reread]) -> list[BodyEdit] | None:
    """The changes as body edits, or None if any of them changed more than its body."""
    if any(raw.meta_digest != entry.meta_digest or raw.body_line != entry.body_line
           for entry, raw, _ in reads):
        return None
    return [BodyEdit(*read) for read in reads]


def claim_edits(reads: list[Reread]) -> list[Reread] | None:
    """The changes as edits of claims' front matter, or None if another kind changed."""
    return reads if all(isinstance(entry, Claim) for entry, _, _ in reads) else None


class ClaimPatch:
    """Claims re-linked into a built site: `prepare` checks them without touching the site,
    `apply` puts them in and says which page groups and search records changed."""

    def __init__(self, site: Site, caches: Caches, preview: bool):
        self.site, self.caches, self.preview = site, caches, preview
        self.linker = ClaimLinker.for_site(site, caches)
        self.new: dict[Claim, Claim] = {}  # old -> new
        self.spellings: dict[str, str] = {}  # tag slug -> its name after the edit
        self.in_place = False  # set by `apply`

    def _tag_names(self, claim: Claim, values: dict[str, Any] | None = None) -> list[str] | None:
        """The tags as the claim's file spells them (its checked record keeps them)."""
        if values is None:
            record = self.caches.records.get(record_key(claim.source_path, claim.digest))
            if record is None:
                return None
            values = record[0]
        return list(values["tags"] or [])

    def prepare(self, edits: list[Reread]) -> bool:
        """Check and link each edited claim; False if any has a problem or is not a plain
        edit (a draft leaving the built site). Nothing of the site is changed."""
        found = Problems()
        names: dict[Claim, list[str]] = {}
        for old, raw, _stamp in edits:
            assert isinstance(old, Claim)
            values, problems = check_fields(raw, self.caches)
            if problems or (values["draft"] and not self.preview):
                return False
            claim = self.linker.claim(raw, values, lambda path, message, hint: found.error(
                raw.location(path), message, hint))
            if claim is None or found.items:
                return False
            self.new[old] = claim
            names[claim] = self._tag_names(claim, values) or []
        # a tag is named as the first claim (in file order) that has it spells it
        slugs = {t.slug for c in (*self.new, *self.new.values()) for t in c.tags}
        holders = {c for tag in self.site.tags if tag.slug in slugs for c in tag.claims}
        holders = sorted((holders - set(self.new)) | set(self.new.values()), key=lambda c: c.source_path)
        for claim in holders:
            spelled = names.get(claim) or self._tag_names(claim)
            if spelled is None:
                return False
            for name in spelled:
                slug = self.caches.slug(name)
                if slug in slugs:
                    self.spellings.setdefault(slug, name)
        return True

    def keys(self) -> set[str]:
        """The objects `apply` may change, by their keys (reads.py): the edited claims, what
        they link to before and after, the tags they make, and the site's lists."""
        keys = {"site"}
        for claim in (*self.new, *self.new.values()):
            linked = [claim, claim.speaker, claim.event, *(a.source for a in claim.appearances), *claim.tags]
            keys |= {entity_key(x) for x in linked if x is not None}
        return keys

    def _claims_after(self) -> list[Claim]:
        return [self.new.get(c, c) for c in self.site.claims]

    def _linked(self, to: Any) -> tuple[list[Any], list[Any]]:
        """What the edited claims link to, before and after, in the same order."""
        return ([id(x) for c in self.new for x in to(c)], [id(x) for c in self.new.values() for x in to(c)])

    def apply(self) -> tuple[set[Group], set[Claim], set[Any]]:
        """Put the new claims in; the page groups to plan again, the claims whose search
        records are stale, and the entries whose cards may look different now."""
        site, old_new = self.site, self.new
        touched = [*old_new, *old_new.values()]
        speakers = {c.speaker for c in touched if c.speaker is not None}
        events = {c.event for c in touched if c.event is not None}
        sources = {a.source for c in touched for a in c.appearances}
        tags_by_slug = self.linker.tags  # the site's tags, and any the edits made
        tags = {tags_by_slug[t.slug] for c in touched for t in c.tags}
        renamed = set()
        for tag in tags:
            name = self.spellings.get(tag.slug)
            if name is not None and name != tag.name:
                tag.name = name
                renamed.add(tag)

        claims = self._claims_after()
        # most edits leave every claim in its place: no need to sort 10,000 claims again
        moved = any(claim_order(old) != claim_order(new) for old, new in old_new.items())
        site.claims = sorted(claims, key=claim_order, reverse=True) if moved else claims
        # the lists to fill again hold only claims already in one of them, or edited ones
        mine = {c for e in (*speakers, *events, *sources, *tags) for c in e.claims} - set(old_new)
        link_claims(sorted(mine | set(old_new.values()), key=claim_order, reverse=True),
                    speakers, events, sources, tags)
        site.tags = sorted((t for t in tags_by_slug.values() if t.claims), key=tag_order)
        # every claim is where it was: the page groups keep their order (pages.replan), but
        # for the tags', which follow site.tags
        self.in_place = not moved

        redo: set[Group] = {("home",), ("feed", None), ("section", "claims/")}
        # the other lists show counts of claims: planned again if one of theirs changed
        for base, before, after in (("speakers/", *self._linked(lambda c: [c.speaker])),
                                    ("events/", *self._linked(lambda c: [c.event])),
                                    ("sources/", *self._linked(lambda c: [a.source for a in c.appearances])),
                                    ("tags/", *self._linked(lambda c: c.tags))):
            if before != after or (base == "tags/" and renamed):
                redo.add(("section", base))
        redo |= {("verdict", c.verdict.id) for c in touched if c.verdict is not None}
        redo |= {("own", e) for e in (*speakers, *events, *sources)}
        redo |= {("feed", e) for e in (*speakers, *events)}
        redo |= {("tag", t) for t in tags}
        # an event's page shows its sources' cards, with how many claims cite each
        redo |= {("own", c.event) for s in sources for c in s.claims if c.event is not None}
        stale = set(old_new.values())
        for tag in renamed:  # each claim page and search record names its tags
            redo |= {("own", c) for c in tag.claims}
            stale |= set(tag.claims)
        return redo, stale, {*touched, *speakers, *events, *sources, *tags}
