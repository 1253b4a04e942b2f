"""Body-only edits for the preview: patch the last good site instead of rebuilding it.

An editor writing context notes saves the same file again and again, changing
only its body. Lists, cards, feeds, the sitemap and the search index show
front matter only (the deps in pages.py say so), so such a save can change one
page: the entry's own. Re-reading that file and drawing that page takes
milliseconds at any archive size; rebuilding the model of 10,000 claims took
a second. Anything else (front matter, sources, whose text other pages quote,
new or deleted files, templates, config) goes through the full build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from .errors import Problems, display_path
from .loading import RawEntry, read_entry
from .model import Claim, Entry, Event, Page, Site, Speaker

# the kinds whose body shows on their own page only
_PATCHABLE = {"claims": Claim, "speakers": Speaker, "events": Event, "pages": Page}


@dataclass
class BodyEdit:
    entry: Entry  # the model object, patched in place by `apply`
    raw: RawEntry  # the file as read now
    stamp: tuple[int, int]  # (mtime_ns, size) for the file cache

    def apply(self) -> None:
        self.entry.body = self.raw.body
        self.entry.digest = self.raw.digest
        self.entry.body_html = None


def entries_by_path(site: Site) -> dict[str, Entry]:
    """Model objects by the path shown in messages (the key `RawEntry.shown` uses)."""
    return {e.source_path: e for group in (site.claims, site.speakers, site.events, site.pages)
            for e in group}


def body_edits(by_path: dict[str, Entry], changed: set[str], cwd: Path) -> list[BodyEdit] | None:
    """The changes as body edits, or None if any of them needs the full build."""
    edits = []
    for path in sorted(changed):
        kind = os.path.basename(os.path.dirname(path))
        entry = by_path.get(display_path(Path(path), cwd))
        if kind not in _PATCHABLE or not path.endswith(".md") or entry is None \
                or not isinstance(entry, _PATCHABLE[kind]) or os.path.islink(path):
            return None
        found = Problems()
        try:
            info = os.stat(path)
        except OSError:
            return None  # deleted: the lists change
        raw = read_entry(kind, Path(path), entry.source_path, found)
        # any problem (even a warning) is reported by the full build, in its place among the rest
        if raw is None or found.items or raw.meta_digest != entry.meta_digest \
                or raw.slug != entry.slug or raw.body_line != entry.body_line:
            return None
        edits.append(BodyEdit(entry, raw, (info.st_mtime_ns, info.st_size)))
    return edits
