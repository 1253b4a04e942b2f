"""Command line: `build` (default), `check`, `new`, `serve`."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import NoReturn

from .errors import BuildFailed, Problem, Problems
from .model import Site
from .pipeline import build
from .validate import DRAFT_WAITS


def _common(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # sub-commands repeat the option without a default, so `--config X check` keeps X
    parser.add_argument("--config", type=Path,
                        default=Path("site_config.yaml") if top else argparse.SUPPRESS,
                        help="site configuration file (default: site_config.yaml)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description="Build a static fact-check site.")
    _common(parser, top=True)
    parser.add_argument("--output", type=Path, help="output folder (default: output_dir from the config)")
    parser.add_argument("--base-url", help="override base_url, e.g. https://example.org/factcheck/")
    parser.add_argument("--timings", action="store_true", help="print how long each phase of the build took")
    sub = parser.add_subparsers(dest="command")

    b = sub.add_parser("build", help="build the site (the default)")
    _common(b)
    b.add_argument("--output", type=Path, default=argparse.SUPPRESS,
                   help="output folder (default: output_dir from the config)")
    b.add_argument("--base-url", default=argparse.SUPPRESS,
                   help="override base_url, e.g. https://example.org/factcheck/")
    b.add_argument("--timings", action="store_true", default=argparse.SUPPRESS,
                   help="print how long each phase of the build took")

    c = sub.add_parser("check", help="check content, config and quotes; write nothing")
    _common(c)
    c.add_argument("--format", choices=["text", "json"], default="text")

    n = sub.add_parser("new", help="create a new entry with every field")
    _common(n)
    n.add_argument("kind", choices=["claim", "speaker", "event", "source", "page"])
    n.add_argument("title", help="title or name; the file name (slug) derives from it")
    for ref in ("speaker", "event", "source"):
        n.add_argument(f"--{ref}", help=f"the {ref} a new claim names (its file name without .md)")

    s = sub.add_parser("serve", help="live preview on http://127.0.0.1:8000/")
    _common(s)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    return parser


def _print_problems(problems: Problems) -> None:
    if problems.items:
        print(problems.format_text(), file=sys.stderr)


def cmd_build(args: argparse.Namespace) -> int:
    try:
        result = build(args.config, output_dir=args.output, base_url=args.base_url)
    except BuildFailed as failed:
        _print_problems(failed.problems)
        print("Build failed: nothing was published; the previous output is unchanged.", file=sys.stderr)
        return 1
    _print_problems(result.problems)
    stats = result.stats
    assert stats is not None and result.config is not None
    if result.up_to_date:
        print(f"Nothing changed since the last build: {result.config.output_dir} is up to date "
              f"({result.pages} pages, {stats.unchanged} files, {stats.bytes / 1024:.0f} KiB; "
              f"checked in {result.seconds:.2f}s).")
        return 0
    print(f"Built {result.pages} pages ({result.rendered} rendered, the rest unchanged) into "
          f"{result.config.output_dir} in {result.seconds:.2f}s; files: {stats.written} written, "
          f"{stats.unchanged} unchanged, {stats.removed} removed ({stats.bytes / 1024:.0f} KiB in all).")
    if args.timings:
        print("Phases: " + ", ".join(
            f"{name} {seconds:.3f}s" + (f" (peak {result.peaks[name] / 1024:.0f} MB)" if result.peaks.get(name) else "")
            for name, seconds in result.timings.items()))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Everything a build checks (content, config, quotations, templates), drafts included,
    writing nothing but the caches."""
    problems, site = check(args.config)
    if args.format == "json":
        print(problems.format_json())
    else:
        if problems.items:
            print(problems.format_text())
        elif site is not None:
            print(f"All good: {_counted(site.claims, 'claims')}, {_counted(site.speakers, 'speakers')}, "
                  f"{_counted(site.events, 'events')}, {_counted(site.sources, 'sources')} checked; "
                  f"{sum(len(c.appearances) for c in site.claims)} quotations verified.")
    return 1 if problems.errors else 0


def check(config: Path) -> tuple[Problems, Site | None]:
    """The problems of the site as it is published, and of its drafts as the preview shows
    them (a draft is checked as fully as a published entry: a misquote in one must not
    wait for the day it is published); and the site with its drafts, for the counts."""
    found: list[Problem] = []
    site = None
    for preview in (False, True):
        try:
            result = build(config, write=False, preview=preview)
            items, site = result.problems.items, result.site
        except BuildFailed as failed:
            items, site = failed.problems.items, None
        # (the published pass's word that a draft has problems: the drafts' pass lists them)
        found += [p for p in items if not p.message.startswith(DRAFT_WAITS)]
    return Problems(list(dict.fromkeys(found))), site


def _counted(entries: list, name: str) -> str:
    drafts = sum(1 for entry in entries if entry.draft)
    return f"{len(entries)} {name}" + (f" ({drafts} draft{'s' if drafts > 1 else ''})" if drafts else "")


def cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import create_entry

    problems = Problems()
    path = create_entry(args.config, args.kind, args.title, problems,
                        refs={"speaker": args.speaker, "event": args.event, "source": args.source})
    _print_problems(problems)
    if path is None:
        return 1
    print(f"Created {path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    return serve(args.config, host=args.host, port=args.port)


def main(argv: list[str] | None = None, *, exiting: bool = False) -> int:
    """The command's exit status. `exiting`: the process ends after it (see `run`)."""
    args = _parser().parse_args(argv)
    command = args.command or "build"
    if exiting and command != "serve":
        # a build pauses the cyclic collector phase by phase; resumed, it first walked every
        # object the build had made (0.13 s at 10,000 claims), of which it freed none
        gc.disable()
    handlers = {"build": cmd_build, "check": cmd_check, "new": cmd_new, "serve": cmd_serve}
    try:
        return handlers[command](args)
    except OSError as exc:  # a folder or file the build needs cannot be used
        print(f"error: {exc}", file=sys.stderr)
        print("    hint: check that the path exists and that you may read and write it", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130


def run() -> NoReturn:
    """`main` as a whole process (build.py, the `factsite` command): it ends with
    `os._exit` once the output is flushed. A normal exit frees a 10,000-claim build's
    model object by object, then collects it, ~0.3 s after the build is done; the
    operating system takes the memory back at once. A crash still exits the usual way,
    traceback and all."""
    code = main(exiting=True)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`build.py | head`) or stream
            pass
    os._exit(code)
