"""The build, stage by stage: config -> load -> validate -> markup -> render -> write.

Each stage takes values and returns values; problems from all stages are
collected so one run reports everything, and nothing is written unless
there are no errors. A `Builder` keeps its caches between builds, so a
second build re-reads only changed files and re-renders only pages whose
deps changed; the CLI saves those caches in `.cache/` beside the config,
the preview keeps them in memory.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import marshal
import os
import sys
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import jinja2

from . import __version__
from .cache import (CACHE_FILE, CacheWriter, Caches, cache_dir_for, code_version, digest, load_caches,
                    save_caches)
from .config import SiteConfig, load_config
from .errors import BuildFailed, Location, Problems, display_path
from .loading import Listed, load_content
from .markup import Markdown
from .model import Claim, Entry, Site
from .output import (OutputError, Previous, Staging, WriteStats, Written, build_lock,
                     check_output_dir)
from .parallel import MIN_ITEMS, Hooks, in_thread, map_items
from .pages import Group, SiteMap, all_pages, plan_groups, replan
from .reads import Dep, Facets, context_key, entity_key
from .patch import ClaimPatch, Reread, body_edits, claim_edits, entries_by_path, reread
from .render import PageSpec, Renderer, compile_templates, make_environment
from .sealed import SealedBytecodeCache, try_user_key
from .structured import SearchIndex
from .urls import page_file
from .uptodate import Stamp, beside, is_current, load_stamp, save_stamp, take_inputs
from .validate import build_site


@dataclass
class BuildResult:
    config: SiteConfig | None
    site: Site | None
    problems: Problems
    files: dict[str, bytes | Previous] = field(default_factory=dict)
    pages: int = 0
    rendered: int = 0  # pages rendered this time (the rest were unchanged)
    changed: list[str] = field(default_factory=list)  # output paths whose bytes changed
    stats: WriteStats | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds (`--timings`)
    patched: bool = False  # a body-only edit, drawn on the last site (see patch.py)
    up_to_date: bool = False  # nothing changed since the last build (see uptodate.py)

    peaks: dict[str, int] = field(default_factory=dict)  # phase -> this process's peak RSS, KiB

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
            self.peaks[name] = _peak_rss_kib()


def _peak_rss_kib() -> int:
    """This process's peak resident memory so far (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def static_files(config: SiteConfig) -> dict[str, bytes]:
    folder = config.templates_dir / "static"
    if not folder.is_dir():
        return {}
    return {f"static/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def _templates_digest(config: SiteConfig) -> str:
    """Hash of the template files (static assets excluded: pages see only their hashes)."""
    h = hashlib.blake2b(digest_size=16)
    static = config.templates_dir / "static"
    for path in sorted(config.templates_dir.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and static not in path.parents:
            h.update(path.relative_to(config.templates_dir).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def _plan(site: Site) -> tuple[dict[Group, list[PageSpec]], SiteMap, list[PageSpec]]:
    """Every page of the site: by group, the sitemap, and all in order."""
    groups = plan_groups(site)
    site_map = SiteMap.of(groups)
    return groups, site_map, all_pages(groups, site_map)


class _Ahead(NamedTuple):
    """What a build made while its quotations were checked: the drawing's set-up
    (`Builder._setup`), and the plan of the site it hoped for (used if that is the site)."""
    setup: tuple[Any, ...]
    site: Site
    plan: tuple[dict[Group, list[PageSpec]], SiteMap, list[PageSpec]]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building: a build allocates
    hundreds of thousands of long-lived objects, and each full collection walks
    all of them (seconds at 10,000 claims). The collector is left as it was found
    (build.py keeps it off: its process ends after the build)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_REFUSED = "ignored what the build cache holds here: damaged, or not written by your builds"
_REFUSED_HINT = ("nothing to fix: the build did without it and wrote a new one "
                 "(files in .cache/ are only trusted when sealed by your own key; see factsite/sealed.py)")

# the context keys of the pages that show an entry's Markdown body (its own page)
_BODIES = ("claim", "speaker", "event", "page")


@dataclass
class _LastSite:
    """The last good site of a builder kept in memory, what a body-only edit patches."""
    config: SiteConfig
    site: Site
    problems: list[Any]  # warnings it had
    global_key: str
    renderer: Renderer
    groups: dict[Group, list[PageSpec]]  # the plan, by group (pages.py)
    sitemap: SiteMap  # updated in place by an edit that keeps every page's address
    pages: int  # how many pages the plan has
    facets: Facets  # the fingerprints of what pages read (reads.py), kept up to date by edits
    by_path: dict[str, Entry] | None = None
    specs: dict[str, PageSpec] | None = None  # the plan by output file (`Builder._reading`)


class Builder:
    """One site, built as often as needed, reusing whatever did not change."""

    def __init__(self, config_path: Path, *, output_dir: Path | None = None,
                 base_url: str | None = None, preview: bool = False, caches: Caches | None = None,
                 persistent: bool = False, listings: dict[str, list[Listed]] | None = None,
                 verify: bool = False, seal: bytes | None = None, code: str | None = None):
        self.config_path = config_path
        self.code = code if code is not None else code_version()  # what else shapes the pages
        # this user's key for what the build keeps in .cache/ (sealed.py); None: nothing kept
        self.seal = seal
        self.refused: list[Path] = []  # files in .cache/ not sealed right, passed over
        # every content file is read, and a cached entry used only if it has the file's bytes
        # (`check`, which must never vouch for content from a cache)
        self.verify = verify
        # the content folders as a walk listed them just before (`uptodate.take_inputs`): the
        # first build reads from these instead of walking again
        self._listings = listings
        self.persistent = persistent  # caches are saved to disk between processes
        self.output_dir, self.base_url, self.preview = output_dir, base_url, preview
        self.caches = caches if caches is not None else Caches()
        # called once worker processes are drawing a build's pages: work of the parent's
        # that can go on meanwhile (the CLI build writes the finished caches)
        self.while_rendering: Callable[[], None] | None = None
        self._md: tuple[bool, Any] | None = None
        # the search index: (what it shows, reduced to a key or None if not known; its bytes)
        self._search: tuple[Any, bytes, SearchIndex | None] | None = None
        self._files: dict[str, bytes] = {}  # the last good site's files (the preview)
        self._env: tuple[str, jinja2.Environment] | None = None
        # the last good site's pages (the preview): path -> (digest, bytes), to reuse unchanged ones
        self.memory: dict[str, tuple[str, bytes]] = {}
        self._last: _LastSite | None = None

    def _fingerprint(self, value: tuple[Any, ...]) -> Any:
        """What a page's output depends on, reduced to a key. Caches saved to disk need
        a stable hash; a builder kept in memory (the preview) uses Python's own, which is
        per process but much faster.

        The stable one digests the value's `marshal` bytes, format 2: it marks no shared or
        interned objects, so equal values give equal bytes. 0.16 s for a 10,000-claim site's
        21,450 pages, against 0.34 s through `repr`, which only values marshal refuses take
        (the sitemaps' dates)."""
        if self.persistent:
            try:
                data = marshal.dumps(value, 2)
            except ValueError:
                data = repr(value).encode()
            return digest(data)
        return hash(value)

    def _page_fingerprint(self, global_key: str, spec: PageSpec) -> Any:
        """What a page depends on besides what it read of the model (reads.py): the templates
        and config (`global_key`), and what its plan gave it."""
        return self._fingerprint((global_key, spec.template, spec.path, context_key(spec.context)))

    def _setup(self, config: SiteConfig) -> tuple[dict[str, bytes], dict[str, str] | None, str, bytes,
                                                  jinja2.Environment]:
        """What drawing pages needs besides the site: the static files, their digests (None in
        the preview), the templates' digest, the config's bytes, and the environment with
        its templates compiled (so that forked workers do not each compile them)."""
        static = static_files(config)
        hashes = None if self.preview else {
            path.removeprefix("static/"): digest(data) for path, data in static.items()}
        templates = _templates_digest(config)
        config_bytes = config.path.read_bytes()
        # the environment's globals hold this config: a config edit needs a new one
        env = self._environment(config, repr((templates, config_bytes, config.base_url, hashes)),
                                hashes)
        compile_templates(env)
        return static, hashes, templates, config_bytes, env

    def _environment(self, config: SiteConfig, key: str,
                     hashes: dict[str, str] | None) -> jinja2.Environment:
        if self._env is None or self._env[0] != key:
            env = make_environment(config, hashes)
            cache = cache_dir_for(self.config_path) / "jinja"
            try:
                if self.seal is not None:
                    cache.mkdir(parents=True, exist_ok=True)
                    # compiled code depends on factsite's own compiler (render._CodeGenerator)
                    # as well as on the template: other code's files are not picked up
                    env.bytecode_cache = SealedBytecodeCache(
                        cache, f"__factsite_{self.code[:12]}_%s.cache", self.seal)
            except OSError:
                pass  # no cache folder (read-only project): templates compile each run
            self._env = (key, env)
        return self._env[1]

    def _markdown(self, config: SiteConfig) -> Callable[[PageSpec], None]:
        """What fills in the Markdown bodies a page shows, just before the page is drawn.

        Bodies are rendered where their page is (in the render workers on a cold build),
        so the parent never holds 10,000 rendered bodies and no HTML is shipped back."""
        allow_html = config.markdown_html
        if self._md is None or self._md[0] != allow_html:
            self._md = (allow_html, Markdown(allow_html))
        md = self._md[1]

        def fill(spec: PageSpec) -> None:
            for key in _BODIES:
                entry = spec.context.get(key)
                if entry is not None and entry.body_html is None:
                    # claim notes sit under the page's "Context" h2, other bodies under its h1
                    entry.body_html = md.render(entry.body, heading_shift=1 if isinstance(entry, Claim) else 0)
        return fill

    def _stale_pages(self, specs: list[PageSpec], global_key: str, seen: set[str],
                     staging: Staging | None, emit: Callable[[str, bytes | Previous], None],
                     problems: Problems, changed: set[Dep] | None) -> list[tuple[PageSpec, str, Any]]:
        """Pages that must be drawn, with where they go and their fingerprints (None for a
        page not in the cache: the render worker works it out). A page is kept from the last
        output if its fingerprint is the same and none of what its last drawing read is in
        `changed` (see reads.py; None: not known, every page is drawn)."""
        pages_cache = self.caches.pages
        todo: list[tuple[PageSpec, str, Any]] = []
        for spec in specs:
            target = page_file(spec.path)
            if target in seen:
                problems.error(Location(spec.template), f"two pages would be written to /{target}",
                               "two entries produce the same address; rename one of them")
                continue
            seen.add(target)
            cached = pages_cache.get(target)
            if cached is None or changed is None:
                todo.append((spec, target, None))
                continue
            fingerprint = self._page_fingerprint(global_key, spec)
            if cached[0] == fingerprint and (not changed or changed.isdisjoint(cached[2])):
                kept = self.memory.get(target)
                if staging is None and kept is not None and kept[0] == cached[1]:
                    emit(target, kept[1])
                    continue
                if staging is not None and staging.reusable(target, cached[1]):
                    emit(target, Previous(cached[1]))
                    continue
            todo.append((spec, target, fingerprint))
        return todo

    def build(self, changed: set[str] | None = None, *,
              staging_for: Callable[[SiteConfig], Staging] | None = None) -> BuildResult:
        """Check and render the site. `changed` forces those files to be read again.

        Without `staging_for`, every file ends up in `result.files` (the preview).
        With it, files stream into the Staging it returns for the loaded config, and
        pages whose fingerprint did not change are taken from the previous output.
        """
        if changed:  # the fast paths compare absolute paths (the watcher gives those)
            changed = {os.path.abspath(path) for path in changed}
        try:
            return self._build_now(changed, staging_for)
        except BrokenProcessPool:
            self._last = None
            failed = Problems()
            failed.error(Location(display_path(self.config_path, Path.cwd())),
                         "a worker process of the build stopped unexpectedly (killed, or out of memory)",
                         "run the build again; if it happens again, check the machine's free memory")
            raise BuildFailed(failed) from None

    def _build_now(self, changed: set[str] | None,
                   staging_for: Callable[[SiteConfig], Staging] | None) -> BuildResult:
        with collector_paused():
            if changed and staging_for is None and self._last is not None:
                patched = self._patch(changed)
                if patched is not None:
                    return patched
            self._last = None  # until this build succeeds
            return self._build(changed, staging_for)

    def _patch(self, changed: set[str]) -> BuildResult | None:
        """Draw edits on the last site (see patch.py); None when the full build is needed."""
        last = self._last
        assert last is not None
        if last.by_path is None:
            last.by_path = entries_by_path(last.site)
        reads = reread(last.by_path, changed, Path.cwd())
        if not reads:
            return None
        edits = body_edits(reads)
        if edits:
            return self._patch_bodies(last, edits)
        claims = claim_edits(reads)
        return self._patch_claims(last, claims) if claims else None

    def _keep_reads(self, reads: list[tuple[Any, Any]]) -> None:
        """The file cache learns the files a patch read (raw entry, stamp), as the full
        build's reading would."""
        for raw, stamp in reads:
            self.caches.files[raw.path] = (stamp, raw, [])

    def _reading(self, last: _LastSite, changed: set[Dep]) -> list[PageSpec]:
        """The pages of the plan whose last drawing read a dependency that changed."""
        if last.specs is None:
            last.specs = {page_file(spec.path): spec for spec in all_pages(last.groups, last.sitemap)}
        specs = last.specs
        return [specs[target] for target, (_fp, _digest, deps) in self.caches.pages.items()
                if target in specs and not changed.isdisjoint(deps)]

    def _patch_bodies(self, last: _LastSite, edits: list[Any]) -> BuildResult:
        """Body-only edits: the pages that read those bodies are drawn again (an entry's own
        page, unless a template shows a body elsewhere too), nothing else."""
        started = time.perf_counter()
        self._last = None  # the model is being changed: if anything fails, rebuild it whole
        keys = {entity_key(edit.entry) for edit in edits}
        before = last.facets.snapshot(keys)
        for edit in edits:
            edit.apply()
        last.facets.forget(keys)
        changed = last.facets.changed_since(before)
        self._keep_reads([(edit.raw, edit.stamp) for edit in edits])
        last.renderer.memo_forget_reading(changed)
        result = self._redraw(last, self._reading(last, changed), set(), changed)
        self._last = last
        result.seconds = time.perf_counter() - started
        return result

    def _patch_claims(self, last: _LastSite, edits: list[Reread]) -> BuildResult | None:
        """Claims whose front matter changed: re-linked, and the page groups that show them
        planned and drawn again where their deps changed."""
        started = time.perf_counter()
        assert last.by_path is not None
        patch = ClaimPatch(last.site, self.caches, self.preview)
        if not patch.prepare(edits):
            return None
        self._last = None  # the model is being changed: if anything fails, rebuild it whole
        keys = patch.keys()
        before = last.facets.snapshot(keys)
        redo, stale, changed_entries = patch.apply()
        last.facets.forget(keys)
        changed = last.facets.changed_since(before)
        for new in patch.new.values():
            last.by_path[new.source_path] = new
        self._keep_reads([(raw, stamp) for _old, raw, stamp in edits])
        old_files = {page_file(spec.path) for spec in last.sitemap.specs}
        if patch.in_place:
            groups, moved = replan(last.site, last.groups, redo, patch.new)
            sitemap_changed = last.sitemap.update(groups, moved)
            # (a renamed tag puts its claims' own pages in `redo`: the edited ones as new claims;
            # a tag left without claims has no group any more)
            replanned = [key for key in redo | {("own", new) for new in patch.new.values()}
                         if key in groups]
            replaced_before = [key for key in redo if key in last.groups] + [("own", old) for old in patch.new]
        else:
            groups = plan_groups(last.site, keep=last.groups, redo=redo)
            last.sitemap, sitemap_changed = SiteMap.of(groups), True
            replanned = [key for key in groups if key in redo or key not in last.groups]
            replaced_before = [key for key in last.groups if key in redo or key not in groups]
        before = {page_file(spec.path) for key in replaced_before for spec in last.groups[key]}
        planned = [spec for key in replanned for spec in groups[key]]
        last.pages += len(planned) - sum(len(last.groups[key]) for key in replaced_before)
        gone = before - {page_file(spec.path) for spec in planned}
        # a spec kept from the last plan (see pages.paginate) is a page known to be unchanged
        kept = {id(spec) for key in replanned for spec in last.groups.get(key, ())}
        specs = [spec for spec in planned if id(spec) not in kept]
        # (a page added or gone can make the sitemap files more or fewer)
        new_files = {page_file(spec.path) for spec in last.sitemap.specs}
        gone |= old_files - new_files
        last.pages += len(new_files) - len(old_files)
        if sitemap_changed:
            specs += last.sitemap.specs
        last.groups, last.specs = groups, None
        last.renderer.forget(changed_entries)  # the claims replaced
        last.renderer.memo_forget_reading(changed)  # cards showing old counts or names
        drawn = {id(spec) for spec in specs}
        specs += [spec for spec in self._reading(last, changed) if id(spec) not in drawn]
        result = self._redraw(last, specs, gone, changed, search_stale={c.slug for c in stale})
        self._last = last
        result.seconds = time.perf_counter() - started
        return result

    def _redraw(self, last: _LastSite, specs: list[PageSpec], gone: set[str], changed: set[Dep],
                search_stale: set[str] | None = None) -> BuildResult:
        """Draw the pages of `specs` that changed (`changed`: what the edit changed of what
        pages read) onto the last site's files; the pages in `gone` are no longer planned."""
        problems = Problems(list(last.problems))
        result = BuildResult(last.config, last.site, problems, patched=True)
        files = dict(self._files)
        last.renderer.problems = problems
        fill = self._markdown(last.config)
        todo = self._stale_pages(specs, last.global_key, set(), None, lambda path, data: None, problems,
                                 changed)
        if problems.errors:
            raise BuildFailed(problems)
        table = self.caches.facets
        table.update(last.facets.table(changed))
        for spec, target, fingerprint in todo:
            fill(spec)
            data = last.renderer.render(spec)
            if data is None:
                raise BuildFailed(problems)
            hashed = digest(data)
            deps = tuple(sorted(last.renderer.deps))
            table.update(last.facets.table(dep for dep in deps if dep not in table))
            if fingerprint is None:  # (a page new to the plan)
                fingerprint = self._page_fingerprint(last.global_key, spec)
            self.caches.pages[target] = (fingerprint, hashed, deps)
            if self.memory.get(target, ("",))[0] != hashed:
                result.changed.append(target)
            self.memory[target] = (hashed, data)
            files[target] = data
            result.rendered += 1
        for path in sorted(gone):
            for table in (files, self.memory, self.caches.pages):
                table.pop(path, None)
            result.changed.append(path)
        if search_stale is not None and self._search is not None:
            index = self._search[2] or SearchIndex()
            data = index.build(last.site, search_stale)
            self._search = (None, data, index)  # the next full build works its key out again
            if files.get("search/index.json") != data:
                result.changed.append("search/index.json")
                files["search/index.json"] = data
        self._files = files
        result.files = files
        result.pages = last.pages
        return result

    def _build(self, changed: set[str] | None,
               staging_for: Callable[[SiteConfig], Staging] | None) -> BuildResult:
        started = time.perf_counter()
        problems = Problems()
        result = BuildResult(None, None, problems)
        config = load_config(self.config_path, problems, base_url=self.base_url,
                             output_dir=self.output_dir)
        if config is None:
            raise BuildFailed(problems)
        with result.phase("read"):
            raw = load_content(config.content_dir, problems, self.caches, changed, self._listings,
                               verify=self.verify)
            self._listings = None
        # made while the workers check quotations, when the parent mostly waits (at 10,000
        # claims it spent 0.45 s on one core after them): the drawing's set-up, and the plan
        # of the site as it is if every quotation is found
        ahead: list[_Ahead] = []

        def meanwhile(hoped: Site) -> None:
            ahead.append(_Ahead(self._setup(config), hoped, _plan(hoped)))

        with result.phase("check"):
            site = build_site(config, raw, problems, preview=self.preview, caches=self.caches,
                              meanwhile=meanwhile)
        result.config, result.site = config, site
        if problems.errors:
            raise BuildFailed(problems)

        static, hashes, templates, config_bytes, env = ahead[0].setup if ahead else self._setup(config)
        if isinstance(env.bytecode_cache, SealedBytecodeCache):
            self.refused.extend(env.bytecode_cache.refused)
            env.bytecode_cache.refused.clear()
        renderer = Renderer(env, site, problems)
        # what every page depends on, digested once: in each page's fingerprint the config
        # file's text was repr'd again, two thirds of a 10,000-claim plan (0.6 of 0.9 s)
        global_key = digest(repr((__version__, templates, hashes, config_bytes, config.base_url,
                                  self.preview)).encode())
        facets = Facets(site)
        staging = staging_for(config) if staging_for is not None else None

        def emit(path: str, data: bytes | Previous | Written) -> None:
            if staging is not None:
                staging.put(path, data)
            else:
                result.files[path] = data

        seen: set[str] = set()
        for path, data in static.items():
            emit(path, data)
            seen.add(path)
        with result.phase("plan"):
            groups, site_map, specs = ahead[0].plan if ahead and ahead[0].site is site else _plan(site)
            # what changed of what the last build's pages read (None: that is not known)
            # (pages kept with no table are from a cache that lost it: drawn again)
            known = self.caches.facets or not self.caches.pages
            changed = facets.changed_since(self.caches.facets) if known else None
            todo = self._stale_pages(specs, global_key, seen, staging, emit, problems, changed)
        pages_cache = self.caches.pages
        fill = self._markdown(config)

        # many pages: the workers that draw them write them too (the parent only records)
        writer = staging if staging is not None and len(todo) >= MIN_ITEMS else None
        if writer is not None:
            writer.prepare()

        # a site kept to be patched (the preview) takes in the cards its workers drew
        parent, share_memo = os.getpid(), staging is None

        def render(job: tuple[PageSpec, str, Any]) -> tuple[bytes | Written | Previous | None, list[Any], Any, Any]:
            spec, target, fingerprint = job
            if fingerprint is None:
                fingerprint = self._page_fingerprint(global_key, spec)
            before = len(problems.items)
            fill(spec)
            in_worker = share_memo and os.getpid() != parent
            if in_worker:
                renderer.record_drawn()
            data = renderer.render(spec)
            drawn = renderer.drawn() if in_worker else None
            read = (fingerprint, tuple(sorted(renderer.deps)))  # (the parent keeps them for the next build)
            if data is not None and writer is not None:
                for key in _BODIES:
                    if (entry := spec.context.get(key)) is not None:
                        entry.body_html = None
                return writer.write(target, data), problems.items[before:], drawn, read
            return data, problems.items[before:], drawn, read

        def fill_chunk(jobs: list[tuple[PageSpec, str, Any]]) -> None:
            for spec, _target, _fingerprint in jobs:
                fill(spec)
            renderer.recorder.install()  # (for the chunk's pages, see Recorder.install)

        def chunk_done() -> None:
            renderer.recorder.uninstall()
            if writer is not None:
                writer.flush()

        # a chunk's Markdown bodies first, then its pages, then its files (render workers
        # write the pages): at 10,000 claims, 8,000 pages in one process took 3.36 CPU-s
        # body, page and file by turns, 2.98 with bodies first (and 2.94 by 256 pages)
        hooks = Hooks(fill_chunk, chunk_done)

        # work of the parent's own while workers draw the pages: started once they run (a
        # thread started before they are forked would be copied half-way)
        meanwhile = writer is not None
        search: Future | None = None
        try:
            with result.phase("markdown+render+write"):
                for i, (data, found, drawn, (fingerprint, deps)) in map_items(render, todo, hooks=hooks):
                    if meanwhile:
                        meanwhile = False
                        if self.while_rendering is not None:
                            self.while_rendering()
                        # (0.25 s at 10,000 claims, which the parent spent after the pages)
                        search = in_thread(lambda: self._search_index(site, config_bytes),
                                           "factsite-search-index")
                    if drawn:
                        renderer.adopt(drawn)
                    target = todo[i][1]
                    result.rendered += 1
                    self.caches.dirty = True
                    if data is None:
                        problems.items.extend(found)  # duplicates (in one process) dropped below
                        continue
                    pages_cache[target] = (fingerprint, digest(data) if isinstance(data, bytes) else data.digest,
                                           tuple(map(sys.intern, deps)))
                    kept = self.memory.get(target)
                    if kept is None or kept[0] != pages_cache[target][1]:
                        result.changed.append(target)
                    if not problems.errors:
                        emit(target, data)
        except BaseException:
            if search is not None:
                search.exception()  # not left running (and writing to the caches) after a failure
            raise
        with result.phase("search"):
            emit("search/index.json", search.result() if search is not None
                 else self._search_index(site, config_bytes))
        seen.add("search/index.json")
        problems.items = list(dict.fromkeys(problems.items))
        if problems.errors:
            raise BuildFailed(problems)
        for stale in set(pages_cache) - seen:
            del pages_cache[stale]
        with result.phase("reads"):  # (the fingerprints of what the pages read, for the next build)
            self.caches.facets = facets.table({dep for _fp, _digest, deps in pages_cache.values() for dep in deps})
        result.pages = len(specs)
        if staging is None:
            self._last = _LastSite(config, site, list(problems.items), global_key, renderer, groups,
                                   site_map, len(specs), facets)
        result.seconds = time.perf_counter() - started
        return result

    def _search_index(self, site: Site, config_bytes: bytes) -> bytes:
        """The index shows front matter, slugs and verdict labels only: rebuilt when one of
        them (or the config) changed."""
        key = self._fingerprint((config_bytes, site.config.base_url,
                                 tuple((e.slug, e.meta_digest) for group in (site.claims, site.speakers,
                                                                              site.events, site.sources)
                                       for e in group)))
        if self._search is None or self._search[0] != key:
            saved = self.caches.search
            if self.persistent and saved is not None and saved[0] == key:
                # a CLI build after a body edit: the index of the last build (0.2 s at 10,000 claims)
                self._search = (key, saved[1], None)
            else:
                index = SearchIndex()
                # only the preview edits claims into a built site; a CLI build keeps no records
                self._search = (key, index.build(site), None if self.persistent else index)
                if self.persistent:
                    self.caches.search = (key, self._search[1])
                    self.caches.dirty = True
        return self._search[1]

    @property
    def has_site(self) -> bool:
        """Is a last good site kept (to draw edits on)? A full build lets it go first."""
        return self._last is not None

    def remember(self, result: BuildResult) -> None:
        """Keep the result's bytes as the last good site (the preview serves these)."""
        if result.patched:
            return  # `_patch` updated the memory itself
        self._files = {path: data for path, data in result.files.items() if isinstance(data, bytes)}
        pages = self.caches.pages
        self.memory = {path: (pages[path][1], data) for path, data in self._files.items() if path in pages}


def build(config_path: Path, *, output_dir: Path | None = None, base_url: str | None = None,
          preview: bool = False, write: bool = True, use_cache: bool = True) -> BuildResult:
    """The whole build, as the CLI runs it. Raises BuildFailed (with every problem) on any error."""
    started = time.perf_counter()
    cache_folder = cache_dir_for(config_path, output_dir, preview)
    code = code_version()
    cache_key = repr((code, preview, base_url, str(output_dir)))
    notes = Problems()  # about the cache, given with the build's own problems
    seal = _seal_for(cache_folder, use_cache, notes)
    inputs, listings = None, None
    if seal is not None and write:
        config = load_config(config_path, Problems(), base_url=base_url, output_dir=output_dir)
        if config is not None:  # else the full build reports why
            inputs, listings = take_inputs(config_path, [config.content_dir, config.templates_dir], cache_key,
                                           cache_folder)
            stamp = load_stamp(cache_folder, seal, code)
            if is_current(stamp, inputs, config.output_dir):
                assert stamp is not None
                seconds = time.perf_counter() - started
                return BuildResult(config, None, Problems(list(stamp.problems)), pages=stamp.pages,
                                   stats=WriteStats(unchanged=stamp.files, bytes=stamp.bytes),
                                   seconds=seconds, timings={"up-to-date check": seconds},
                                   up_to_date=True)
    loaded = time.perf_counter()
    caches = _saved_caches(cache_folder, cache_key, seal, notes)
    loaded = time.perf_counter() - loaded
    builder = Builder(config_path, output_dir=output_dir, base_url=base_url, preview=preview,
                      caches=caches, persistent=use_cache, listings=listings, verify=not write,
                      seal=seal, code=code)
    listings = None  # (the builder's, until it has read from them)
    writer = CacheWriter(cache_folder, cache_key, caches, seal) if seal is not None else None
    if writer is not None:
        caches.sink = writer.stream
        builder.while_rendering = writer.start_early
    finishing: list[Callable[[], list[str]]] = []  # output work that goes on meanwhile
    try:
        try:
            result = _build_and_commit(builder, config_path, write, cache_folder, inputs, finishing,
                                       cache=writer)
        except _OutOfSpace:
            # the cache being written took space the site needed: the build again without it
            assert writer is not None
            writer.abort()
            writer = caches.sink = builder.while_rendering = None
            notes.warning(Location(display_path(cache_folder / CACHE_FILE, Path.cwd())),
                          _NOT_SAVED + "the disk is full, and the site comes first", _NOT_SAVED_HINT)
            result = _build_and_commit(builder, config_path, write, cache_folder, inputs, finishing)
        result.timings["cache load"] = loaded
        # (after the up-to-date stamp is saved: a later build does not repeat them)
        result.problems.items[:0] = _cache_notes(notes, builder.refused).items
        if writer is not None and caches.dirty:  # a build that read and rendered nothing has nothing to save
            try:
                with collector_paused(), result.phase("cache save"):
                    save_caches(cache_folder, cache_key, caches, writer.seal, writer)
            except OSError as exc:  # the site is built all the same; the next build is slower
                result.problems.warning(Location(display_path(cache_folder / CACHE_FILE, Path.cwd())),
                                        _NOT_SAVED + (exc.strerror or str(exc)), _NOT_SAVED_HINT)
        elif writer is not None:
            writer.abort()
    except BaseException as failed:
        if writer is not None:
            writer.abort()  # a failed build saves no caches
        if isinstance(failed, BuildFailed):
            failed.problems.items[:0] = _cache_notes(notes, builder.refused).items
        raise
    finally:
        left = [failure for finish in finishing for failure in finish()]
    if left and result.config is not None:
        out = result.config.output_dir
        more = f" (and {len(left) - 1} more)" if len(left) > 1 else ""
        result.problems.warning(Location(str(out)), f"the last output could not be removed "
                                f"entirely: {left[0]}{more}",
                                f"delete the hidden {beside(out, 'staging-*').name} folder next "
                                "to the output by hand; the next build tries again")
    result.seconds = time.perf_counter() - started
    return result


def _seal_for(cache_folder: Path, use_cache: bool, notes: Problems) -> bytes | None:
    """This user's key for the caches (sealed.py); None, with a warning if it cannot be had."""
    if not use_cache:
        return None
    seal, why_not = try_user_key()
    if why_not is not None:
        notes.warning(Location(display_path(cache_folder, Path.cwd())),
                      f"the build cache is off: {why_not}",
                      "builds work without it, only slower; set XDG_CACHE_HOME to a folder "
                      "you can write to for its key")
    return seal


def _saved_caches(cache_folder: Path, cache_key: str, seal: bytes | None, notes: Problems) -> Caches:
    """The last build's caches, if they are this user's and whole (else a warning)."""
    if seal is None:
        return Caches()
    with collector_paused():  # unpickling the caches allocates as much as a build
        caches, refused = load_caches(cache_folder, cache_key, seal)
    if refused is not None:
        notes.warning(Location(display_path(cache_folder / CACHE_FILE, Path.cwd())),
                      f"{_REFUSED} ({refused})", _REFUSED_HINT)
    return caches


def _cache_notes(notes: Problems, templates: list[Path]) -> Problems:
    """`notes`, and a warning for the compiled templates passed over if there were any."""
    if templates:
        where = display_path(templates[0].parent, Path.cwd())
        notes.warning(Location(where), f"{_REFUSED} ({len(templates)} compiled templates, "
                      f"{display_path(templates[0], Path.cwd())} the first)", _REFUSED_HINT)
    return notes


class _OutOfSpace(Exception):
    """The output could not be written for want of disk space while a cache was written."""


_FULL = (errno.ENOSPC, errno.EDQUOT)
_NOT_SAVED = "the build cache was not saved: "
_NOT_SAVED_HINT = ("the site was built; free some disk space so that the next build can keep its "
                   "cache (without it a build reads and draws everything again)")


def _write_failure(exc: OSError | OutputError, where: Path, problems: Problems,
                   cache: CacheWriter | None) -> Exception:
    """What to raise for an output that could not be written: _OutOfSpace (see
    `_build_and_commit`), or BuildFailed with the problem added to `problems`."""
    full = isinstance(exc, OSError) and exc.errno in _FULL
    if full and cache is not None and cache.opened:
        return _OutOfSpace()
    hint = "the disk is full: free some space, then build again" if full else \
        "check the output folder's permissions and free space"
    problems.error(Location(str(where)), getattr(exc, "message", None) or f"cannot write: {exc}",
                   getattr(exc, "hint", None) or hint)
    return BuildFailed(problems)


def _build_and_commit(builder: Builder, config_path: Path, write: bool, cache_folder: Path,
                      inputs: str | None, finishing: list[Callable[[], list[str]]],
                      cache: CacheWriter | None = None) -> BuildResult:
    """The build into a staging folder (with `write`), committed as the output; what the
    commit leaves to finish (the last output's removal) goes on `finishing`. When the disk
    fills up while `cache` (being written) holds some of it, this raises _OutOfSpace (the
    caller frees that space and builds again) instead of failing."""
    with ExitStack() as stack:
        opened: list[Staging] = []

        def staging_for(config: SiteConfig) -> Staging:
            out = config.output_dir
            try:
                check_output_dir(out, [config.root, config.content_dir, config.templates_dir,
                                       Path.cwd()], inside=[config.content_dir, config.templates_dir])
                stack.enter_context(build_lock(out))
            except (OutputError, OSError) as exc:
                failed = Problems()
                failed.error(Location(str(out)), getattr(exc, "message", None) or
                             f"cannot use the output folder: {exc}",
                             getattr(exc, "hint", None) or "choose an output folder you can write to")
                raise BuildFailed(failed) from None
            staging = Staging(out)
            stack.callback(staging.abort)
            opened.append(staging)
            return staging

        try:
            result = builder.build(staging_for=staging_for if write else None)
        except (OutputError, OSError) as exc:
            where = config_path if not opened else opened[0].out_dir
            raise _write_failure(exc, where, Problems(), cache) from None
        if opened:
            try:
                # (the manifest's 21,000 entries would set off full collections over the
                # whole model: 0.4 of 0.6 s at 10,000 claims)
                with collector_paused(), result.phase("commit"):
                    result.stats = opened[0].commit()
                finishing.append(opened[0].wait)
            except (OutputError, OSError) as exc:
                raise _write_failure(exc, opened[0].out_dir, result.problems, cache) from None
            # still holding the output folder's lock, so no other build's files get stamped
            stamps = opened[0].stamps
            if inputs is not None and stamps is not None and result.stats is not None \
                    and builder.seal is not None:
                save_stamp(cache_folder, Stamp(inputs, stamps, list(result.problems.items),
                                               result.pages, len(opened[0].new), result.stats.bytes),
                           builder.seal, builder.code)
    return result
