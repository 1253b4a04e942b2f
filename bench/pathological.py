#!/usr/bin/env python3
"""Markdown bodies known to make parsers slow, timed at a given size.

The cases are cmark's pathological tests (test/pathological_tests.py) plus the two a
hostile-input review found (`x[^` and `_a_ ` repeated). Each body is rendered the way a
build renders a claim's body (`factsite.markup.Markdown`), in a child process with a
time limit, so a quadratic case shows as a time out rather than a hang.

    python bench/pathological.py [--kib 512] [--limit 10] [--only NAME]

Exits 1 when a case takes longer than --limit seconds. The default size is the longest
Markdown body a build accepts (factsite.loading.MAX_MARKDOWN_CHARS, 512 K characters); the
budget of issue 23 is the two bodies it names at 1 MB in under 10 s each:
`--kib 1024 --only "x[^"` and `--kib 1024 --only "_a_"`."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def cases(size: int) -> dict[str, str]:
    """name -> body of about `size` characters."""
    def rep(unit: str, n: int | None = None) -> str:
        return unit * (n if n is not None else max(1, size // len(unit)))

    half = size // 2
    return {
        "footnote refs x[^": rep("x[^"),
        "emphasis _a_": rep("_a_ "),
        "nested strong emph": rep("*a **a ", size // 14) + "b" + rep(" a** a*", size // 14),
        "emph closers, no openers": rep("a_ "),
        "emph openers, no closers": rep("_a "),
        "link closers, no openers": rep("a]"),
        "link openers, no closers": rep("[a"),
        "mismatched openers/closers": rep("*a_ "),
        "openers/closers multiple of 3": "a**b" + rep("c* "),
        "link openers and emph closers": rep("[ a_"),
        "pattern [ (](": rep("[ (]("),
        "nested brackets": rep("[", half) + "a" + rep("]", half),
        "nested block quotes": rep("> ", half) + "a",
        "deeply nested lists": "".join("  " * i + "* a\n" for i in range(min(1000, size // 500))),
        "backticks": "".join("e" + "`" * i for i in range(1, int((2 * size) ** 0.5))),
        "unclosed links A": rep("[a](<b"),
        "unclosed links B": rep("[a](b"),
        "tables": "| a |\n| - |\n" + rep("|\n"),
        "footnote defs and refs": rep("[^a]: b\n[^a]\n"),
        "strikethrough": rep("~~a "),
        "many table columns": "|" + rep("a|", half // 2) + "\n|" + rep("-|", half // 2) + "\n",
        "autolink openers": rep("<http://a"),
        "entities": rep("&#x"),
        "link refs unclosed": rep("[a]: <"),
        "image openers": rep("![a"),
    }


def _render(body: str, queue: multiprocessing.Queue) -> None:
    from factsite.markup import Markdown

    md = Markdown()
    started = time.perf_counter()
    md.render(body, 1)
    queue.put(time.perf_counter() - started)


def time_case(body: str, limit: float) -> float | None:
    """Seconds to render the body, or None if over `limit`."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_render, args=(body, queue))
    child.start()
    child.join(limit)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return queue.get() if not queue.empty() else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kib", type=int, default=512, help="body size in KiB (default 512)")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds allowed per body")
    parser.add_argument("--only", help="run the cases whose name contains this")
    args = parser.parse_args()
    failed = 0
    for name, body in cases(args.kib * 1024).items():
        if args.only and args.only not in name:
            continue
        seconds = time_case(body, args.limit)
        shown = f"> {args.limit:.0f} s" if seconds is None else f"{seconds:6.2f} s"
        print(f"{name:32} {len(body.encode()) / 1024:8.0f} KiB  {shown}", flush=True)
        failed += seconds is None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
