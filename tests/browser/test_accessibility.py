"""axe-core on every page (light, and colour contrast in dark), keyboard use, print."""

import json

import pytest

from .conftest import REPO, SERIOUS, report, run_axe

pytestmark = pytest.mark.browser


def serious(visits, attribute: str) -> dict[str, list[str]]:
    problems = {}
    for path, visit in visits.items():
        found = [f"[{v['impact']}] {v['id']}: {v['help']}\n        " + "\n        ".join(v["nodes"])
                 for v in getattr(visit, attribute) if v["impact"] in SERIOUS]
        if found:
            problems[path] = found
    return problems


def write_axe_report(visits) -> None:
    """Every violation of any impact, for a person to read: test-artifacts/axe-violations.json."""
    out = REPO / "test-artifacts" / "axe-violations.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {path: {"light": v.violations, "dark-contrast": v.dark_violations}
            for path, v in visits.items() if v.violations or v.dark_violations}
    out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def test_axe_finds_nothing_serious_in_light_mode(visits):
    write_axe_report(visits)
    problems = serious(visits, "violations")
    assert not problems, "axe-core violations of impact serious or critical (390 px, light):\n" + report(problems)


def test_axe_colour_contrast_in_dark_mode(visits):
    problems = serious(visits, "dark_violations")
    assert not problems, "axe-core colour-contrast violations (390 px, dark):\n" + report(problems)


FOCUSED_JS = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {tag: el.tagName.toLowerCase(), id: el.id, cls: el.className, text: el.textContent.trim().slice(0, 40),
          outline: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth),
          inView: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
                  && box.right <= innerWidth && box.bottom <= innerHeight,
          inMain: !!el.closest('main')};
}"""


def test_keyboard_skip_link_and_visible_focus(desktop_tab, claim_paths):
    tab = desktop_tab
    tab.goto(claim_paths[0])
    page = tab.page
    page.keyboard.press("Tab")
    first = page.evaluate(FOCUSED_JS)
    assert first["cls"] == "skip-link", f"the first Tab stop is {first}, not the skip link"
    assert first["inView"], "the skip link stays off screen when focused"
    assert first["outline"] != "none" and first["outlineWidth"] >= 2, f"no visible focus ring: {first}"

    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main", "the skip link does not move focus to main"
    page.keyboard.press("Tab")
    after = page.evaluate(FOCUSED_JS)
    assert after["inMain"] and after["tag"] == "a", f"Tab after the skip link lands on {after}, not in main"
    assert after["outline"] != "none" and after["outlineWidth"] >= 2, f"no visible focus ring on {after}"

    # Every link and control in the page can be reached and shows a ring.
    stops = page.evaluate("() => document.querySelectorAll('a[href], button, input, [tabindex]:not([tabindex=\"-1\"])').length")
    for _ in range(stops):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED_JS)
        if now["tag"] == "body":
            break
        assert now["outline"] != "none" and now["outlineWidth"] >= 2, f"no visible focus ring on {now}"


def test_print_stylesheet(desktop_tab, claim_paths, axe_source):
    """Printed, a claim drops the navigation and keeps the verdict as text, black on white,
    even when the reader's screen is in dark mode."""
    tab = desktop_tab
    tab.goto(claim_paths[0])
    page = tab.page
    page.emulate_media(media="print", color_scheme="dark")
    try:
        printed = page.evaluate("""() => ({
          nav: getComputedStyle(document.querySelector('.site-header nav')).display,
          footer: getComputedStyle(document.querySelector('.site-footer')).display,
          verdict: document.querySelector('.verdict-box .verdict').innerText.trim(),
          colour: getComputedStyle(document.body).color,
          background: getComputedStyle(document.body).backgroundColor,
          brand: getComputedStyle(document.querySelector('.brand')).color,
        })""")
        contrast = run_axe(tab, axe_source, rules=["color-contrast"])
        pdf = page.pdf(format="A4")
    finally:
        page.emulate_media(media="screen", color_scheme="light")
    assert printed["nav"] == "none" and printed["footer"] == "none", printed
    assert printed["verdict"], "the verdict has no text in print"
    assert printed["colour"] == printed["brand"] == "rgb(0, 0, 0)", printed
    assert printed["background"] == "rgb(255, 255, 255)", printed
    assert not [v for v in contrast if v["impact"] in SERIOUS], f"low contrast in print: {contrast}"
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
