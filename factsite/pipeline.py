"""The build, stage by stage: config -> load -> validate -> markup -> render -> write.

Each stage takes values and returns values; problems from all stages are
collected so one run reports everything, and nothing is written unless
there are no errors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .config import SiteConfig, load_config
from .errors import BuildFailed, Location, Problems
from .loading import load_content
from .markup import make_markdown, render_markdown
from .model import Site
from .output import OutputError, WriteStats, build_lock, check_output_dir, write_site
from .pages import plan_pages
from .render import Renderer, make_environment
from .structured import search_index
from .urls import page_file
from .validate import build_site


@dataclass
class BuildResult:
    config: SiteConfig | None
    site: Site | None
    problems: Problems
    files: dict[str, bytes] = field(default_factory=dict)
    pages: int = 0
    stats: WriteStats | None = None
    seconds: float = 0.0


def load_and_check(config_path: Path, problems: Problems, *, preview: bool = False,
                   base_url: str | None = None, output_dir: Path | None = None
                   ) -> tuple[SiteConfig | None, Site | None]:
    """Config, content and every cross-file check; no rendering, no writing."""
    config = load_config(config_path, problems, base_url=base_url, output_dir=output_dir)
    if config is None:
        return None, None
    raw = load_content(config.content_dir, config.root, problems)
    site = build_site(config, raw, problems, preview=preview)
    return config, site


def render_markup(site: Site) -> None:
    md = make_markdown()
    for entries in (site.claims, site.speakers, site.events, site.pages):
        for entry in entries:
            entry.body_html = render_markdown(md, entry.body, heading_shift=1)


def static_files(config: SiteConfig) -> dict[str, bytes]:
    folder = config.templates_dir / "static"
    if not folder.is_dir():
        return {}
    return {f"static/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def render_site(config: SiteConfig, site: Site, problems: Problems) -> tuple[dict[str, bytes], int]:
    """Every output file as bytes, keyed by its path inside the output folder."""
    from .output import digest

    files = static_files(config)
    hashes = {path.removeprefix("static/"): digest(data) for path, data in files.items()}
    renderer = Renderer(make_environment(config, hashes), site, problems)
    specs = plan_pages(site)
    for spec in specs:
        target = page_file(spec.path)
        if target in files:
            problems.error(Location(spec.template), f"two pages would be written to /{target}",
                           "two entries produce the same address; rename one of them")
            continue
        data = renderer.render(spec)
        if data is not None:
            files[target] = data
    files["search/index.json"] = search_index(site)
    return files, len(specs)


def build(config_path: Path, *, output_dir: Path | None = None, base_url: str | None = None,
          preview: bool = False, write: bool = True) -> BuildResult:
    """The whole build. Raises BuildFailed (carrying every problem) on any error."""
    started = time.perf_counter()
    problems = Problems()
    config, site = load_and_check(config_path, problems, preview=preview, base_url=base_url,
                                  output_dir=output_dir)
    result = BuildResult(config, site, problems)
    if config is None or site is None or problems.errors:
        raise BuildFailed(problems)
    render_markup(site)
    result.files, result.pages = render_site(config, site, problems)
    if problems.errors:
        raise BuildFailed(problems)
    if write:
        out = config.output_dir
        try:
            check_output_dir(out, [config.root, config.content_dir, config.templates_dir, Path.cwd()])
            with build_lock(out):
                result.stats = write_site(result.files, out)
        except OutputError as exc:
            problems.error(Location(str(out)), exc.message, exc.hint)
            raise BuildFailed(problems) from None
    result.seconds = time.perf_counter() - started
    return result
