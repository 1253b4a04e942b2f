"""Search (issue 6) in the browser: a speaker's name, typed with or without accents, finds their claims."""

import unicodedata

import pytest
import yaml

from factsite.frontmatter import split_front_matter

from .conftest import REPO, same_origin

pytestmark = pytest.mark.browser


def front_matter(path) -> dict:
    return yaml.safe_load(split_front_matter(path.read_text(encoding="utf-8")).header) or {}


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def squash(text: str) -> str:
    return " ".join(text.split())


def expected_quotes(speaker_slug: str) -> list[str]:
    quotes = []
    for path in sorted((REPO / "content" / "claims").glob("*.md")):
        meta = front_matter(path)
        if meta.get("speaker") == speaker_slug and not meta.get("draft"):
            quotes.append(squash(meta["quote"]))
    return quotes


@pytest.mark.parametrize("query, speaker", [("Lavrov", "sergey-lavrov"), ("Vucic", "aleksandar-vucic")])
def test_typing_a_speaker_name_finds_their_claims(mobile_tab, query, speaker, base_url):
    name = front_matter(REPO / "content" / "speakers" / f"{speaker}.md")["name"]
    assert fold(query) in fold(name), f"{query!r} is not part of {name!r}"
    quotes = expected_quotes(speaker)
    assert quotes, f"no published claims by {speaker} in content/claims/"

    tab = mobile_tab
    tab.goto("/search/")
    page = tab.page
    page.get_by_label("Search claims, speakers, events and sources").press_sequentially(query, delay=30)
    status = page.locator("#search-status")
    status.filter(has_text="result").wait_for(timeout=5000)
    assert query in status.inner_text()

    links = page.locator("#search-results a").all_inner_texts()
    found = {squash(text).strip("“”") for text in links}
    missing = [q for q in quotes if q not in found]
    assert not missing, f"searching {query!r} did not list these claims by {name}: {missing}\nlisted: {sorted(found)}"
    assert any(squash(text) == name for text in links), f"{name}'s speaker page is not among the results"

    assert not tab.console and not tab.failed, tab.console + tab.failed
    assert tab.requests and all(same_origin(u, base_url) for u in tab.requests + tab.external), tab.requests
    assert any(u.split("?")[0].endswith("/search/index.json") for u in tab.requests), "the index was not fetched"

    # The result links lead to the claim pages.
    first = page.locator("#search-results a").first
    first.click()
    page.wait_for_load_state("load")
    assert page.url.startswith(base_url + "/"), page.url
