"""The small fixture sites: minimal, unicode and paginated, built and read back parsed."""

from __future__ import annotations

import unicodedata

from conftest import hrefs, paragraphs, read_entries, text


# --------------------------------------------------------------------------- minimal

def test_minimal_site_has_one_page_per_entry_and_the_indexes(minimal):
    out, content = minimal.out, minimal.site.content
    expected = ["/", "/claims/", "/speakers/", "/events/", "/sources/", "/tags/"]
    for kind in ("claims", "speakers", "events", "sources"):
        entries = read_entries(content, kind)
        assert entries
        expected += [f"/{kind}/{slug}/" for slug in entries]
    for url in expected:
        assert out.exists(url), url
    assert (out.root / "404.html").is_file()
    assert (out.root / "static" / "style.css").is_file()


def test_minimal_index_lists_every_claim_once(minimal):
    claims = read_entries(minimal.site.content, "claims")
    listed = [h for h in hrefs(minimal.out.main("/claims/").find("ul", class_="cards"))
              if h.startswith("/claims/")]
    assert sorted(set(listed)) == sorted(f"/claims/{s}/" for s in claims)
    assert len(listed) == len(set(listed))
    assert not minimal.out.exists("/claims/page/2/")


def test_minimal_claim_page_shows_the_notes_as_html(minimal):
    claim = read_entries(minimal.site.content, "claims")["agreement-not-implemented"]
    notes = minimal.out.main("/claims/agreement-not-implemented/").find(class_="notes")
    assert notes is not None
    # "## Context" in the body sits under the page's own h2s
    assert [text(h) for h in notes.find_all("h3")] == ["Context"]
    link = notes.find("a", href="https://example.com/report")
    assert link is not None and text(link) == "had not been taken"
    assert "by the end of 2022" in text(notes)
    assert "## Context" in claim.body


def test_minimal_tags_link_to_tag_pages(minimal):
    main = minimal.out.main("/claims/agreement-not-implemented/")
    tags = main.find("ul", class_="tags")
    assert [text(a) for a in tags.find_all("a")] == ["Dialogue", "Agreements"]
    for href in hrefs(tags):
        assert minimal.out.exists(href)
    dialogue = minimal.out.main("/tags/dialogue/")
    assert {h for h in hrefs(dialogue) if h.startswith("/claims/")} == {
        "/claims/talks-resume-in-january/", "/claims/agreement-not-implemented/"}


# --------------------------------------------------------------------------- unicode

def test_unicode_file_name_gives_an_ascii_slug(unicode_site):
    assert (unicode_site.site.content / "speakers" / "Vučić.md").is_file()
    assert unicode_site.out.exists("/speakers/vucic/")
    h1 = unicode_site.out.main("/speakers/vucic/").find("h1")
    assert text(h1) == "Aleksandar Vučić"
    assert unicodedata.is_normalized("NFC", text(h1))


def test_unicode_speaker_reference_by_name_with_diacritics(unicode_site):
    """povratak-snaga.md says `speaker: "Vučić"`, necemo-dozvoliti.md says `speaker: vucic`."""
    page = unicode_site.out.main("/speakers/vucic/")
    linked = {h for h in hrefs(page) if h.startswith("/claims/")}
    assert linked == {f"/claims/{s}/" for s in read_entries(unicode_site.site.content, "claims")}


def test_unicode_claim_pages_keep_cyrillic_and_latin_text_intact(unicode_site):
    for slug, claim in read_entries(unicode_site.site.content, "claims").items():
        main = unicode_site.out.main(f"/claims/{slug}/")
        assert claim.data["quote"] in text(main.find("h1")), slug
        assert "Aleksandar Vučić" in text(main)
        passage = main.find("blockquote", class_="passage")
        assert passage.get("lang") == "sr-Cyrl"
        assert text(passage.find("mark")) == claim.data["quote"]


def test_unicode_notes_body_is_intact(unicode_site):
    main = unicode_site.out.main("/claims/necemo-dozvoliti/")
    assert "žalbe, đaci i džepovi — ovde su sva slova: č ć đ š ž." in text(main.find(class_="notes"))


def test_unicode_event_page_shows_the_place(unicode_site):
    event = read_entries(unicode_site.site.content, "events")["barikade-2022"]
    main = unicode_site.out.main("/events/barikade-2022/")
    assert event.data["place"] == "Kosovska Mitrovica"
    assert "Kosovska Mitrovica" in text(main.find(class_="lede"))


def test_unicode_source_page_shows_cyrillic_paragraphs(unicode_site):
    source = read_entries(unicode_site.site.content, "sources")["rts-2022-12-11-vojska"]
    main = unicode_site.out.main("/sources/rts-2022-12-11-vojska/")
    assert text(main.find("h1")) == source.data["title"]
    assert [text(p) for p in main.find(class_="archived").find_all("p")] == paragraphs(source.body)
    assert main.find(class_="archived").get("lang") == "sr-Cyrl"


def test_unicode_tags_get_ascii_addresses_that_resolve(unicode_site):
    main = unicode_site.out.main("/claims/povratak-snaga/")
    tags = main.find("ul", class_="tags")
    names = [text(a) for a in tags.find_all("a")]
    assert names == ["Косово и Метохија", "Rezolucija 1244"]
    for href in hrefs(tags):
        assert href.isascii(), href
        assert unicode_site.out.exists(href), href
    assert unicode_site.out.exists("/tags/rezolucija-1244/")


def test_unicode_html_is_utf8_and_declares_it(unicode_site):
    raw = unicode_site.out.file("/speakers/vucic/").read_bytes()
    assert "Vučić".encode("utf-8") in raw
    soup = unicode_site.out.soup("/speakers/vucic/")
    assert soup.find("meta", charset=True)["charset"].lower() == "utf-8"
    assert soup.html["lang"] == unicode_site.site.site_config()["language"]


# --------------------------------------------------------------------------- paginated

def _pages(out, base: str) -> list[str]:
    urls, n = [], 1
    url = base
    while out.exists(url):
        urls.append(url)
        n += 1
        url = f"{base}page/{n}/"
    return urls


def test_paginated_claims_index_has_ceil_n_over_per_page_pages(paginated):
    per_page = paginated.site.site_config()["per_page"]
    claims = read_entries(paginated.site.content, "claims")
    n_pages = -(-len(claims) // per_page)
    assert (per_page, len(claims), n_pages) == (2, 5, 3)  # what the fixture is for
    out = paginated.out
    assert out.exists("/claims/") and out.exists("/claims/page/2/") and out.exists("/claims/page/3/")
    assert not out.exists("/claims/page/4/")
    assert not out.exists("/claims/page/1/")  # page 1 is /claims/ itself
    assert _pages(out, "/claims/") == ["/claims/", "/claims/page/2/", "/claims/page/3/"]


def test_paginated_each_claim_on_exactly_one_page_newest_first(paginated):
    per_page = paginated.site.site_config()["per_page"]
    claims = read_entries(paginated.site.content, "claims")
    seen: list[str] = []
    for url in _pages(paginated.out, "/claims/"):
        cards = paginated.out.main(url).find("ul", class_="cards")
        on_page = [h for h in dict.fromkeys(hrefs(cards)) if h.startswith("/claims/")]
        assert 1 <= len(on_page) <= per_page, url
        seen += on_page
    assert sorted(seen) == sorted(f"/claims/{s}/" for s in claims)
    newest_first = sorted(claims, key=lambda s: (claims[s].data["said"], s), reverse=True)
    assert seen == [f"/claims/{s}/" for s in newest_first]


def test_paginated_pagination_links_resolve_and_chain(paginated):
    out = paginated.out
    pages = _pages(out, "/claims/")
    for i, url in enumerate(pages):
        nav = out.main(url).find("nav", class_="pagination")
        assert nav is not None, url
        for href in hrefs(nav):
            assert out.exists(href), (url, href)
        nxt = nav.find("a", rel="next")
        prev = nav.find("a", rel="prev")
        assert (nxt["href"] if nxt else None) == (pages[i + 1] if i + 1 < len(pages) else None)
        assert (prev["href"] if prev else None) == (pages[i - 1] if i > 0 else None)
        current = nav.find(attrs={"aria-current": "page"})
        assert current is not None and text(current) == str(i + 1)


def test_paginated_tag_and_verdict_pages_paginate_too(paginated):
    per_page = paginated.site.site_config()["per_page"]
    claims = read_entries(paginated.site.content, "claims")
    all_tagged = [s for s, c in claims.items() if "City budget" in c.data["tags"]]
    assert len(_pages(paginated.out, "/tags/city-budget/")) == -(-len(all_tagged) // per_page)
    for verdict in paginated.site.site_config()["verdicts"]:
        n = sum(c.data["verdict"] == verdict["id"] for c in claims.values())
        assert len(_pages(paginated.out, f"/verdicts/{verdict['id']}/")) == max(1, -(-n // per_page))


def test_event_page_lists_claims_oldest_first(paginated):
    claims = read_entries(paginated.site.content, "claims")
    (slug, _event), = read_entries(paginated.site.content, "events").items()
    ours = {f"/claims/{s}/": c.data["said"] for s, c in claims.items() if c.data.get("event") == slug}
    assert len(set(ours.values())) == len(ours) > 1  # different days, so the order is visible
    timeline = paginated.out.main(f"/events/{slug}/").find(class_="timeline")
    linked = list(dict.fromkeys(h for h in hrefs(timeline) if h.startswith("/claims/")))
    assert linked == sorted(ours, key=ours.get)


def test_paginated_list_shows_the_total(paginated):
    claims = read_entries(paginated.site.content, "claims")
    for url in _pages(paginated.out, "/claims/"):
        assert text(paginated.out.main(url).find(class_="count")) == f"{len(claims)} entries."


def test_fixture_sites_have_no_broken_internal_links(minimal, unicode_site, paginated):
    for built in (minimal, unicode_site, paginated):
        out = built.out
        for page in out.html_pages():
            for element in out.soup(page).find_all(True):
                for attribute in ("href", "src", "action"):
                    value = element.get(attribute)
                    if value and value.startswith("/") and not value.startswith("//"):
                        assert out.exists(value), f"{built.site.root.name}{page}: {value}"


def test_quotes_match_whatever_unicode_normal_form_the_source_uses(tmp_path):
    """Text pasted from some systems is decomposed (NFD: c + combining caron); a quote typed
    as precomposed letters (NFC) is the same text and must still be found."""
    from conftest import stage

    site = stage("sites", "unicode", tmp_path)
    source = site.content / "sources" / "rts-2022-12-11-vojska.md"
    text_nfc = source.read_text(encoding="utf-8")
    text_nfd = unicodedata.normalize("NFD", text_nfc)
    assert text_nfd != text_nfc  # č, ć, ž… decompose
    source.write_text(text_nfd, encoding="utf-8")
    run = site.cli("check", "--format", "json")
    assert run.code == 0, run.out
    assert run.out.strip() == "[]"
