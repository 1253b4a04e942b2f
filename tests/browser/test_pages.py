"""Every page of the sample site, loaded in chromium: clean, local, narrow, light, structured."""

import json
from urllib.parse import urlsplit

import pytest

from .conftest import MOBILE, REPO, SEARCH_ASSETS, local_file, report, same_origin

pytestmark = pytest.mark.browser

CLAIM_PAGE_LIMIT = 50_000  # bytes, uncompressed, search assets aside


def test_every_page_loads_without_console_errors_or_failed_requests(visits):
    problems = {path: v.console + v.failed for path, v in visits.items() if v.console or v.failed}
    assert not problems, "pages with console errors or failed requests:\n" + report(problems)


def test_no_page_requests_another_host(visits, base_url):
    problems = {}
    for path, visit in visits.items():
        foreign = sorted({u for u in visit.requests + visit.external if not same_origin(u, base_url)})
        if foreign:
            problems[path] = foreign
    assert not problems, "requests that left the local server (CDNs, remote fonts...):\n" + report(problems)


def test_no_horizontal_scroll_at_390_px(visits):
    problems = {}
    for path, visit in visits.items():
        facts = visit.facts
        if facts["scrollWidth"] > facts["clientWidth"]:
            problems[path] = [f"scrollWidth {facts['scrollWidth']} > clientWidth {facts['clientWidth']}; "
                              f"too wide: {', '.join(facts['wide']) or '?'}"]
    assert not problems, f"pages that scroll sideways at {MOBILE['width']} px:\n" + report(problems)


def test_every_page_has_one_h1_landmarks_and_a_skip_link(visits):
    problems = {}
    for path, visit in visits.items():
        f = visit.facts
        found = [message for ok, message in (
            (f["h1"] == 1, f"{f['h1']} h1 elements (want exactly 1)"),
            (f["main"] == 1, f"{f['main']} main elements (want exactly 1)"),
            (f["banner"] == 1, "no site header (body > header)"),
            (f["contentinfo"] == 1, "no site footer (body > footer)"),
            (f["nav"] >= 1, "no labelled nav"),
            (f["firstLink"] == "skip-link", f"first link is .{f['firstLink']}, not the skip link"),
            (f["skipTarget"], "the skip link's target does not exist"),
            (f["badgesWithoutText"] == 0, f"{f['badgesWithoutText']} verdict badges without text"),
        ) if not ok]
        if found:
            problems[path] = found
    assert not problems, "page structure problems:\n" + report(problems)


def test_no_javascript_needed_to_read(visits):
    """Only the search page runs a script; everything else is plain HTML and CSS."""
    problems = {path: visit.facts["scripts"] for path, visit in visits.items()
                if visit.facts["scripts"] and path != "/search/"}
    assert not problems, "pages that load scripts:\n" + report(problems)


def test_claim_pages_weigh_under_50_kb(visits, claim_paths, site_dir, base_url):
    """Everything a claim page loads (HTML, CSS, icon), uncompressed, is under 50 KB."""
    weights, problems = {}, {}
    for path in claim_paths:
        visit = visits[path]
        files = {}
        for url in visit.requests:
            if not same_origin(url, base_url):
                continue  # test_no_page_requests_another_host reports these
            local = urlsplit(url).path
            if local not in SEARCH_ASSETS:
                files[local] = local_file(site_dir, local).stat().st_size
        weights[path] = {"html": files[path], "total": sum(files.values()), "files": files}
        if weights[path]["total"] >= CLAIM_PAGE_LIMIT:
            problems[path] = [f"{weights[path]['total']} bytes: {files}"]
    assert weights, "no claim pages were found"
    out = REPO / "test-artifacts" / "claim-page-weights.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(weights, indent=2) + "\n", encoding="utf-8")
    assert not problems, f"claim pages at or over {CLAIM_PAGE_LIMIT} bytes:\n" + report(problems)


LINE_LENGTH_JS = """() => [...document.querySelectorAll('main p')].filter(p => p.textContent.length > 300).map(p => {
  const lines = Math.round(p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight));
  return Math.round(p.textContent.length / lines);
})"""


def test_comfortable_line_length_at_1280_px(desktop_tab, claim_paths, built):
    """Long paragraphs average at most 80 characters a line on a wide screen (WCAG 1.4.8)."""
    problems = {}
    for path in ["/" + p.url for p in built.site.pages] + claim_paths:
        desktop_tab.goto(path)
        too_long = [n for n in desktop_tab.page.evaluate(LINE_LENGTH_JS) if n > 80]
        if too_long:
            problems[path] = [f"paragraphs of about {n} characters a line" for n in too_long]
    assert not problems, "lines too long to read comfortably:\n" + report(problems)
