"""What a page's rendering read of the model: its dependencies, recorded, not declared.

While a page renders, every attribute read on a model object (an entry, a tag, the site)
is recorded, whoever reads it: the template, a macro, a filter, a model property or
`claim_review`. Each read names a facet of its object (`model.Entry.FACETS`): its front
matter, its body, its links to other entries, its file's place. A page is drawn again
when a facet it read has a new fingerprint, or when what its plan gave it (`context_key`)
changed; a template that starts showing something new depends on it from its next
drawing on, without anyone listing it (Lektor records its dependencies the same way).

Why it is sound: drawing a page is a function of the templates and config (in every
page's fingerprint), of its plan's context and of the values it read. If each facet it
read has the fingerprint it had, every read gives the value it gave, so the drawing
takes the same path and gives the same bytes. Objects no facet covers (an Appearance,
a Segment) are reached only through a facet that covers their values.

The check is cheap: the build keeps the fingerprint of every facet some page read
(`Caches.facets`), works out which of them changed once (`Facets.changed_since`), and a
page is drawn again if one of its reads is among them; a page's own fingerprint covers
only what does not come from reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from contextlib import contextmanager
from itertools import repeat
from typing import Any, Callable, Iterable, Iterator

from .config import Verdict
from .model import Claim, Entry, Event, Site, Source, Speaker, Tag

_RECORDED = (Entry, Tag, Site)  # classes whose reads are recorded (subclasses with them)
# a dependency: '<key>#<facet>', the key 'claims/<slug>', 'tags/<slug>' or 'site'
Dep = str


def entity_key(obj: Any) -> str:
    """'claims/<slug>' for an entry or tag, 'site' for the site (read without recording)."""
    cls = type(obj)
    if cls is Site:
        return "site"
    return f"{cls.kind}/{object.__getattribute__(obj, 'slug')}"


def _facet(cls: type, name: str) -> str | None:
    facet = cls.FACETS.get(name, "")  # type: ignore[attr-defined]
    if facet != "":
        return facet
    if name.startswith("__") and name.endswith("__"):
        # the class, `__html__` looked for and not found...; `__dict__` is everything
        return "all" if name == "__dict__" else None
    return cls.DEFAULT_FACET  # type: ignore[attr-defined, no-any-return]


class Recorder:
    """The reads of the model made while `on`, as (object, attribute name) pairs in the
    order made (a list: appending is cheaper than a set's hashing, and a memoised macro's
    reads are the slice it made, see render.Memo)."""

    def __init__(self) -> None:
        self.reads: list[Any] = []
        # a read -> its dependency (None: none), worked out once per build; it holds the
        # objects read, so no id is reused while it is kept (`clear` at each model)
        self._deps: dict[Any, Dep | None] = {}
        self._depth = 0  # `install`s not undone

    def clear(self) -> None:
        """A new model: forget what was worked out for the last one's objects."""
        self._deps = {}

    def install(self) -> None:
        """Record the model's reads from now on, by any code of this process, until as many
        `uninstall`s. The recorded classes get a `__getattribute__` meanwhile: a Python call
        for every read (~0.1 us), and none outside drawing. Installing it is a change of
        the classes that empties Python's attribute caches (~25 us): a build installs it
        once for a chunk of pages, and `render` clears the reads before each page."""
        self._depth += 1
        if self._depth > 1:
            return
        add = self.reads.append
        get = object.__getattribute__

        def recording(obj: Any, name: str) -> Any:
            add((obj, name))
            return get(obj, name)

        for cls in _RECORDED:
            cls.__getattribute__ = recording  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            for cls in _RECORDED:
                del cls.__getattribute__

    @contextmanager
    def on(self) -> Iterator[None]:
        self.install()
        try:
            yield
        finally:
            self.uninstall()

    def deps(self, reads: Iterable[Any]) -> frozenset[Dep]:
        """The dependencies these reads amount to. A read may be a dependency already (a
        memoised macro's, added where it is reused)."""
        found = self._deps
        unique = set(reads)
        deps: set[Any] = set(map(found.get, unique, repeat(_NEW)))
        if _NEW in deps:
            for read in unique:
                if read not in found:
                    found[read] = read if type(read) is str else _dep_of(*read)
            deps = set(map(found.__getitem__, unique))
        deps.discard(None)
        return frozenset(deps)

    def take(self) -> frozenset[Dep]:
        """The dependencies the reads so far amount to (and forget the reads)."""
        deps = self.deps(self.reads)
        self.reads.clear()
        return deps


_NEW = object()  # (a read not seen before)


def _dep_of(obj: Any, name: str) -> Dep | None:
    facet = _facet(type(obj), name)
    return None if facet is None else f"{entity_key(obj)}#{facet}"


def _keys(entities: Iterable[Any]) -> tuple[str, ...]:
    return tuple(entity_key(e) for e in entities)


def _links(entity: Any) -> Any:
    if isinstance(entity, Claim):
        return (entity_key(entity.speaker), entity.event and entity_key(entity.event), _keys(entity.tags))
    if isinstance(entity, Event):
        return (_keys(entity.claims), _keys(entity.sources))
    if isinstance(entity, (Speaker, Source, Tag)):
        return _keys(entity.claims)
    return None  # (a page links to nothing)


def _appearances(claim: Claim) -> Any:
    """What a claim's appearances show: its own front matter, and the sources' texts in
    which its wordings were found (their passages, the differences marked)."""
    return (claim.meta_digest, tuple((entity_key(a.source), a.source.digest) for a in claim.appearances))


_FACET_VALUES: dict[str, Callable[[Any], Any]] = {
    "meta": lambda e: e.meta_digest,
    "body": lambda e: e.digest,
    "path": lambda e: (e.source_path, e.body_line),
    "links": _links,
    "appearances": _appearances,
    "name": lambda t: t.name,
}


def _all_facets(entity: Any) -> Any:
    if isinstance(entity, Site):
        return tuple(_keys(getattr(entity, name)) for name in ("claims", "speakers", "events", "sources",
                                                                 "tags", "pages"))
    if isinstance(entity, Tag):
        return (entity.name, _links(entity))
    return (entity.digest, entity.source_path, entity.body_line, _links(entity),
            _appearances(entity) if isinstance(entity, Claim) else None)


class Facets:
    """The fingerprint of each dependency on one model, worked out once per build."""

    def __init__(self, site: Site):
        self.site = site
        self._values: dict[Dep, Any] = {}
        self._entities: dict[str, Any] | None = None

    def _entity(self, key: str) -> Any:
        if self._entities is None:
            site = self.site
            self._entities = {entity_key(e): e for group in (site.claims, site.speakers, site.events,
                                                              site.sources, site.tags, site.pages)
                              for e in group}
            self._entities["site"] = site
        return self._entities.get(key)

    def value(self, dep: Dep) -> Any:
        try:
            return self._values[dep]
        except KeyError:
            pass
        key, _, facet = dep.partition("#")
        entity = self._entity(key)
        if entity is None:
            value: Any = None  # gone (and a page that read it is drawn again)
        elif facet == "all":
            value = _all_facets(entity)
        elif isinstance(entity, Site):
            value = _keys(getattr(entity, facet))
        else:
            value = _FACET_VALUES[facet](entity)
        self._values[dep] = value
        return value

    def changed_since(self, table: dict[Dep, Any]) -> set[Dep]:
        """The dependencies whose fingerprints are not those of `table` (the last build's,
        or a `snapshot`)."""
        value = self.value
        return {dep for dep, old in table.items() if value(dep) != old}

    def table(self, deps: Iterable[Dep]) -> dict[Dep, Any]:
        """The fingerprints of these dependencies now, for the next build's `changed_since`."""
        value = self.value
        return {dep: value(dep) for dep in deps}

    def snapshot(self, keys: Iterable[str]) -> dict[Dep, Any]:
        """The fingerprints of every dependency on these objects, before the model changes
        (then `forget` them, and `changed_since` the snapshot)."""
        return self.table(every_dep(keys))

    def forget(self, keys: Iterable[str] | None = None) -> None:
        """The model changed (the preview's edits): for the entities of `keys`, or all."""
        if keys is None:
            self._values, self._entities = {}, None
            return
        keys = set(keys)
        self._values = {dep: v for dep, v in self._values.items() if dep.partition("#")[0] not in keys}
        self._entities = None


def context_key(value: Any) -> Any:
    """What a page's plan gave its template, as a plain value: entries by their keys (what
    the template reads of them is recorded), lists and dicts item by item. A value of
    any other kind gives a key equal to nothing, so the page is always drawn again."""
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    if kind in (list, tuple):
        return tuple(context_key(item) for item in value)
    if kind is dict:
        return tuple(sorted((k, context_key(v)) for k, v in value.items()))
    if isinstance(value, dt.date):
        return ("date", value.isoformat())
    if isinstance(value, _RECORDED):
        return ("entity", entity_key(value))
    if isinstance(value, Verdict):  # (the config's, in every page's fingerprint)
        return ("verdict", value.id)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (kind.__name__, *(context_key(getattr(value, f.name)) for f in dataclasses.fields(value)))
    return ("unknown", os.urandom(16).hex())


# the facets each kind of object has (`Facets.snapshot`)
_KIND_FACETS = {
    "claims": ("meta", "body", "path", "links", "appearances", "all"),
    "speakers": ("meta", "body", "path", "links", "all"), "events": ("meta", "body", "path", "links", "all"),
    "sources": ("meta", "body", "path", "links", "all"), "pages": ("meta", "body", "path", "all"),
    "tags": ("name", "links", "all"),
    "site": ("claims", "speakers", "events", "sources", "tags", "pages", "all"),
}


def every_dep(keys: Iterable[str]) -> list[Dep]:
    """Every dependency on the objects of these keys."""
    return [f"{key}#{facet}" for key in keys for facet in _KIND_FACETS[key.partition("/")[0]]]
