"""Markup in content is shown as text: tests/sites/hostile puts `<script>alert(1)</script>` and
`"><img src=x onerror=alert(1)>` into every text field (config, speaker, event, source,
quote, summary, tags, Markdown bodies), plus `javascript:` and `data:` links in bodies.

Pages are parsed with html5lib, as a browser would parse them.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
import markupsafe
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from conftest import read_entries, text
from factsite.config import load_config
from factsite.errors import Problems
from factsite.render import escape_output, make_environment

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
EVENT_ATTRIBUTES = ("onerror", "onload", "onclick", "onmouseover", "onfocus")


@pytest.fixture(scope="module")
def pages(hostile):
    return {url: hostile.out.soup(url) for url in hostile.out.html_pages()}


def test_hostile_fixture_really_contains_the_payloads(hostile):
    claim = read_entries(hostile.site.content, "claims")["hostile-claim"]
    speaker = read_entries(hostile.site.content, "speakers")["mallory"]
    assert SCRIPT in claim.data["quote"] and IMG in claim.data["quote"]
    assert SCRIPT in speaker.data["name"] and IMG in speaker.data["name"]
    assert SCRIPT in claim.body and IMG in claim.body and "javascript:alert(1)" in claim.body


def test_only_the_templates_own_scripts_exist(hostile, pages):
    """A <script> is either the JSON-LD data block or a script file from /static/."""
    base = hostile.out.base
    for url, soup in pages.items():
        for script in soup.find_all("script"):
            if script.get("src"):
                assert urlsplit(script["src"]).path.startswith(f"{base}static/"), (url, script)
                assert script.string is None or not script.string.strip(), url
                continue
            assert script.get("type") == "application/ld+json", (url, str(script)[:200])
            data = json.loads(script.string)  # the whole element is one JSON value
            assert isinstance(data, dict), url


def test_json_ld_keeps_the_text_and_cannot_close_its_element(hostile, pages):
    claim = read_entries(hostile.site.content, "claims")["hostile-claim"]
    soup = pages[f"{hostile.out.base}claims/hostile-claim/"]
    blocks = soup.find_all("script", type="application/ld+json")
    assert len(blocks) == 1
    raw = blocks[0].string
    assert "</script" not in raw.lower() and "<!--" not in raw
    data = json.loads(raw)
    assert data["claimReviewed"] == claim.data["quote"]
    speaker = read_entries(hostile.site.content, "speakers")["mallory"]
    assert data["itemReviewed"]["author"]["name"] == speaker.data["name"]


def test_no_injected_elements_or_event_handlers(pages):
    for url, soup in pages.items():
        assert soup.find("img", src="x") is None, url
        assert soup.find("svg") is None, url
        for element in soup.find_all(True):
            for attribute in element.attrs:
                assert attribute.lower() not in EVENT_ATTRIBUTES, (url, element.name, attribute)
        # <b> from content must not become markup either
        assert soup.find("b") is None, url


def test_no_script_links(pages):
    for url, soup in pages.items():
        for element in soup.find_all(["a", "area", "link", "iframe", "form", "img"]):
            for attribute in ("href", "src", "action"):
                value = element.get(attribute)
                if value is None:
                    continue
                cleaned = "".join(ch for ch in value if ch > " ").lower()
                assert not cleaned.startswith(("javascript:", "vbscript:", "data:")), (url, element)


def test_claim_page_shows_the_payloads_as_text(hostile):
    claim = read_entries(hostile.site.content, "claims")["hostile-claim"]
    speaker = read_entries(hostile.site.content, "speakers")["mallory"]
    main = hostile.out.main(f"{hostile.out.base}claims/hostile-claim/")
    assert claim.data["quote"] in text(main.find("h1"))
    assert speaker.data["name"] in [text(a) for a in main.find_all("a")]
    assert text(main.find(class_="summary")) == claim.data["summary"]
    notes = text(main.find(class_="notes"))
    assert f"Notes with {SCRIPT} inline." in notes
    assert IMG in notes
    # the javascript: link is not a link; its text stays readable
    assert "javascript link" in notes
    assert not any(text(a) == "javascript link" for a in main.find_all("a"))
    tags = [text(a) for a in main.find("ul", class_="tags").find_all("a")]
    assert tags == claim.data["tags"]


def test_titles_and_meta_keep_the_text(hostile):
    speaker = read_entries(hostile.site.content, "speakers")["mallory"]
    soup = hostile.out.soup(f"{hostile.out.base}speakers/mallory/")
    assert speaker.data["name"] in soup.title.get_text()
    assert hostile.site.site_config()["title"] in soup.title.get_text()
    description = soup.find("meta", attrs={"name": "description"})["content"]
    assert speaker.data["name"] in description
    assert text(soup.find("main").find("h1")) == speaker.data["name"]


def test_source_page_shows_archived_markup_as_text(hostile):
    source = read_entries(hostile.site.content, "sources")["hostile-source"]
    main = hostile.out.main(f"{hostile.out.base}sources/hostile-source/")
    paragraphs = [text(p) for p in main.find(class_="archived").find_all("p")]
    assert any(SCRIPT in p and IMG in p for p in paragraphs)
    assert any("<b>bold</b>" in p for p in paragraphs)
    assert text(main.find("h1")) == source.data["title"]


def test_event_and_tag_pages_keep_the_text(hostile):
    event = read_entries(hostile.site.content, "events")["hostile-event"]
    main = hostile.out.main(f"{hostile.out.base}events/hostile-event/")
    assert text(main.find("h1")) == event.data["name"]
    assert event.data["place"] in text(main)
    tags_page = hostile.out.main(f"{hostile.out.base}tags/")
    names = [text(h) for h in tags_page.select(".card-title")]
    claim = read_entries(hostile.site.content, "claims")["hostile-claim"]
    assert sorted(names) == sorted(claim.data["tags"])


def test_feeds_and_search_index_are_well_formed_and_keep_the_text(hostile):
    import xml.etree.ElementTree as ET

    claim = read_entries(hostile.site.content, "claims")["hostile-claim"]
    root = hostile.out.root
    for feed in root.rglob("feed.xml"):
        ET.parse(feed)  # raises on markup leaking into the XML
    atom = "{http://www.w3.org/2005/Atom}"
    entry = ET.parse(root / "feed.xml").getroot().find(f"{atom}entry")
    assert claim.data["summary"] in entry.find(f"{atom}summary").text
    index = json.loads((root / "search" / "index.json").read_text(encoding="utf-8"))
    title = index["fields"].index("title")
    assert claim.data["quote"] in [record[title] for record in index["records"]]


class _Html:
    def __init__(self, html: str):
        self.html = html

    def __html__(self) -> str:
        return self.html


@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans(),
                 st.text().map(Markup), st.text().map(_Html), st.lists(st.text(), max_size=3)))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_output_escaping_is_markupsafes(value):
    """The templates' output escaping (factsite.render.escape_output) gives markupsafe's text."""
    assert escape_output(value) == str(markupsafe.escape(value))


def test_the_site_templates_escape_their_output_with_it(tmp_path):
    """escape_output where markupsafe has its C escaping without the Markup wrapper (3.0);
    markupsafe's own escape where it has not (2.x: the lowest version allowed)."""
    from factsite.render import _FAST_ESCAPE

    env = make_environment(load_config(ROOT / "site_config.yaml", Problems()), None)
    template = env.get_template("claim.html")
    expected = escape_output if _FAST_ESCAPE else markupsafe.escape
    assert template.root_render_func.__globals__["escape"] is expected
    assert _FAST_ESCAPE == (tuple(int(x) for x in importlib.metadata.version("markupsafe").split(".")[:2]) >= (3, 0))
    page = env.from_string("{{ a }}|{{ b }}|{{ c }}").render(a=SCRIPT, b=Markup("<b>x</b>"), c=7)
    assert page == "&lt;script&gt;alert(1)&lt;/script&gt;|<b>x</b>|7"


def test_the_site_templates_see_the_environments_globals_as_one_plain_dict():
    """Pages copy their template's globals into each context: a plain dict is copied in C
    (factsite.render._Environment), where Jinja's ChainMap was iterated in Python."""
    env = make_environment(load_config(ROOT / "site_config.yaml", Problems()), None)
    for name in ("claim.html", "macros.html"):
        found = env.get_template(name).globals
        assert type(found) is dict and found == dict(env.globals), name
    assert env.from_string("{{ memo is defined and url('x/') }}").render() == "/x/"


def test_calls_in_templates_reach_macros_the_memo_and_context_functions_as_in_jinja():
    """factsite.render._Context calls macros and the memo straight, dropping the loop and
    block variables Jinja passes along; anything else goes through Jinja's own `call`,
    which gives a `pass_context` function its context."""
    env = make_environment(load_config(ROOT / "site_config.yaml", Problems()), None)
    env.globals["where"] = jinja2.pass_context(lambda context, word: f"{word}@{context['page']}")
    source = ("{% macro tag(x, mark='') %}<{{ x }}{{ mark }}>{% endmacro %}"
              "{% block main %}{% for x in xs %}{{ tag(x, mark='!') }}{{ memo(tag, x) }}"
              "{{ where(x) }}{% endfor %}{% endblock %}")
    page = env.from_string(source).render(xs=["a", SCRIPT], page="p")
    assert page == "<a!><a>a@p<&lt;script&gt;alert(1)&lt;/script&gt;!><&lt;script&gt;alert(1)&lt;/script&gt;>" \
        f"{markupsafe.escape(SCRIPT)}@p"
    # a fresh environment drawing the same template with Jinja's own context gives the same
    plain = make_environment(load_config(ROOT / "site_config.yaml", Problems()), None)
    plain.context_class = jinja2.runtime.Context
    plain.globals["where"] = env.globals["where"]
    assert plain.from_string(source).render(xs=["a", SCRIPT], page="p") == page


def test_attribute_lookups_in_templates_give_what_jinjas_own_compiler_gives():
    """factsite.render._CodeGenerator tries Python's getattr before Jinja's: attributes,
    dict keys through a dot, a missing name (an error with StrictUndefined), and an object
    whose expression has a side effect (evaluated once) behave as with Jinja's compiler."""
    calls = []

    class Thing:
        quote = SCRIPT
        missing_here = None

        def made(self):
            calls.append(1)
            return self

    def render(env, source, **context):
        calls.clear()
        return env.from_string(source).render(**context), len(calls)

    fast = make_environment(load_config(ROOT / "site_config.yaml", Problems()), None)
    plain = make_environment(load_config(ROOT / "site_config.yaml", Problems()), None)
    plain.code_generator_class = jinja2.compiler.CodeGenerator
    assert "environment.getattr(" in plain.compile("{{ a.b }}", raw=True)
    assert "getattr((" in fast.compile("{{ a.b }}", raw=True)  # the fast path is compiled in
    source = "{{ t.quote }}|{{ d.key }}|{{ t.made().made().quote }}|{{ t.missing_here }}|{{ d.items }}"
    context = {"t": Thing(), "d": {"key": "<value>", "items": "shadowed?"}}
    got = render(fast, source, **context)
    assert got == render(plain, source, **context)
    assert got[0].startswith(f"{markupsafe.escape(SCRIPT)}|&lt;value&gt;|") and got[1] == 2
    for env in (fast, plain):
        with pytest.raises(jinja2.UndefinedError, match="nope"):
            env.from_string("{{ t.nope }}").render(t=Thing())
