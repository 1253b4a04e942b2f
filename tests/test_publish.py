"""Publish-ready output (issue 6): addresses under any base URL, feeds, sitemap, head
metadata, ClaimReview, the search index, and builds that change only what changed.

The repo's sample site is built twice through `python build.py --base-url URL --output DIR`:
once for the root of a host (https://example.org/) and once for a sub-path
(https://example.org/factcheck/). Every check that concerns addresses runs on both builds.
Expectations come from the content files and site_config.yaml (read with yaml.safe_load),
not from counts of the sample.

The Atom feeds are validated against RFC 4287's RELAX NG schema and the sitemap against the
sitemaps.org 0.9 XSD (both in tests/schemas/, each with a note of where it came from), with
lxml. The RFC's rules that the schema cannot express (exactly one id, author on the feed or on
every entry, a self link, ...) are checked by hand as well.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from conftest import TESTS, Entry, Output, SiteDir, read_entries, resolve, split_file, stage_sample

ATOM = "http://www.w3.org/2005/Atom"
A = f"{{{ATOM}}}"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
SCHEMAS = TESTS / "schemas"
MANIFEST = ".factsite-manifest.json"
FEED_SIZE = 50  # entries per feed at most (factsite.pages.FEED_SIZE)

ROOT_URL = "https://example.org/"
SUBPATH_URL = "https://example.org/factcheck/"

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# --------------------------------------------------------------------------- builds

KINDS = ("claims", "speakers", "events", "sources", "pages")


@dataclass
class Published:
    """One build of the sample for one base URL, with what the content files say."""
    site: SiteDir
    out: Output
    base_url: str

    @property
    def root(self) -> Path:
        return self.out.root

    @property
    def base(self) -> str:
        """The base URL's path: '/' or '/factcheck/'."""
        return self.out.base

    @cached_property
    def config(self) -> dict[str, Any]:
        return self.site.site_config()

    @cached_property
    def content(self) -> dict[str, dict[str, Entry]]:
        return {kind: read_entries(self.site.content, kind) for kind in KINDS}

    def full(self, path: str) -> str:
        """A site-relative path ('claims/x/') as a full URL under the base URL."""
        return self.base_url + path

    def relative(self, page_url: str) -> str:
        """A page's URL path ('/factcheck/claims/x/') relative to the base ('claims/x/')."""
        assert page_url.startswith(self.base), page_url
        return page_url[len(self.base):]

    def feeds(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("feed.xml"))

    def speaker_of(self, claim: Entry) -> str:
        return resolve(claim.data["speaker"], self.content["speakers"])

    def event_of(self, claim: Entry) -> str | None:
        ref = claim.data.get("event")
        return resolve(ref, self.content["events"]) if ref else None


def _publish(tmp: Path, base_url: str) -> Published:
    site = stage_sample(tmp)
    run = site.run("--base-url", base_url, "--output", str(tmp / "out"))
    assert run.code == 0, run.text
    assert run.err == "", run.err  # the sample builds without a warning
    return Published(site, Output(tmp / "out", urlsplit(base_url).path), base_url)


@pytest.fixture(scope="module")
def root_build(tmp_path_factory) -> Published:
    return _publish(tmp_path_factory.mktemp("publish-root"), ROOT_URL)


@pytest.fixture(scope="module")
def subpath_build(tmp_path_factory) -> Published:
    return _publish(tmp_path_factory.mktemp("publish-subpath"), SUBPATH_URL)


@pytest.fixture(scope="module", params=["root", "subpath"])
def published(request) -> Published:
    return request.getfixturevalue(f"{request.param}_build")


# --------------------------------------------------------------------------- reading output

def parse_xml(path: Path):
    etree = pytest.importorskip("lxml.etree")
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))


def xml_root(path: Path):
    """Well-formed XML or a failure (the standard library parser, no lxml needed)."""
    import xml.etree.ElementTree as ET

    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:  # pragma: no cover - reported as a failure
        pytest.fail(f"{path} is not well-formed XML: {exc}")


def html_addresses(pub: Published, page: str) -> list[tuple[str, str]]:
    """(where, address) for every address in a page: href, src, action, data-index,
    data-base on any element, and og:url."""
    found = []
    for element in pub.out.soup(page).find_all(True):
        for attribute in ("href", "src", "action", "data-index", "data-base"):
            value = element.get(attribute)
            if value is not None:
                found.append((f"{page} <{element.name} {attribute}>", value))
        if element.name == "meta" and element.get("property") == "og:url":
            found.append((f"{page} og:url", element.get("content", "")))
    return found


def feed_addresses(pub: Published, feed: str) -> list[tuple[str, str]]:
    root = xml_root(pub.root / feed)
    found = [(f"{feed} <link {e.get('rel')}>", e.get("href", "")) for e in root.iter(f"{A}link")]
    found += [(f"{feed} <id>", (e.text or "").strip()) for e in root.iter(f"{A}id")]
    found += [(f"{feed} <author><uri>", (e.text or "").strip()) for e in root.iter(f"{A}uri")]
    return found


def sitemap_locs(pub: Published) -> list[str]:
    root = xml_root(pub.root / "sitemap.xml")
    return [(e.text or "").strip() for e in root.iter(f"{{{SITEMAP_NS}}}loc")]


def robots_sitemaps(pub: Published) -> list[str]:
    lines = (pub.root / "robots.txt").read_text(encoding="utf-8").splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("sitemap:")]


def address_problem(pub: Published, address: str) -> str | None:
    """Why an address found in the output is not a working link into the site, or None.

    Fragments (#main) and other hosts are fine; everything on the site's own host must be
    root-relative under the base path or a full URL under the base URL, and name a file."""
    parts = urlsplit(address)
    if parts.scheme in ("mailto", "tel"):
        return None
    if parts.scheme or parts.netloc:
        if parts.netloc != urlsplit(pub.base_url).netloc:
            return None  # another site (a source's original article)
        if not address.startswith(pub.base_url):
            return f"a full URL outside the base URL {pub.base_url}"
    elif not parts.path:
        return None  # '#main', '?q=' on the same page
    elif not parts.path.startswith(pub.base):
        return ("a relative address (breaks at other depths)" if not parts.path.startswith("/")
                else f"points outside the base path {pub.base}")
    if not pub.out.exists(address):
        return f"names no file of the output ({pub.out.file(address).relative_to(pub.root)})"
    return None


# --------------------------------------------------------------------------- base URL and sub-paths

def test_every_internal_address_is_under_the_base_url_and_resolves(published):
    """HTML href/src/action/data-*, og:url and canonical, feed links and ids, sitemap <loc>,
    robots.txt's Sitemap line: all under the base URL (path or full URL), all naming a file."""
    pub = published
    found: list[tuple[str, str]] = []
    for page in pub.out.html_pages():
        found += html_addresses(pub, page)
    for feed in pub.feeds():
        found += feed_addresses(pub, feed)
    found += [("sitemap.xml <loc>", loc) for loc in sitemap_locs(pub)]
    found += [("robots.txt Sitemap", s) for s in robots_sitemaps(pub)]
    internal = [a for _, a in found if address_problem(pub, a) is None
                and (a.startswith(pub.base) or a.startswith(pub.base_url))]
    assert len(internal) > 500  # the check really looked at the site
    broken = [f"{where}: {address}: {why}" for where, address in found
              if (why := address_problem(pub, address))]
    assert broken == []


def test_stylesheets_icon_and_feed_links_are_under_the_base_path(published):
    pub = published
    for page in pub.out.html_pages():
        head = pub.out.soup(page).head
        links = head.find_all("link", href=True)
        rels = {rel for link in links for rel in link.get("rel", [])}
        assert {"stylesheet", "icon", "alternate", "canonical"} <= rels, page
        for link in links:
            if "canonical" in link["rel"]:
                continue
            assert link["href"].startswith(pub.base), (page, link)
            assert pub.out.exists(link["href"]), (page, link["href"])


def test_nothing_points_at_the_host_root_when_built_for_a_sub_path(subpath_build):
    """Scan the bytes of every text file: no attribute value "/..." and no URL on the
    site's host that leaves /factcheck/ (catches addresses a parser would not show)."""
    pub = subpath_build
    outside_path = re.compile(r"""(?:href|src|action|content|data-[a-z-]+)\s*=\s*["']/(?!factcheck/|/)""")
    outside_url = re.compile(r"https?://example\.org(?!/factcheck/)[^\s\"'<>]*")
    found = []
    for path in sorted(pub.root.rglob("*")):
        if not path.is_file() or path.suffix not in (".html", ".xml", ".txt", ".json", ".js", ".css"):
            continue
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(pub.root).as_posix()
        found += [f"{name}: {m.group(0)}" for m in outside_path.finditer(text)]
        found += [f"{name}: {m.group(0)}" for m in outside_url.finditer(text)]
        if path.suffix == ".css":
            found += [f"{name}: {m.group(0)}" for m in re.finditer(r"url\(\s*['\"]?/(?!factcheck/)", text)]
    assert found == []


# --------------------------------------------------------------------------- feeds

def expected_feeds(pub: Published) -> dict[str, tuple[str, list[str]]]:
    """feed path -> (its HTML page, slugs of the claims it carries)."""
    claims = pub.content["claims"]
    feeds = {"feed.xml": ("", sorted(claims))}
    for slug in pub.content["speakers"]:
        feeds[f"speakers/{slug}/feed.xml"] = (
            f"speakers/{slug}/", sorted(c for c, e in claims.items() if pub.speaker_of(e) == slug))
    for slug in pub.content["events"]:
        feeds[f"events/{slug}/feed.xml"] = (
            f"events/{slug}/", sorted(c for c, e in claims.items() if pub.event_of(e) == slug))
    return feeds


def test_a_feed_for_the_site_and_for_every_speaker_and_event(published):
    assert published.feeds() == sorted(expected_feeds(published))


def test_feeds_validate_against_the_atom_relax_ng_schema(published):
    etree = pytest.importorskip("lxml.etree")
    schema = etree.RelaxNG(etree.parse(str(SCHEMAS / "atom.rng")))
    invalid = {}
    for feed in published.feeds():
        if not schema.validate(parse_xml(published.root / feed)):
            invalid[feed] = [str(e) for e in schema.error_log]
    assert invalid == {}


def _rfc3339(value: str | None, where: str) -> dt.datetime:
    assert value is not None and RFC3339.match(value.strip()), f"{where}: {value!r} is not an RFC 3339 date-time"
    return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))


def _one(parent, tag: str, where: str):
    found = parent.findall(f"{A}{tag}")
    assert len(found) == 1, f"{where}: {len(found)} atom:{tag} elements, RFC 4287 wants exactly one"
    return found[0]


def _at_most_one(parent, tags: tuple[str, ...], where: str) -> None:
    for tag in tags:
        assert len(parent.findall(f"{A}{tag}")) <= 1, f"{where}: more than one atom:{tag}"


def _absolute_iri(value: str, where: str) -> None:
    parts = urlsplit(value)
    assert parts.scheme and (parts.netloc or parts.scheme in ("urn", "tag")), \
        f"{where}: atom:id {value!r} is not an absolute IRI"


def _alternates_unique(element, where: str) -> list:
    """RFC 4287 4.1.1/4.1.2: at most one rel=alternate link per type and hreflang."""
    alternates = [link for link in element.findall(f"{A}link") if link.get("rel", "alternate") == "alternate"]
    keys = [(link.get("type"), link.get("hreflang")) for link in alternates]
    assert len(keys) == len(set(keys)), f"{where}: two alternate links with the same type and hreflang"
    return alternates


def _person_ok(person, where: str) -> None:
    assert len(person.findall(f"{A}name")) == 1 and (person.findtext(f"{A}name") or "").strip(), \
        f"{where}: atom:author needs exactly one non-empty atom:name"


def test_feeds_follow_rfc_4287(published):
    """The rules of RFC 4287 sections 4.1.1, 4.1.2 and 4.2, checked by hand."""
    pub = published
    for feed, (page, _) in expected_feeds(pub).items():
        root = xml_root(pub.root / feed)
        assert root.tag == f"{A}feed", f"{feed}: root element is {root.tag}"
        # feed: exactly one id, title, updated; at most one of the single-valued elements
        feed_id = (_one(root, "id", feed).text or "").strip()
        _absolute_iri(feed_id, feed)
        assert (_one(root, "title", feed).text or "").strip(), f"{feed}: empty title"
        feed_updated = _rfc3339(_one(root, "updated", feed).text, f"{feed} <updated>")
        _at_most_one(root, ("generator", "icon", "logo", "rights", "subtitle"), feed)
        for text_construct in root.iter():
            if text_construct.tag in (f"{A}title", f"{A}subtitle", f"{A}summary", f"{A}rights"):
                assert text_construct.get("type", "text") in ("text", "html", "xhtml"), feed
        # a self link equal to the feed's own URL, one alternate: the page it summarises
        links = root.findall(f"{A}link")
        selves = [link.get("href") for link in links if link.get("rel") == "self"]
        assert selves == [pub.full(feed)], f"{feed}: rel=self is {selves}"
        alternates = _alternates_unique(root, feed)
        assert [link.get("href") for link in alternates] == [pub.full(page)], feed
        assert all(link.get("href") for link in links), f"{feed}: a link without href"
        # authors: on the feed, or on every entry
        entries = root.findall(f"{A}entry")
        authors = root.findall(f"{A}author")
        for author in authors:
            _person_ok(author, feed)
        if not authors:
            assert entries and all(e.findall(f"{A}author") for e in entries), \
                f"{feed}: no atom:author on the feed nor on every entry"
        ids = []
        latest = None
        for number, entry in enumerate(entries, start=1):
            where = f"{feed} entry {number}"
            entry_id = (_one(entry, "id", where).text or "").strip()
            _absolute_iri(entry_id, where)
            ids.append(entry_id)
            assert (_one(entry, "title", where).text or "").strip(), f"{where}: empty title"
            updated = _rfc3339(_one(entry, "updated", where).text, f"{where} <updated>")
            latest = max(latest, updated) if latest else updated
            _at_most_one(entry, ("published", "rights", "source", "summary", "content"), where)
            for published_at in entry.findall(f"{A}published"):
                _rfc3339(published_at.text, f"{where} <published>")
            for author in entry.findall(f"{A}author"):
                _person_ok(author, where)
            alternates = _alternates_unique(entry, where)
            if entry.find(f"{A}content") is None:
                assert alternates, f"{where}: no atom:content, so a rel=alternate link is required"
            for link in alternates:
                assert address_problem(pub, link.get("href")) is None, (where, link.get("href"))
        assert len(ids) == len(set(ids)), f"{feed}: two entries share an atom:id"
        if latest is not None:
            assert feed_updated == latest, f"{feed}: feed <updated> is not its newest entry's"


def test_feed_entries_are_the_claims_of_their_page(published):
    """Each entry is a claim: its id and alternate link are the claim page's full URL."""
    pub = published
    for feed, (_, slugs) in expected_feeds(pub).items():
        root = xml_root(pub.root / feed)
        entries = root.findall(f"{A}entry")
        ids = [e.findtext(f"{A}id").strip() for e in entries]
        expected = {pub.full(f"claims/{slug}/") for slug in slugs}
        if len(expected) <= FEED_SIZE:
            assert set(ids) == expected, feed
        else:
            assert len(ids) == FEED_SIZE and set(ids) <= expected, feed
        for entry in entries:
            href = [link.get("href") for link in entry.findall(f"{A}link")
                    if link.get("rel", "alternate") == "alternate"]
            assert href == [entry.findtext(f"{A}id").strip()], feed


def _feed_ids(root: Path) -> dict[str, list[str]]:
    ids = {}
    for path in sorted(root.rglob("feed.xml")):
        tree = xml_root(path)
        ids[path.relative_to(root).as_posix()] = [tree.findtext(f"{A}id")] + \
            [e.findtext(f"{A}id") for e in tree.findall(f"{A}entry")]
    return ids


def test_feed_and_entry_ids_are_stable_across_builds(root_build, tmp_path: Path):
    """A second, clean build (no cache, no previous output) gives every feed and entry the same id."""
    again = root_build.site.build(tmp_path / "again", base_url=ROOT_URL, use_cache=False)
    assert again.problems.items == []
    first, second = _feed_ids(root_build.root), _feed_ids(tmp_path / "again")
    assert first and first == second


def test_every_page_links_the_site_feed_and_speaker_and_event_pages_their_own(published):
    pub = published
    site_feed = pub.base + "feed.xml"
    for page in pub.out.html_pages():
        rel = pub.relative(page)
        head = pub.out.soup(page).head
        feeds = [link["href"] for link in head.find_all("link", rel="alternate", href=True)
                 if link.get("type") == "application/atom+xml"]
        own = []
        if re.fullmatch(r"(speakers|events)/[^/]+/", rel):
            own = [pub.base + rel + "feed.xml"]
        assert feeds == [site_feed] + own, page
        for href in feeds:
            assert pub.out.exists(href), (page, href)


# --------------------------------------------------------------------------- sitemap and robots.txt

def test_sitemap_validates_against_the_sitemaps_org_schema(published):
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "sitemap.xsd")))
    valid = schema.validate(parse_xml(published.root / "sitemap.xml"))
    assert valid, [str(e) for e in schema.error_log]


def test_sitemap_lists_every_page_but_404_exactly_once(published):
    pub = published
    locs = sitemap_locs(pub)
    assert len(locs) == len(set(locs)), [loc for loc in locs if locs.count(loc) > 1]
    pages = {pub.full(pub.relative(p)) for p in pub.out.html_pages()}
    assert pub.full("404.html") in pages
    assert set(locs) == pages - {pub.full("404.html")}
    for loc in locs:
        assert loc.startswith(pub.base_url) and pub.out.exists(loc), loc


def test_sitemap_lastmod_of_a_claim_is_when_it_was_last_reviewed(published):
    pub = published
    root = xml_root(pub.root / "sitemap.xml")
    lastmod = {u.findtext(f"{{{SITEMAP_NS}}}loc").strip(): u.findtext(f"{{{SITEMAP_NS}}}lastmod")
               for u in root.iter(f"{{{SITEMAP_NS}}}url")}
    for slug, claim in pub.content["claims"].items():
        changed = claim.data.get("updated") or claim.data["reviewed"]
        assert lastmod[pub.full(f"claims/{slug}/")] == changed.isoformat(), slug


def test_robots_txt_points_to_the_sitemap(published):
    assert robots_sitemaps(published) == [published.full("sitemap.xml")]
    assert (published.root / "sitemap.xml").is_file()


# --------------------------------------------------------------------------- 404 and <head>

def test_404_page_has_one_heading_and_links_that_work_at_any_depth(published):
    pub = published
    assert (pub.root / "404.html").is_file()
    soup = pub.out.soup(pub.base + "404.html")
    assert len(soup.find_all("h1")) == 1
    addresses = html_addresses(pub, pub.base + "404.html")
    assert addresses
    # the server answers any missing address with this file: links must not depend on where
    deep = pub.full("claims/no-such-claim/page/2/")
    for where, address in addresses:
        parts = urlsplit(address)
        if not (parts.scheme or parts.netloc or parts.path):
            continue  # '#main'
        assert parts.scheme or address.startswith("/"), f"{where}: {address} is a relative address"
        assert address_problem(pub, urljoin(deep, address)) is None, (where, address)


def test_canonical_and_og_url_are_the_full_url_of_every_page(published):
    pub = published
    for page in pub.out.html_pages():
        head = pub.out.soup(page).head
        canonical = [link["href"] for link in head.find_all("link", rel="canonical")]
        assert canonical == [pub.full(pub.relative(page))], page
        og_url = [m.get("content") for m in head.find_all("meta", property="og:url")]
        assert og_url == canonical, page


def test_open_graph_and_twitter_card_on_every_page(published):
    pub = published
    for page in pub.out.html_pages():
        head = pub.out.soup(page).head
        meta = {}
        for m in head.find_all("meta"):
            key = m.get("property") or m.get("name")
            if key:
                meta.setdefault(key, []).append((m.get("content") or "").strip())
        for key in ("og:title", "og:description", "og:url", "og:type", "twitter:card"):
            assert len(meta.get(key, [])) == 1 and meta[key][0], f"{page}: {key} missing or empty"
        is_claim = re.fullmatch(r"claims/[^/]+/", pub.relative(page)) is not None
        assert meta["og:type"] == ["article" if is_claim else "website"], page
        assert meta["twitter:card"][0] in ("summary", "summary_large_image", "app", "player"), page


def test_favicon_link_resolves_to_the_icon(published):
    pub = published
    icon = (pub.site.root / "templates" / "static" / "favicon.svg").read_bytes()
    for page in pub.out.html_pages():
        icons = pub.out.soup(page).head.find_all("link", rel="icon")
        assert len(icons) == 1, page
        assert pub.out.exists(icons[0]["href"]), (page, icons[0]["href"])
        assert pub.out.file(icons[0]["href"]).read_bytes() == icon


# --------------------------------------------------------------------------- ClaimReview

def json_ld(soup) -> list[dict[str, Any]]:
    return [json.loads(s.string) for s in soup.find_all("script", type="application/ld+json")]


def test_claim_review_matches_the_claim_and_the_config(published):
    pub = published
    config = pub.config
    verdicts = {v["id"]: v for v in config["verdicts"]}
    for slug, claim in pub.content["claims"].items():
        url = pub.base + f"claims/{slug}/"
        soup = pub.out.soup(url)
        reviews = [d for d in json_ld(soup) if d.get("@type") == "ClaimReview"]
        assert len(reviews) == 1, slug
        review = reviews[0]
        canonical = soup.head.find("link", rel="canonical")["href"]
        data = claim.data
        verdict = verdicts[data["verdict"]]
        speaker = pub.content["speakers"][pub.speaker_of(claim)]

        assert review["@context"] == "https://schema.org", slug
        assert review["url"] == canonical == pub.full(f"claims/{slug}/"), slug
        assert review["claimReviewed"] == data["quote"], slug
        assert review["datePublished"] == data["reviewed"].isoformat(), slug
        if data.get("updated"):
            assert review["dateModified"] == data["updated"].isoformat(), slug
        else:
            assert "dateModified" not in review, slug
        assert review["author"]["@type"] == "Organization", slug
        assert review["author"]["name"] == config["publisher"], slug
        if config.get("language"):
            assert review["inLanguage"] == config["language"], slug

        rating = review["reviewRating"]
        assert rating["@type"] == "Rating", slug
        assert rating["alternateName"] == verdict["label"], slug
        if verdict.get("rating") is not None:
            assert rating["ratingValue"] == verdict["rating"], slug
            assert rating["bestRating"] == config["rating_best"], slug
            assert rating["worstRating"] == config["rating_worst"], slug
        else:
            assert "ratingValue" not in rating, slug

        item = review["itemReviewed"]
        assert item["@type"] == "Claim", slug
        assert item["author"]["@type"] == "Person", slug
        assert item["author"]["name"] == speaker.data["name"], slug
        assert item["datePublished"] == data["said"].isoformat(), slug
        sources = [pub.content["sources"][resolve(a["source"], pub.content["sources"])]
                   for a in data["appearances"]]
        appearance = item["appearance"]
        assert isinstance(appearance, list) and len(appearance) == len(sources), slug
        for work, source in zip(appearance, sources):
            assert work["@type"] == "CreativeWork", slug
            assert work["url"] == source.data["url"], slug
        first = item["firstAppearance"]
        assert first in appearance, slug
        earliest = min(s.data["published"] for s in sources)
        assert first["datePublished"] == earliest.isoformat(), slug


def test_only_claim_pages_carry_a_claim_review(published):
    pub = published
    for page in pub.out.html_pages():
        reviews = [d for d in json_ld(pub.out.soup(page)) if d.get("@type") == "ClaimReview"]
        is_claim = re.fullmatch(r"claims/[^/]+/", pub.relative(page)) is not None
        assert len(reviews) == (1 if is_claim else 0), page


# --------------------------------------------------------------------------- search index

def test_search_index_lists_every_claim_speaker_event_and_source(published):
    pub = published
    index = json.loads((pub.root / "search" / "index.json").read_text(encoding="utf-8"))
    fields = index["fields"]
    records = [dict(zip(fields, r)) for r in index["records"]]
    assert {"kind", "url", "title"} <= set(fields)
    # the search page finds the index and builds result links from data-base
    form = pub.out.soup(pub.base + "search/").find("form", class_="search-form")
    assert form["data-index"] == pub.base + "search/index.json"
    assert form["data-base"] == pub.base
    found = {(r["kind"], r["url"]) for r in records}
    assert len(found) == len(records), "a record is listed twice"
    c = pub.content
    expected = {("claim", f"claims/{s}/") for s in c["claims"]} \
        | {("speaker", f"speakers/{s}/") for s in c["speakers"]} \
        | {("event", f"events/{s}/") for s in c["events"]} \
        | {("source", f"sources/{s}/") for s in c["sources"]}
    assert found == expected
    titles = {("claim", f"claims/{s}/"): e.data["quote"] for s, e in c["claims"].items()}
    titles |= {("speaker", f"speakers/{s}/"): e.data["name"] for s, e in c["speakers"].items()}
    titles |= {("event", f"events/{s}/"): e.data["name"] for s, e in c["events"].items()}
    titles |= {("source", f"sources/{s}/"): e.data["title"] for s, e in c["sources"].items()}
    for record in records:
        key = (record["kind"], record["url"])
        assert record["title"] == titles[key], key
        # search.js links to data-base + url
        assert pub.out.exists(form["data-base"] + record["url"]), key


# --------------------------------------------------------------------------- minimal uploads

def identities(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file of an output folder: bytes, inode, mtime_ns."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            found[path.relative_to(root).as_posix()] = (path.read_bytes(), st.st_ino, st.st_mtime_ns)
    return found


def changed_files(before: dict, after: dict) -> set[str]:
    """Files added, removed, or touched (other bytes, inode or mtime) between two snapshots."""
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[SiteDir, Path]:
    """A copy of the sample of its own, built once (into tmp/out) with the root base URL."""
    site = stage_sample(tmp_path)
    out = tmp_path / "out"
    run = site.run("--base-url", ROOT_URL, "--output", str(out))
    assert run.code == 0, run.text
    return site, out


def rebuild(site: SiteDir, out: Path) -> None:
    run = site.run("--base-url", ROOT_URL, "--output", str(out))
    assert run.code == 0, run.text


def test_unchanged_rebuild_keeps_every_file_including_the_manifest(fresh):
    """A second `build.py` with nothing changed writes nothing: same inode and mtime_ns for
    every file, which is what rsync/sync tools compare."""
    site, out = fresh
    before = identities(out)
    kinds = {Path(name).suffix for name in before}
    assert {".html", ".xml", ".txt", ".json", ".css", ".js", ".svg"} <= kinds
    # one file of each kind, named, so a failure says which kind is rewritten
    for name in ("index.html", "claims/index.html", "404.html", "feed.xml", "sitemap.xml",
                 "robots.txt", "search/index.json", "static/style.css", "static/search.js",
                 "static/favicon.svg", MANIFEST):
        assert name in before, name
    rebuild(site, out)
    after = identities(out)
    assert changed_files(before, after) == set()


def _a_claim(site: SiteDir) -> Entry:
    """A claim with an event, so its speaker's and its event's feeds both carry it."""
    claims = read_entries(site.content, "claims")
    return next(c for slug, c in sorted(claims.items()) if c.data.get("event"))


def _feeds_of(site: SiteDir, claim: Entry) -> set[str]:
    speakers = read_entries(site.content, "speakers")
    events = read_entries(site.content, "events")
    feeds = {"feed.xml", f"speakers/{resolve(claim.data['speaker'], speakers)}/feed.xml"}
    if claim.data.get("event"):
        feeds.add(f"events/{resolve(claim.data['event'], events)}/feed.xml")
    return feeds


def test_editing_a_claim_body_changes_only_that_claim_page(fresh):
    site, out = fresh
    claim = _a_claim(site)
    page = f"claims/{claim.slug}/index.html"
    before = identities(out)
    text = claim.path.read_text(encoding="utf-8")
    claim.path.write_text(text.rstrip("\n") + "\n\nA paragraph added to the review for this test.\n",
                          encoding="utf-8")
    rebuild(site, out)
    after = identities(out)
    changed = changed_files(before, after)
    assert "A paragraph added to the review for this test." in after[page][0].decode()
    assert {n for n in changed if n.endswith(".html")} == {page}, sorted(changed)
    # the body is shown on the claim page only: feeds and search carry front matter
    assert changed <= {page, MANIFEST}, sorted(changed)
    assert set(after) == set(before)


def test_editing_a_claim_summary_changes_its_page_and_its_feeds_only(fresh):
    """The summary is in the page's description and in the feeds' <summary>: exactly the
    claim page, the site feed and the feeds of its speaker and event are rewritten."""
    site, out = fresh
    claim = _a_claim(site)
    assert claim.data.get("summary"), "the chosen claim needs a summary"
    page = f"claims/{claim.slug}/index.html"
    header, body = split_file(claim.path.read_text(encoding="utf-8"))
    old = next(line for line in header.split("\n") if line.startswith("summary:"))
    new_summary = "A summary rewritten for this test."
    claim.path.write_text(claim.path.read_text(encoding="utf-8").replace(
        old, f"summary: {new_summary}", 1), encoding="utf-8")
    before = identities(out)
    rebuild(site, out)
    after = identities(out)
    changed = changed_files(before, after)
    expected = {page, MANIFEST} | _feeds_of(site, claim)
    assert changed == expected, f"changed: {sorted(changed)}"
    for feed in _feeds_of(site, claim):
        assert new_summary in after[feed][0].decode(), feed


def test_deleting_a_claim_removes_it_everywhere_and_keeps_foreign_files(fresh):
    site, out = fresh
    claim = _a_claim(site)
    prefix = f"claims/{claim.slug}/"
    (out / "CNAME").write_text("facts.example.org\n")
    cname = (out / "CNAME").stat()
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert f"{prefix}index.html" in manifest["files"]
    before = identities(out)

    claim.path.unlink()
    rebuild(site, out)

    assert not (out / prefix).exists()
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert [name for name in manifest["files"] if name.startswith(prefix)] == []
    assert "CNAME" not in manifest["files"]
    assert (out / "CNAME").read_text() == "facts.example.org\n"
    assert ((out / "CNAME").stat().st_ino, (out / "CNAME").stat().st_mtime_ns) == \
        (cname.st_ino, cname.st_mtime_ns)
    # gone from the feeds, the sitemap and the search index too
    full = ROOT_URL + prefix
    for feed in _feeds_of(site, claim):
        if (out / feed).exists():
            assert full not in (out / feed).read_text(encoding="utf-8"), feed
    assert full not in (out / "sitemap.xml").read_text(encoding="utf-8")
    index = json.loads((out / "search" / "index.json").read_text(encoding="utf-8"))
    assert prefix not in [r[1] for r in index["records"]]
    # every file that is left and unchanged in bytes was not rewritten
    after = identities(out)
    for name in set(before) & set(after):
        if before[name][0] == after[name][0]:
            assert before[name][1:] == after[name][1:], f"{name}: same bytes, but rewritten"
    assert set(before) - set(after) == {f"{prefix}index.html"}
