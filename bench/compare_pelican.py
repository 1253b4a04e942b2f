"""Time Pelican on the same archive, for issue 7's "at least 5x faster than Pelican".

The bench corpus is written as a Pelican site: each claim an article (its quote the title, its
speaker the category and author, its tags, its date, its Markdown body), each speaker and event
a page: the 11,500 entries the issue counts at 10,000 claims. Sources are left out (Pelican has
no equivalent), which only spares Pelican work. Pelican is not a dependency of this project:
install it apart, then give its interpreter.

    python3 -m venv /tmp/pelican && /tmp/pelican/bin/pip install "pelican[markdown]==4.12.*"
    python bench/compare_pelican.py --claims 1000 --pelican /tmp/pelican/bin/pelican
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

CONFIG = """SITENAME = "bench"
SITEURL = ""
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
DEFAULT_PAGINATION = 20
LOAD_CONTENT_CACHE = False
"""


def _split(text: str) -> tuple[dict, str]:
    _, head, body = text.split("---\n", 2)
    return yaml.load(head, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), body


def _line(value: object) -> str:
    return str(value or "").replace("\n", " ")


def convert(corpus: Path, site: Path) -> tuple[int, int]:
    """Write `corpus` (this project's content) as a Pelican site; (articles, pages)."""
    pages = site / "content" / "pages"
    pages.mkdir(parents=True)
    names = {}
    for path in sorted((corpus / "content" / "speakers").glob("*.md")):
        meta, body = _split(path.read_text(encoding="utf-8"))
        names[path.stem] = meta["name"]
        (pages / path.name).write_text(f"Title: {_line(meta['name'])}\nSlug: {path.stem}\n\n{body}",
                                       encoding="utf-8")
    for path in sorted((corpus / "content" / "events").glob("*.md")):
        meta, body = _split(path.read_text(encoding="utf-8"))
        (pages / f"event-{path.name}").write_text(
            f"Title: {_line(meta['name'])}\nSlug: event-{path.stem}\nDate: {meta['date']}\n\n{body}",
            encoding="utf-8")
    articles = 0
    for path in sorted((corpus / "content" / "claims").glob("*.md")):
        meta, body = _split(path.read_text(encoding="utf-8"))
        speaker = _line(names[meta["speaker"]])
        (site / "content" / path.name).write_text(
            f"Title: {_line(meta['quote'])}\nDate: {meta['said']}\nSlug: {path.stem}\n"
            f"Category: {speaker}\nAuthor: {speaker}\nTags: {', '.join(meta.get('tags') or [])}\n"
            f"Summary: {_line(meta.get('summary'))}\n\n{body}", encoding="utf-8")
        articles += 1
    (site / "pelicanconf.py").write_text(CONFIG, encoding="utf-8")
    return articles, len(list(pages.glob("*.md")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=1000, help="corpus size (bench/corpus/N, generated if missing)")
    parser.add_argument("--pelican", required=True, help="the pelican command of a separate install")
    parser.add_argument("--work", type=Path, default=Path("/tmp/factsite-pelican"), help="where the Pelican site goes")
    args = parser.parse_args()
    corpus = HERE / "corpus" / str(args.claims)
    if not (corpus / "content").is_dir():
        subprocess.run([sys.executable, str(HERE / "generate_corpus.py"), "--claims", str(args.claims),
                        "--out", str(corpus)], check=True)
    shutil.rmtree(args.work, ignore_errors=True)
    articles, pages = convert(corpus, args.work)
    started = time.perf_counter()
    done = subprocess.run([args.pelican, "content", "-s", "pelicanconf.py", "-o", str(args.work / "output")],
                          cwd=args.work, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    files = sum(len(f) for _root, _dirs, f in os.walk(args.work / "output"))
    print(f"Pelican: {articles} articles and {pages} pages in {seconds:.1f} s, {files} files written"
          f" (exit {done.returncode})")
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
