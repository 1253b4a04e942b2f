"""Screenshots of the home page, a claim, a speaker and an event at 390 and 1280 px.

Written to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

import pytest

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def subjects(built) -> dict[str, str]:
    """The fullest examples: the claim with most appearances, the busiest speaker and event."""
    site = built.site
    claim = max(site.claims, key=lambda c: (len(c.appearances), len(c.body), c.slug))
    speaker = max(site.speakers, key=lambda s: (len(s.claims), s.slug))
    event = max(site.events, key=lambda e: (len(e.claims), e.slug))
    return {"home": "/", "claim": "/" + claim.url, "speaker": "/" + speaker.url, "event": "/" + event.url}


@pytest.mark.parametrize("viewport", ["mobile_tab", "desktop_tab"])
def test_screenshots(request, viewport, subjects):
    tab = request.getfixturevalue(viewport)
    width = tab.page.viewport_size["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in subjects.items():
        tab.goto(path)
        assert not tab.failed and not tab.console, (path, tab.failed, tab.console)
        target = SCREENSHOTS / f"{name}-{width}.png"
        target.unlink(missing_ok=True)
        tab.page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 1000, f"{target} is empty"
