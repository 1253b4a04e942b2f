"""Jinja rendering: one environment per site configuration, pages rendered to bytes.

Autoescape is on for HTML and XML, undefined variables are errors, and a
template mistake becomes a Problem at the template's own file and line.
"""

from __future__ import annotations

import datetime
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.compiler
import markupsafe
from markupsafe import Markup

try:  # markupsafe's C escaping, without the Markup wrapper (private: checked for, not assumed;
    # MarkupSafe 3.0 has it, 2.x not: tests/test_escaping.py holds both to markupsafe.escape)
    from markupsafe._speedups import _escape_inner as _escape_text
    _FAST_ESCAPE = True
except ImportError:
    _FAST_ESCAPE = False

    def _escape_text(text: str) -> str:
        return str(markupsafe.escape(text))

from .config import SiteConfig
from .errors import Location, Problems, display_path
from .reads import Dep, Recorder
from .structured import claim_review, script_json
from .urls import absolute

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


@dataclass
class PageSpec:
    """One output file: where it goes, which template draws it, with what."""
    path: str  # site-relative: 'claims/x/' (a folder, index.html inside) or 'feed.xml'
    template: str
    context: dict[str, Any] = field(default_factory=dict)  # (what it reads of it: reads.py)


def format_date(value: Any) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def time_tag(value: Any) -> Markup:
    return Markup(f'<time datetime="{value.isoformat()}">{format_date(value)}</time>')


def _site_filter(function: Any) -> Any:
    """`x|url` for `url(x)`. The filter takes the context, which keeps Jinja from working
    out `''|url` when it compiles a template: compiled code is cached on disk for every
    base path and asset version."""
    return jinja2.pass_context(lambda _context, value: function(value))


def escape_output(value: Any) -> str:
    """markupsafe.escape as a str, for what a template outputs.

    Jinja's compiled templates call `escape` on each `{{ }}` they output, and only
    join the results; markupsafe's wraps each in a Markup object, which is 15% of
    drawing a page. The text is the same."""
    kind = type(value)
    if kind is str:
        return _escape_text(value)
    if kind is Markup:  # a macro's output, a time tag: safe already, and only joined
        return value
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return _escape_text(str(value))


def marked(parts: Any) -> Markup:
    """Segments (a passage, a wording) as HTML: each marked one in <mark>. A filter, not a
    macro: a claim page shows two or three, and a macro call costs ~8 us in Jinja."""
    return Markup("".join(f"<mark>{_escape_text(part.text)}</mark>" if part.marked else _escape_text(part.text)
                          for part in parts))


class _Template(jinja2.Template):
    """A template whose output escaping is `escape_output` (compiled code looks the
    name `escape` up in its module, which is this namespace)."""

    @classmethod
    def _from_namespace(cls, environment: jinja2.Environment, namespace: Any, globals: Any) -> Any:
        namespace["escape"] = escape_output
        return super()._from_namespace(environment, namespace, globals)


class _Context(jinja2.runtime.Context):
    """A context whose calls of macros and `memo` go straight to them.

    Jinja sends every call in a template through `Context.call`, which first looks on the
    callee for a `pass_context` mark (two attribute lookups, each missing); 400,000 calls
    over a 10,000-claim site. Macros and the memo never carry one, so they are called as
    `Context.call` would call them, the loop and block variables it is given dropped;
    anything else takes Jinja's own path. (1k corpus, all pages, one process: -6 %.)"""

    @jinja2.utils.internalcode
    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's names)
        if type(__obj) in _DIRECT_CALLS:
            if kwargs:
                kwargs.pop("_block_vars", None)
                kwargs.pop("_loop_vars", None)
            try:
                return __obj(*args, **kwargs)
            except StopIteration:  # as Context.call turns it
                return __self.environment.undefined("value was undefined because a callable "
                                                    "raised a StopIteration exception")
        return super().call(__obj, *args, **kwargs)


class _CodeGenerator(jinja2.compiler.CodeGenerator):
    """Compiles `x.name` to Python's own getattr first, and Jinja's only when that finds
    nothing: `environment.getattr` (attribute, else item, else undefined) is a Python call
    for each of ~2.5 million lookups over a 10,000-claim site, where the builtin's default
    costs none. The object is evaluated once, into a temporary; what a template sees is
    unchanged, mistakes included (all pages of the 1k corpus, one process: -7 %)."""

    @jinja2.compiler.optimizeconst
    def visit_Getattr(self, node: Any, frame: Any) -> None:
        if self.environment.is_async:
            return super().visit_Getattr(node, frame)
        obj, value = self.temporary_identifier(), self.temporary_identifier()
        self.write(f"({value} if ({value} := getattr(({obj} := ")
        self.visit(node.node, frame)
        self.write(f"), {node.attr!r}, missing)) is not missing "
                   f"else environment.getattr({obj}, {node.attr!r}))")
        return None


# The Jinja internals `_CodeGenerator`, `_Context` and `_Template` lean on. pyproject bounds
# Jinja to the minor version they are tested with (the lowest and the newest allowed, in CI);
# should one be missing all the same, Jinja's own classes draw the pages, only slower.
JINJA_INTERNALS = (hasattr(jinja2.compiler.CodeGenerator, "temporary_identifier")
                   and hasattr(jinja2.Template, "_from_namespace")
                   and hasattr(jinja2.runtime.Context, "call"))


class _Environment(jinja2.Environment):
    """Templates' globals as one plain dict instead of a ChainMap over the environment's.

    Each page copies its template's globals into a new context (`dict(globals)`, `set(globals)`)
    and each `{% import %}` compares key sets with them; over a ChainMap those run in Python,
    ~40 us a page. The globals are set before any template is loaded and never changed
    (as Jinja's documentation asks), so a snapshot holds the same values. Its contexts
    are `_Context`s and its compiler `_CodeGenerator`."""

    context_class = _Context
    code_generator_class = _CodeGenerator

    def make_globals(self, d: Any) -> Any:
        return {**self.globals, **(d or {})}


def make_environment(config: SiteConfig, static_hashes: dict[str, str] | None) -> jinja2.Environment:
    """`static_hashes` version asset URLs for caches; None (the preview) leaves them bare,
    so a stylesheet edit changes no page and can be swapped in without a reload."""
    env = (_Environment if JINJA_INTERNALS else jinja2.Environment)(
        loader=jinja2.FileSystemLoader(str(config.templates_dir.resolve())),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        cache_size=-1,  # a plain dict: the LRU's locking and reordering ran on each lookup
    )
    base = config.base_path

    def url(target: Any) -> str:
        """Root-relative URL of an entry, a section path ('claims/'), or '' for home."""
        path = target if isinstance(target, str) else target.url
        return base + path

    def static(name: str) -> str:
        if static_hashes is None:
            return f"{base}static/{name}"
        return f"{base}static/{name}?v={static_hashes.get(name, '0')[:10]}"

    origin = absolute(config.base_url, "")  # 'https://example.org', worked out once

    def full_url(target: Any) -> str:
        """The absolute URL of what `url` gives, for feeds and the sitemap."""
        return origin + url(target)

    env.globals.update(config=config, url=url, static=static, memo=Memo(), absolute=full_url,
                       claim_review=lambda claim: claim_review(config, claim))
    env.filters["date"] = format_date
    env.filters["time_tag"] = time_tag
    env.filters["marked"] = marked
    for name, function in (("url", url), ("absolute", full_url), ("static", static)):
        env.filters[name] = _site_filter(function)
    env.filters["script_json"] = script_json
    if _FAST_ESCAPE and JINJA_INTERNALS:  # (else Jinja's own escaping: the same text)
        env.template_class = _Template
    return env


def compile_templates(env: jinja2.Environment) -> None:
    """Compile every template in the environment's folder (its static assets aside) now, so
    that the processes forked from this one find them compiled: each render worker compiled
    them all for itself, 0.09 CPU-s. One that does not compile is left to the pages that
    use it, which report it at its line (see `Renderer.render`)."""
    for name in env.list_templates(extensions=("html", "xml", "txt", "json")):
        if name.split("/", 1)[0] == "static":
            continue
        try:
            env.get_template(name)
        except Exception:  # noqa: BLE001 (whatever it is, a page drawn with it reports it)
            continue


_PLAIN = (str, int, float, bool, type(None), datetime.date)  # memo arguments that are values
_SITE = ("site",)  # the site, as a memo argument that another process can take


class Memo:
    """`{{ memo(m.claim, c) }}`: a macro's output, drawn once per build for the same
    arguments. A claim's card appears on eight pages or so (lists, its speaker's, its
    event's, its sources', its tags') and the site header on every page; drawing them
    once cut the rendering time of a 1,000-claim site by 41 % (1.65 to 0.98 s, one core).
    Macros see only their arguments and the globals, so equal arguments give equal output;
    entries compare by identity. What the macro read of the model (reads.py) is kept with
    its output and counted as read by every page that reuses it.

    One per environment, emptied by each build's Renderer: Jinja copies the globals into
    a template module when it is first imported, so a new object per build would leave
    `macros.html` calling the first one, which kept every build's model alive."""

    def __init__(self) -> None:
        self._table: dict[tuple[Any, ...], tuple[Any, frozenset[str]]] = {}  # key -> (output, deps)
        # the keys by each of their arguments that is an object (an entry, the site), so
        # `forget` does not scan 50,000 keys
        self._keys_of: dict[Any, set[tuple[Any, ...]]] = {}
        self._drawn: list[tuple[Any, ...]] | None = None  # keys drawn since `take_drawn`, if kept
        self.recorder: Recorder | None = None  # the drawing pages' (set by the Renderer)

    def reset(self) -> None:
        self._table, self._keys_of = {}, {}
        self._drawn = None

    def _put(self, key: tuple[Any, ...], output: Any, deps: frozenset[str]) -> None:
        self._table[key] = (output, deps)
        for arg in key[1]:
            if not isinstance(arg, _PLAIN):
                self._keys_of.setdefault(arg, set()).add(key)

    def record(self) -> None:
        """Keep the keys of what is drawn from now on, for `take_drawn`."""
        if self._drawn is None:
            self._drawn = []

    def take_drawn(self) -> list[tuple[tuple[Any, ...], Any, frozenset[str]]]:
        """What was drawn since the last call (while recording), as (key, output, deps)."""
        keys = self._drawn or []
        if self._drawn is not None:
            self._drawn = []
        return [(key, *self._table[key]) for key in keys if key in self._table]

    def adopt(self, drawn: list[tuple[tuple[Any, ...], Any, frozenset[str]]]) -> None:
        for key, output, deps in drawn:
            if key not in self._table:
                self._put(key, output, deps)

    def forget(self, objects: set[Any]) -> None:
        """Drop what was drawn for any of these objects (entries a claim edit replaced)."""
        for obj in objects:
            for key in self._keys_of.pop(obj, ()):
                self._table.pop(key, None)
                for arg in key[1]:  # (no key may keep a forgotten entry alive)
                    if arg is not obj and not isinstance(arg, _PLAIN):
                        self._keys_of.get(arg, set()).discard(key)

    def forget_reading(self, changed: set[str]) -> None:
        """Drop what was drawn from a dependency that changed (a card showing a count)."""
        stale = [key for key, (_output, deps) in self._table.items() if not changed.isdisjoint(deps)]
        for key in stale:
            del self._table[key]

    def __call__(self, macro: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            key = (macro, args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:  # a list or dict argument: not worth a key
            return macro(*args, **kwargs)
        recorder = self.recorder
        found = self._table.get(key)
        if found is not None:
            if recorder is not None:
                recorder.reads.extend(found[1])
            return found[0]
        deps: frozenset[str]
        if recorder is None:
            output, deps = macro(*args, **kwargs), frozenset()
        else:
            start = len(recorder.reads)
            output = macro(*args, **kwargs)
            deps = recorder.deps(recorder.reads[start:])
        self._put(key, output, deps)
        if self._drawn is not None:
            self._drawn.append(key)
        return output


_DIRECT_CALLS = (jinja2.runtime.Macro, Memo)  # what `_Context.call` calls straight


class Renderer:
    def __init__(self, env: jinja2.Environment, site: Any, problems: Problems):
        self.env, self.site, self.problems = env, site, problems
        self.templates_dir = Path(env.loader.searchpath[0])  # type: ignore[union-attr]
        self._macros: dict[str, Any] | None = None
        self._entries: dict[str, Any] | None = None  # the site's entries by address, for `adopt`
        self.recorder = Recorder()
        self.deps: frozenset[Dep] = frozenset()  # what the last page drawn read (see reads.py)
        memo = self._memo()
        if memo is not None:
            memo.recorder = self.recorder
        self.forget()  # a new build: a new model, nothing drawn yet

    def _memo(self) -> Memo | None:
        memo = self.env.globals.get("memo")
        return memo if isinstance(memo, Memo) else None

    def forget(self, objects: set[Any] | None = None) -> None:
        """Drop what `memo()` drew (for `objects` only, if given): the model changed."""
        memo = self._memo()
        self.recorder.clear()
        if memo is not None:
            if objects is None:
                memo.reset()
            else:
                memo.forget(objects)

    def memo_forget_reading(self, changed: set[Dep]) -> None:
        """Drop what `memo()` drew from dependencies that changed."""
        memo = self._memo()
        if memo is not None and changed:
            memo.forget_reading(changed)

    def _macros_by_name(self) -> dict[str, Any]:
        """The macros of macros.html, which the memo keys of cards and headers name."""
        if self._macros is None:
            try:
                module = self.env.get_template("macros.html").module
            except jinja2.TemplateError:
                module = None
            self._macros = {name: value for name, value in vars(module).items()
                            if isinstance(value, jinja2.runtime.Macro)} if module is not None else {}
        return self._macros

    # What a forked worker draws with `memo()` can go back to the parent: the preview keeps
    # its site to redraw after edits, and a verdict edit redraws ~100 list pages of cards
    # that the parent would otherwise draw afresh (1 ms a page instead of 0.26).

    def record_drawn(self) -> None:
        """From now on keep what `memo()` draws, for `drawn`."""
        memo = self._memo()
        if memo is not None:
            memo.record()

    def drawn(self) -> list[tuple[Any, ...]]:
        """What `memo()` drew since the last call, in a form another process of this build
        takes in (`adopt`): macros of macros.html by name, entries by address, plain values
        as they are; anything else is left out (the other process draws it if needed)."""
        memo = self._memo()
        if memo is None:
            return []
        macros = self._macros_by_name()
        out = []
        for (macro, args, kwargs), output, deps in memo.take_drawn():
            name = getattr(macro, "name", None)
            values = [*args, *(value for _, value in kwargs)]
            if macros.get(name) is not macro or not all(
                    isinstance(v, _PLAIN) or v is self.site or isinstance(getattr(v, "url", None), str)
                    for v in values):
                continue
            portable = tuple(_SITE if v is self.site else v if isinstance(v, _PLAIN) else ("entry", v.url)
                             for v in values)
            out.append((name, portable[:len(args)], tuple(k for k, _ in kwargs), portable[len(args):],
                        str(output), deps))
        return out

    def adopt(self, drawn: list[tuple[Any, ...]]) -> None:
        """Take in what `drawn` gave in a worker of this build."""
        memo = self._memo()
        if memo is None:
            return
        if self._entries is None:
            site = self.site
            self._entries = {e.url: e for group in (site.claims, site.speakers, site.events, site.sources,
                                                    site.tags, site.pages) for e in group}
        macros, entries = self._macros_by_name(), self._entries
        keys = []
        for name, args, names, values, output, deps in drawn:
            macro = macros.get(name)
            if macro is None:
                continue
            try:
                back = [self.site if v == _SITE else entries[v[1]] if isinstance(v, tuple) else v
                        for v in (*args, *values)]
            except KeyError:
                continue
            keys.append(((macro, tuple(back[:len(args)]), tuple(zip(names, back[len(args):]))),
                         Markup(output), deps))
        memo.adopt(keys)

    def render(self, spec: PageSpec) -> bytes | None:
        """The page's bytes (None if its template failed, reported); what it read of the
        model is then in `deps`."""
        try:
            template = self.env.get_template(spec.template)
            self.recorder.reads.clear()  # (reads between pages, while installed for a chunk)
            with self.recorder.on():
                html = template.render(site=self.site, page_path=spec.path, **spec.context)
        except jinja2.TemplateSyntaxError as exc:
            self._report(exc.filename or spec.template, exc.lineno, f"template syntax error: {exc.message}",
                         "fix the tag at this line; every {% block %}/{% if %}/{% for %} needs its end tag")
            return None
        except jinja2.TemplateNotFound as exc:
            self._report(spec.template, 0, f"template not found: {exc.name}",
                         f"create {exc.name} in {self.templates_dir}")
            return None
        except Exception as exc:  # a runtime error inside a template
            filename, line = self._template_frame(exc)
            hint = ("the variable does not exist here; check its spelling or pass it from the page"
                    if isinstance(exc, jinja2.UndefinedError) else "check the expression at this line")
            self._report(filename or spec.template, line,
                         f"template error while rendering /{spec.path}: {exc}", hint)
            return None
        finally:
            self.deps = self.recorder.take()
        return html.encode("utf-8")

    def _template_frame(self, exc: BaseException) -> tuple[str | None, int]:
        """The innermost traceback frame that belongs to a template file."""
        found: tuple[str | None, int] = (None, 0)
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename and frame.filename.endswith((".html", ".xml", ".txt", ".json")):
                found = (frame.filename, frame.lineno or 0)
        return found

    def _report(self, filename: str, line: int | None, message: str, hint: str) -> None:
        path = Path(filename)
        if not path.is_absolute():
            path = self.templates_dir / filename
        self.problems.error(Location(display_path(path, Path.cwd()), line or 0), message, hint)
