"""Browser tests: build the sample site, serve it locally, drive Debian's chromium.

Needs, besides the Python test extras (`pip install -e '.[test]'`):
  - Debian's chromium at /usr/bin/chromium      (apt-get install -y chromium)
  - Java 17 or later for the Nu HTML validator  (apt-get install -y default-jre-headless)
  - node_modules with axe-core and vnu-jar      (npm ci, in the repository root)
A missing tool FAILS the tests with the command to install it; nothing is skipped.
Playwright's own browser downloads are never used (`playwright install` is not needed).

One browser serves the whole session with one tab per viewport (390 and 1280 px). Every
page is loaded once, at 390 px: the `visits` fixture records its requests, console
messages, layout facts and axe-core results (light, then colour contrast in dark), and
the tests in test_pages.py and test_accessibility.py read those records.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = REPO / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"

MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Search assets are loaded only by /search/ and are not counted in page weight.
SEARCH_ASSETS = ("/static/search.js", "/search/index.json")


# --- tools --------------------------------------------------------------------------

def missing_tools() -> list[str]:
    """What is not installed, each with the command that installs it."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package playwright: .venv/bin/pip install -e '.[test]' "
                       "(do NOT run `playwright install`; the tests use Debian's chromium)")
    if not CHROMIUM.exists():
        missing.append(f"chromium at {CHROMIUM}: apt-get install -y chromium")
    if shutil.which("java") is None:
        missing.append("java (for the Nu HTML validator): apt-get install -y default-jre-headless")
    for path, package in ((AXE_JS, "axe-core"), (VNU_JAR, "vnu-jar")):
        if not path.exists():
            missing.append(f"{path.relative_to(REPO)} (npm package {package}): "
                           f"run `npm ci` in {REPO}")
    return missing


def require(*names: str) -> None:
    """Fail (never skip) when a tool a test needs is absent."""
    wanted = [m for m in missing_tools() if any(n in m for n in names)]
    if wanted:
        pytest.fail("browser tests need tools that are not installed:\n  - " + "\n  - ".join(wanted),
                    pytrace=False)


# --- the site, built and served -----------------------------------------------------

@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The sample site, built in-process as `build.py build` would, into a fresh folder."""
    from factsite.pipeline import build

    out = tmp_path_factory.mktemp("browser-site") / "output"
    result = build(REPO / "site_config.yaml", output_dir=out)
    assert result.config.base_path == "/", "the tests serve the site at the server's root"
    return result


@pytest.fixture(scope="session")
def site_dir(built) -> Path:
    return built.config.output_dir


@pytest.fixture(scope="session")
def claim_paths(built) -> list[str]:
    return sorted("/" + c.url for c in built.site.claims)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def base_url(site_dir) -> str:
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def url_path(file: Path, root: Path) -> str:
    """The address a page is served at: claims/x/index.html -> /claims/x/."""
    rel = file.relative_to(root).as_posix()
    return "/" + (rel.removesuffix("index.html") if rel.endswith("index.html") else rel)


@pytest.fixture(scope="session")
def page_paths(site_dir) -> list[str]:
    paths = sorted(url_path(f, site_dir) for f in site_dir.rglob("*.html"))
    assert len(paths) > 10, f"the sample build produced only {len(paths)} pages"
    return paths


def local_file(site_dir: Path, path: str) -> Path:
    """The file the local server answers `path` (no query) with."""
    target = site_dir / path.lstrip("/")
    return target / "index.html" if path.endswith("/") else target


# --- the browser --------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    require("playwright", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """One browser tab whose every request and console message is recorded.

    Requests to any host but the local server are recorded and aborted, so a test run
    never reaches the internet and an external reference fails a test instead.
    """
    page: object
    base_url: str
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def reset(self) -> None:
        for log in (self.requests, self.external, self.failed, self.console):
            log.clear()

    def goto(self, path: str) -> None:
        self.reset()
        response = self.page.goto(self.base_url + path, wait_until="load")
        if response is None or not response.ok:
            self.failed.append(f"{path}: HTTP {response.status if response else 'no response'}")


def open_tab(browser, base_url: str, viewport: dict, color_scheme: str = "light") -> Tab:
    context = browser.new_context(viewport=viewport, color_scheme=color_scheme,
                                  reduced_motion="reduce", service_workers="block")
    page = context.new_page()
    tab = Tab(page, base_url)

    def route(r):
        url = r.request.url
        if url.startswith(base_url + "/") or url.startswith("data:"):
            r.continue_()
        else:
            tab.external.append(url)
            r.abort("blockedbyclient")

    context.route("**/*", route)

    def on_failed(req):
        # ERR_ABORTED is the browser cancelling a request itself (the next navigation
        # cancelling the last page's favicon), not a resource that failed to load.
        if req.url not in tab.external and req.failure != "net::ERR_ABORTED":
            tab.failed.append(f"{req.url}: {req.failure}")

    page.on("request", lambda req: tab.requests.append(req.url))
    page.on("requestfailed", on_failed)
    page.on("response", lambda res: res.status >= 400 and tab.failed.append(f"{res.url}: HTTP {res.status}"))
    page.on("console", lambda msg: msg.type in ("error", "assert")
            and tab.console.append(f"console.{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: tab.console.append(f"uncaught: {exc}"))
    return tab


@pytest.fixture(scope="session")
def mobile_tab(browser, base_url) -> Tab:
    tab = open_tab(browser, base_url, MOBILE)
    yield tab
    tab.page.context.close()


@pytest.fixture(scope="session")
def desktop_tab(browser, base_url) -> Tab:
    tab = open_tab(browser, base_url, DESKTOP)
    yield tab
    tab.page.context.close()


# --- axe-core -----------------------------------------------------------------------

SERIOUS = ("serious", "critical")


@pytest.fixture(scope="session")
def axe_source() -> Path:
    require("playwright", "chromium", "axe-core")
    return AXE_JS


def run_axe(tab: Tab, axe_js: Path, rules: list[str] | None = None) -> list[dict]:
    """axe-core's violations on the loaded page, each trimmed to what a report needs."""
    if not tab.page.evaluate("() => typeof window.axe === 'object'"):
        tab.page.add_script_tag(path=str(axe_js))
    options = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    violations = tab.page.evaluate("options => axe.run(document, options).then(r => r.violations)", options)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [f"{n['target'][-1]}: {(n.get('failureSummary') or '-').splitlines()[-1].strip()}"
                       for n in v["nodes"][:5]]}
            for v in violations]


# --- what every page looks like, per pass ------------------------------------------

PAGE_FACTS_JS = """() => {
  const root = document.documentElement;
  const visible = el => { const s = getComputedStyle(el); return s.display !== 'none' && s.visibility !== 'hidden'; };
  return {
    scrollWidth: root.scrollWidth,
    clientWidth: root.clientWidth,
    h1: document.querySelectorAll('h1').length,
    main: document.querySelectorAll('main').length,
    banner: document.querySelectorAll('body > header').length,
    contentinfo: document.querySelectorAll('body > footer').length,
    nav: document.querySelectorAll('nav[aria-label]').length,
    firstLink: (document.querySelector('body a[href]') || {}).className || '',
    skipTarget: !!document.querySelector('a.skip-link') &&
      !!document.getElementById(document.querySelector('a.skip-link').getAttribute('href').slice(1)),
    scripts: [...document.scripts].filter(s => s.type !== 'application/ld+json').map(s => s.src || 'inline'),
    badgesWithoutText: [...document.querySelectorAll('.verdict')].filter(b => !b.textContent.trim()).length,
    wide: root.scrollWidth <= root.clientWidth ? [] : [...document.querySelectorAll('body *')]
      .filter(el => visible(el) && el.getBoundingClientRect().right > root.clientWidth + 1).slice(0, 5)
      .map(el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : '')),
  };
}"""


@dataclass
class Visit:
    path: str
    requests: list[str]
    external: list[str]
    failed: list[str]
    console: list[str]
    facts: dict
    violations: list[dict]  # every axe-core rule, light colour scheme
    dark_violations: list[dict]  # axe-core's colour-contrast rule, dark colour scheme


@pytest.fixture(scope="session")
def visits(mobile_tab, page_paths, axe_source) -> dict[str, Visit]:
    """Every page, loaded once at 390 px: its requests, console, layout facts and axe-core
    results in light mode, then colour contrast again with prefers-color-scheme: dark."""
    tab, found = mobile_tab, {}
    try:
        for path in page_paths:
            tab.page.emulate_media(color_scheme="light")
            tab.goto(path)
            facts = tab.page.evaluate(PAGE_FACTS_JS)
            light = run_axe(tab, axe_source)
            tab.page.emulate_media(color_scheme="dark")
            dark = run_axe(tab, axe_source, rules=["color-contrast"])
            found[path] = Visit(path, list(tab.requests), list(tab.external), list(tab.failed),
                                list(tab.console), facts, light, dark)
    finally:
        tab.page.emulate_media(color_scheme="light")
    return found


def report(problems: dict[str, list[str]], shown: int = 8) -> str:
    """Problems by page, the first `shown` pages in full (one template bug repeats on every page)."""
    lines = [f"{path}:\n    " + "\n    ".join(found) for path, found in list(problems.items())[:shown]]
    if len(problems) > shown:
        lines.append(f"... and {len(problems) - shown} more pages: {', '.join(list(problems)[shown:])}")
    return "\n".join(lines)


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)
