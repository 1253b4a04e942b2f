"""The repo's sample site: it checks clean, and the built pages show what the content files say.

Expectations come from the content files (front matter read with yaml.safe_load), never
from counts of the sample, which is still growing. The sample is copied once per run
(see conftest._snapshot) so edits made while the suite runs cannot race with it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from conftest import (REPO, Entry, hrefs, paragraphs, read_entries, resolve, site_base, split_file,
                      stage_sample, text, verdict_counts)


@pytest.fixture(scope="module")
def content(sample):
    c = sample.site.content
    return {kind: read_entries(c, kind) for kind in ("claims", "speakers", "events", "sources", "pages")}


@pytest.fixture(scope="module")
def scale(sample):
    return sample.site.site_config()["verdicts"]


def claim_url(base: str, slug: str) -> str:
    return f"{base}claims/{slug}/"


def test_check_passes_on_the_sample(sample, content):
    """`python build.py check` on the repo's content: exit 0, no problems, the counts of the files."""
    run = sample.site.cli("check")
    assert run.code == 0, run.text
    assert run.err == ""
    n_appearances = sum(len(c.data["appearances"]) for c in content["claims"].values())
    assert run.out.strip() == (
        f"All good: {len(content['claims'])} claims, {len(content['speakers'])} speakers, "
        f"{len(content['events'])} events, {len(content['sources'])} sources checked; "
        f"{n_appearances} quotations verified.")
    assert sample.site.cli("check", "--format", "json").out.strip() == "[]"


def test_every_claim_has_a_page(sample, content):
    for slug in content["claims"]:
        assert sample.out.exists(claim_url(sample.out.base, slug)), slug


def test_drafts_are_not_published(sample):
    drafts = {kind: set(read_entries(sample.site.content, kind, drafts=True))
              - set(read_entries(sample.site.content, kind)) for kind in ("claims", "speakers", "events",
                                                                          "sources", "pages")}
    for kind, slugs in drafts.items():
        for slug in slugs:
            assert not (sample.out.root / kind / slug).exists()


def test_every_claim_is_linked_from_its_speaker_event_and_sources(sample, content):
    base = sample.out.base
    for slug, claim in content["claims"].items():
        target = claim_url(base, slug)
        speaker = resolve(claim.data["speaker"], content["speakers"])
        pages = [f"{base}speakers/{speaker}/"]
        if claim.data.get("event"):
            pages.append(f"{base}events/{resolve(claim.data['event'], content['events'])}/")
        for appearance in claim.data["appearances"]:
            pages.append(f"{base}sources/{resolve(appearance['source'], content['sources'])}/")
        for page in pages:
            assert target in hrefs(sample.out.main(page)), f"{page} does not link to {target}"


def test_internal_links_resolve(sample):
    """Every href/src/action starting with "/" in every page names a file of the output."""
    out = sample.out
    broken = []
    pages = out.html_pages()
    assert len(pages) > 10
    for page in pages:
        for element in out.soup(page).find_all(True):
            for attribute in ("href", "src", "action", "data-index"):
                value = element.get(attribute)
                if not value or not value.startswith("/") or value.startswith("//"):
                    continue
                if not out.exists(value):
                    broken.append(f"{page}: {element.name}[{attribute}]={value}")
    assert broken == []


def test_sitemap_and_feed_addresses_resolve(sample):
    """sitemap.xml and feed.xml are well-formed XML whose addresses are pages of the output."""
    import xml.etree.ElementTree as ET

    base_url = sample.site.site_config()["base_url"]
    out = sample.out
    sitemap = ET.parse(out.root / "sitemap.xml").getroot()
    locs = [e.text for e in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    feed = ET.parse(out.root / "feed.xml").getroot()
    links = [e.get("href") for e in feed.iter("{http://www.w3.org/2005/Atom}link")]
    assert locs and links
    for address in locs + links:
        assert address.startswith(base_url), address
        assert out.exists(urlsplit(address).path), address


def scorecard(main) -> dict[str, int]:
    table = main.find("table", class_="scorecard")
    assert table is not None
    counts = {}
    for row in table.find("tbody").find_all("tr"):
        counts[text(row.find("th"))] = int(text(row.find("td", class_="num")))
    return counts


def test_home_page_verdict_counts_match_the_content(sample, content, scale):
    assert scorecard(sample.out.main(sample.out.base)) == verdict_counts(list(content["claims"].values()), scale)


def test_speaker_scorecards_match_the_content(sample, content, scale):
    for slug in content["speakers"]:
        theirs = [c for c in content["claims"].values()
                  if resolve(c.data["speaker"], content["speakers"]) == slug]
        page = f"{sample.out.base}speakers/{slug}/"
        assert scorecard(sample.out.main(page)) == verdict_counts(theirs, scale), page


def _wordings(claim: Entry) -> list[str]:
    return [a.get("wording") or claim.data["quote"] for a in claim.data["appearances"]]


def squash(s: str) -> str:
    return " ".join(s.split())


def test_claims_with_several_appearances_show_every_wording(sample, content):
    several = {slug: c for slug, c in content["claims"].items() if len(c.data["appearances"]) >= 2}
    assert several, "the sample should have a claim reported by two sources"
    for slug, claim in several.items():
        main = sample.out.main(claim_url(sample.out.base, slug))
        shown = [squash(text(b)) for b in main.select(".wordings blockquote")]
        assert shown == [squash(w) for w in _wordings(claim)], slug


def test_claim_pages_show_quote_speaker_verdict_and_appearances(sample, content, scale):
    labels = {v["id"]: v["label"] for v in scale}
    base = sample.out.base
    for slug, claim in content["claims"].items():
        main = sample.out.main(claim_url(base, slug))
        assert squash(claim.data["quote"]) in text(main.find("h1")), slug
        speaker = content["speakers"][resolve(claim.data["speaker"], content["speakers"])]
        speaker_links = [text(a) for a in main.find_all("a", href=f"{base}speakers/{speaker.slug}/")]
        assert speaker.data["name"] in speaker_links, slug
        badge = main.find("a", class_="verdict")
        assert badge is not None and text(badge).endswith(labels[claim.data["verdict"]]), slug
        for appearance in claim.data["appearances"]:
            source = content["sources"][resolve(appearance["source"], content["sources"])]
            assert source.data["outlet"] in text(main), (slug, source.slug)
            assert f"{base}sources/{source.slug}/" in hrefs(main), (slug, source.slug)
            assert source.data["url"] in {h.split("#")[0] for h in hrefs(main)}, (slug, source.slug)


def test_claim_page_context_marks_each_wording(sample, content):
    """Each appearance shows its passage with the quoted words marked, in the source's words."""
    for slug, claim in content["claims"].items():
        main = sample.out.main(claim_url(sample.out.base, slug))
        passages = main.select("blockquote.passage")
        assert len(passages) == len(claim.data["appearances"]), slug
        for passage, wording in zip(passages, _wordings(claim)):
            marked = " ".join(text(m) for m in passage.find_all("mark"))
            words = lambda s: re.findall(r"\w+", s.casefold())  # noqa: E731
            # elisions (…) split a wording into fragments; every word is marked, in order
            assert words(marked) == [w for w in words(wording)], (slug, wording)


def test_source_pages_show_the_archived_paragraphs(sample, content):
    for slug, source in content["sources"].items():
        main = sample.out.main(f"{sample.out.base}sources/{slug}/")
        archived = main.find(class_="archived")
        assert archived is not None, slug
        assert [text(p) for p in archived.find_all("p")] == paragraphs(source.body), slug
        assert source.data["title"] == text(main.find("h1"))


def test_event_pages_list_their_claims_in_time_order(sample, content):
    base = sample.out.base
    for slug in content["events"]:
        said = {claim_url(base, s): c.data["said"] for s, c in content["claims"].items()
                if c.data.get("event") and resolve(c.data["event"], content["events"]) == slug}
        timeline = sample.out.main(f"{base}events/{slug}/").find(class_="timeline")
        linked = list(dict.fromkeys(h for h in hrefs(timeline) if h.startswith(f"{base}claims/"))) \
            if timeline else []
        assert set(linked) == set(said), slug
        assert [said[u] for u in linked] == sorted(said[u] for u in linked), slug


def test_tag_pages_list_exactly_the_tagged_claims(sample, content):
    from factsite.urls import slugify

    base = sample.out.base
    tagged: dict[str, set[str]] = {}
    for slug, claim in content["claims"].items():
        for name in claim.data.get("tags") or []:
            tagged.setdefault(slugify(name), set()).add(claim_url(base, slug))
    assert tagged
    per_page = sample.site.site_config().get("per_page", 20)
    for tag, claims in tagged.items():
        url, found = f"{base}tags/{tag}/", set()
        n = 1
        while sample.out.exists(url):
            found |= {h for h in hrefs(sample.out.main(url).find("ul", class_="cards"))
                      if h.startswith(f"{base}claims/")}
            n += 1
            url = f"{base}tags/{tag}/page/{n}/"
        assert found == claims, tag
        assert n - 1 == max(1, -(-len(claims) // per_page))


def test_about_page(sample, content, scale):
    about = content["pages"].get("about")
    url = f"{sample.out.base}about/"
    if about is None:
        assert not sample.out.exists(url)
        return
    main = sample.out.main(url)
    assert text(main.find("h1")) == about.data["title"]
    # the about page explains the whole verdict scale, in order
    terms = main.select("dl.scale dt")
    assert len(terms) == len(scale)
    assert all(text(dt).endswith(v["label"]) for dt, v in zip(terms, scale))


def test_each_verdict_has_a_page_listing_its_claims(sample, content, scale):
    base = sample.out.base
    for v in scale:
        url = f"{base}verdicts/{v['id']}/"
        main = sample.out.main(url)
        linked = {h for h in hrefs(main.find("ul", class_="cards")) if h.startswith(f"{base}claims/")}
        expected = {claim_url(base, s) for s, c in content["claims"].items() if c.data["verdict"] == v["id"]}
        assert linked == expected, v["id"]


def test_404_page_and_stylesheet_exist(sample):
    assert (sample.out.root / "404.html").is_file()
    assert (sample.out.root / "static" / "style.css").read_bytes() == (REPO / "templates" / "static" / "style.css").read_bytes()
    stylesheet = sample.out.soup(sample.out.base).find("link", rel="stylesheet")
    assert urlsplit(stylesheet["href"]).path == f"{sample.out.base}static/style.css"


def test_pages_declare_the_site_language_and_a_title(sample):
    language = sample.site.site_config()["language"]
    for page in sample.out.html_pages():
        soup = sample.out.soup(page)
        assert soup.html.get("lang") == language, page
        assert soup.title and soup.title.get_text().strip(), page


def test_the_preview_marks_draft_cards_and_only_those(tmp_path):
    """In the preview, a draft's card carries the draft badge on the index pages, and no
    published entry's card does: one of each kind is turned into a draft."""
    from bs4 import BeautifulSoup

    from factsite.pipeline import Builder

    site = stage_sample(tmp_path)
    drafted: dict[str, str] = {}
    for kind in ("claims", "speakers", "events", "sources"):
        entry = next(iter(read_entries(site.content, kind).values()))
        header, body = split_file(entry.path.read_text(encoding="utf-8"))
        entry.path.write_text(f"---\ndraft: true\n{header}\n---\n{body}", encoding="utf-8")
        drafted[kind] = entry.slug
    files = Builder(site.config, preview=True).build().files
    base = site_base(site.site_config())
    for kind, slug in drafted.items():
        soup = BeautifulSoup(files[f"{kind}/index.html"], "html.parser")
        cards = soup.find("main").select("article.card")
        badged = {urlsplit(card.find("a")["href"]).path for card in cards if card.select(".draft-badge")}
        assert badged == {f"{base}{kind}/{slug}/"}, kind
        assert len(cards) > 1, kind  # published cards were there to be left unmarked


def test_words_reported_in_indirect_speech_are_not_shown_as_a_quotation(sample, content):
    """A claim every source reported in indirect speech is the sources' account of what
    was said: its headline, card and feed entry mark it as reported speech and put no
    quotation marks around it (issue 26: it was shown as a direct quote)."""
    reported = {slug for slug, c in content["claims"].items()
                if all(a.get("indirect") for a in c.data["appearances"])}
    assert reported and reported != set(content["claims"])  # the sample has both kinds
    feed = sample.out.file(sample.out.base + "feed.xml").read_text(encoding="utf-8")
    for slug, claim in content["claims"].items():
        soup = sample.out.soup(claim_url(sample.out.base, slug))
        heading = soup.select_one("h1.claim-quote")
        words = " ".join(str(claim.data["quote"]).split())
        if slug in reported:
            assert heading.select_one(".reported-label").get_text() == "Reported speech:"
            assert "“" not in heading.get_text() and words in " ".join(heading.get_text().split())
            assert "(reported speech)" in soup.title.get_text()
        else:
            assert heading.select_one(".reported-label") is None
            assert heading.get_text().startswith("“") and heading.get_text().endswith("”")
    assert feed.count("(reported speech)</title>") == len(reported)
