"""Shared helpers: stage a fixture site in a temporary folder, build it, read pages back parsed.

Fixture sites live in tests/sites/<name>/ (valid) and tests/invalid/<case>/ (one kind of
mistake each). Their site_config.yaml points at the repo's templates with
`templates_dir: ../../../templates`; `stage()` copies a fixture to
<tmp>/tests/<group>/<name>/ and the repo's templates to <tmp>/templates/, so that
relative path works unchanged and nothing a build writes (output, .cache/) lands in the
repo. A fixture with its own templates/ folder (the template-error cases) gets the repo's
templates first, with the fixture's files laid over them.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
BUILD_PY = REPO / "build.py"
TEMPLATES = REPO / "templates"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from factsite import cli  # noqa: E402
from factsite.pipeline import build as factsite_build  # noqa: E402
from factsite.urls import slugify  # noqa: E402

IGNORE = shutil.ignore_patterns(".cache", "output", "__pycache__")


@contextlib.contextmanager
def chdir(path: Path):
    """contextlib.chdir, which Python 3.10 lacks."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture
def settled_at_once(monkeypatch):
    """File stamps trusted however recently a file changed (a test's files are all younger
    than factsite.loading.SETTLE_NS, so no stamp would be kept and no build be found up to
    date): for the tests of what a kept stamp does, in-process builds only."""
    from factsite import loading

    monkeypatch.setattr(loading, "SETTLE_NS", 0, raising=False)


# --------------------------------------------------------------------------- staging

_SNAPSHOT: dict[str, Path] = {}


def _snapshot(name: str) -> Path:
    """The repo's templates/content/config as they were when first asked for in this run.

    Others edit the repo while tests run; every staged copy in one run is made from the
    same snapshot, so two copies can be compared and a half-saved edit is never picked up
    by one test only.
    """
    if not _SNAPSHOT:
        root = Path(tempfile.mkdtemp(prefix="factsite-tests-"))
        atexit.register(shutil.rmtree, root, True)
        shutil.copytree(TEMPLATES, root / "templates", ignore=IGNORE)
        shutil.copytree(REPO / "content", root / "content", ignore=IGNORE)
        shutil.copy2(REPO / "site_config.yaml", root / "site_config.yaml")
        _SNAPSHOT.update({p.name: p for p in root.iterdir()})
    return _SNAPSHOT[name]


def stage(group: str, name: str, dest: Path) -> "SiteDir":
    """Copy tests/<group>/<name> to dest/tests/<group>/<name>, the repo's templates to dest/templates."""
    src = TESTS / group / name
    assert (src / "site_config.yaml").is_file(), f"no fixture at {src}"
    if not (dest / "templates").exists():
        shutil.copytree(_snapshot("templates"), dest / "templates")
    site = dest / "tests" / group / name
    if (src / "templates").is_dir():
        shutil.copytree(_snapshot("templates"), site / "templates")
    shutil.copytree(src, site, dirs_exist_ok=True, ignore=IGNORE)
    return SiteDir(site, dest)


def stage_sample(dest: Path) -> "SiteDir":
    """A copy of the repo's own sample site (config, content, templates)."""
    site = dest / "sample"
    site.mkdir(parents=True)
    shutil.copy2(_snapshot("site_config.yaml"), site / "site_config.yaml")
    shutil.copytree(_snapshot("content"), site / "content")
    shutil.copytree(_snapshot("templates"), site / "templates")
    return SiteDir(site, site)


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class SiteDir:
    root: Path  # the folder holding site_config.yaml
    top: Path  # the staging root (holds templates/ for ../../../templates)

    @property
    def config(self) -> Path:
        return self.root / "site_config.yaml"

    @property
    def content(self) -> Path:
        return self.root / "content"

    def build(self, out: Path, **kwargs: Any):
        """In-process build (the same function the CLI calls)."""
        return factsite_build(self.config, output_dir=out, **kwargs)

    def cli(self, *args: str, cwd: Path | None = None) -> Run:
        """`build.py ARGS` in this process, with cwd = the site folder unless told."""
        out, err = io.StringIO(), io.StringIO()
        with chdir(cwd or self.root), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            code = cli.main(list(args))
        return Run(code, out.getvalue(), err.getvalue())

    def run(self, *args: str, cwd: Path | None = None) -> Run:
        """`python build.py ARGS` as a real process, with cwd = the site folder unless told."""
        # output buffered as on a user's machine (PYTHONUNBUFFERED set here would hide
        # output lost at exit)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        proc = subprocess.run([sys.executable, str(BUILD_PY), *args], cwd=cwd or self.root,
                              capture_output=True, text=True, timeout=60,
                              env={**env, "PYTHONDONTWRITEBYTECODE": "1"})
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def site_config(self) -> dict[str, Any]:
        return yaml.safe_load(self.config.read_text(encoding="utf-8"))

    def entries(self, kind: str) -> dict[str, "Entry"]:
        return read_entries(self.content, kind)


# --------------------------------------------------------------------------- content files

@dataclass
class Entry:
    path: Path
    slug: str
    data: dict[str, Any]
    body: str


def split_file(text: str) -> tuple[str, str]:
    lines = text.split("\n")
    assert lines[0].rstrip() == "---"
    end = next(i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "..."))
    return "\n".join(lines[1:end]), "\n".join(lines[end + 1:])


def read_entries(content: Path, kind: str, *, drafts: bool = False) -> dict[str, Entry]:
    """Entries of one kind straight from the files (yaml.safe_load), drafts left out."""
    found: dict[str, Entry] = {}
    folder = content / kind
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.md")):
        header, body = split_file(path.read_text(encoding="utf-8"))
        data = yaml.safe_load(header) or {}
        if data.get("draft") and not drafts:
            continue
        found[slugify(path.stem)] = Entry(path, slugify(path.stem), data, body)
    return found


def resolve(ref: str, entries: dict[str, Entry]) -> str:
    """A reference (file name without .md, or the entry's name) to the slug it means."""
    slug = slugify(str(ref))
    assert slug in entries, f"reference {ref!r} not found among {sorted(entries)}"
    return slug


def paragraphs(body: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]


def verdict_counts(claims: list[Entry], scale: list[dict[str, Any]]) -> dict[str, int]:
    counted = Counter(c.data["verdict"] for c in claims)
    return {v["label"]: counted.get(v["id"], 0) for v in scale}


def line_of(path: Path, needle: str) -> tuple[int, int]:
    """1-based line and column of the first occurrence of `needle` in a file."""
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")


# --------------------------------------------------------------------------- built output

@dataclass
class Output:
    """A built site folder, read by URL path, pages parsed."""
    root: Path
    base: str = "/"
    parser: str = "html.parser"
    _soups: dict[str, BeautifulSoup] = field(default_factory=dict)

    def file(self, url: str) -> Path:
        path = unquote(urlsplit(url).path)
        assert path.startswith(self.base), f"{url} is outside the site's base path {self.base}"
        path = path[len(self.base):]
        if path == "" or path.endswith("/"):
            path += "index.html"
        return self.root / path

    def exists(self, url: str) -> bool:
        return self.file(url).is_file()

    def soup(self, url: str) -> BeautifulSoup:
        if url not in self._soups:
            file = self.file(url)
            assert file.is_file(), f"no page at {url} ({file})"
            self._soups[url] = BeautifulSoup(file.read_bytes(), self.parser)
        return self._soups[url]

    def main(self, url: str):
        main = self.soup(url).find("main")
        assert main is not None, f"{url} has no <main>"
        return main

    def html_pages(self) -> list[str]:
        urls = []
        for path in sorted(self.root.rglob("*.html")):
            rel = path.relative_to(self.root).as_posix()
            urls.append(self.base + (rel[:-len("index.html")] if rel.endswith("index.html") else rel))
        return urls

    def files(self) -> dict[str, bytes]:
        return {p.relative_to(self.root).as_posix(): p.read_bytes()
                for p in sorted(self.root.rglob("*")) if p.is_file()}


def text(element) -> str:
    """An element's text with white space collapsed (no space added between inline elements)."""
    return " ".join(element.get_text().split())


def hrefs(element) -> list[str]:
    return [a["href"] for a in element.find_all("a", href=True)]


def site_base(config: dict[str, Any]) -> str:
    path = urlsplit(config["base_url"]).path or "/"
    return path if path.endswith("/") else path + "/"


def problems_json(run: Run) -> list[dict[str, Any]]:
    return json.loads(run.out)


# --------------------------------------------------------------------------- fixtures

@dataclass
class Built:
    site: SiteDir
    out: Output


def _built(tmp: Path, group: str, name: str, parser: str = "html.parser") -> Built:
    site = stage(group, name, tmp) if group else stage_sample(tmp)
    result = site.build(tmp / "out")
    # fixture sites and the sample must build without a single warning
    assert result.problems.items == [], result.problems.format_text()
    return Built(site, Output(tmp / "out", site_base(site.site_config()), parser))


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> Built:
    """The repo's sample site, built once."""
    return _built(tmp_path_factory.mktemp("sample"), "", "")


@pytest.fixture(scope="session")
def minimal(tmp_path_factory) -> Built:
    return _built(tmp_path_factory.mktemp("minimal"), "sites", "minimal")


@pytest.fixture(scope="session")
def unicode_site(tmp_path_factory) -> Built:
    return _built(tmp_path_factory.mktemp("unicode"), "sites", "unicode")


@pytest.fixture(scope="session")
def paginated(tmp_path_factory) -> Built:
    return _built(tmp_path_factory.mktemp("paginated"), "sites", "paginated")


@pytest.fixture(scope="session")
def hostile(tmp_path_factory) -> Built:
    # html5lib parses as a browser does, which is what matters for injected markup
    return _built(tmp_path_factory.mktemp("hostile"), "sites", "hostile", parser="html5lib")
