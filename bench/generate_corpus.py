"""Generate a synthetic fact-check archive of any size, for benchmarks (issue 7).

    python bench/generate_corpus.py --claims 10000 --out bench/corpus/10000 [--seed 1]
    python bench/generate_corpus.py --out bench/corpus/10000 --edit 42

The corpus is shaped like a real archive, scaled linearly with N claims:
N/20 speakers, N/10 events, about 0.6 N sources (each claim cites 1-3 sources
of its event, so sources are shared between claims of the same event), three
pages. Claim bodies are ~480-word Markdown notes (headings, lists, links, a
blockquote, sometimes footnotes); source bodies are 400-800 words of plain
text that contain, word for word, the wording of every claim citing them.
Names and places carry diacritics and some Cyrillic; verdicts are skewed the
way a real archive's are; dates spread over 2010-2026.

Everything comes from one `random.Random(seed)` and embedded word lists, so
the same N and seed give byte-identical files (UTF-8, LF line endings).
Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------
# Embedded vocabulary, roughly in order of frequency (Zipf weights below).

_WORDS = """
the of and to in a that is for on was it with as by said he be at from this has not have
but are an which they its his were had their would will been also more who all there one
after we new about than out two up other when could into if only over some said them what
so can may no year government people minister president time state first last most any
between because during country foreign security talks agreement political against like
since while before those both under such many three where then should part according
international official public military political support position week statement right
national council press conference interview region north south local police border issue
question process dialogue meeting visit decision report media leaders office officials
european union nations united russian serbian albanian western eastern community situation
relations cooperation peace war conflict crisis plan proposal law court document record
resolution declaration independence recognition sovereignty territory integrity status
municipalities association institutions elections election vote mayors parliament assembly
party coalition opposition majority minority population citizens residents families children
history historical century years months days period decade future past present recent early
late long short large small major key main important serious strong clear difficult possible
necessary responsible legal illegal economic social cultural religious diplomatic strategic
energy gas oil trade sanctions investment market prices budget funds money aid assistance
troops soldiers forces mission peacekeepers army weapons barricades roads crossing bridge
river lake monastery church school hospital village town city capital area zone line
always never often again already still just even also perhaps however therefore indeed
said says told added noted stressed warned claimed argued insisted repeated announced
explained described called asked answered confirmed denied rejected accepted recalled
support oppose respect protect defend guarantee implement observe violate threaten demand
believe expect hope know think consider understand remember recognise acknowledge continue
begin end start stop remain become keep hold take give make bring send open close meet
return reach include allow prevent provoke escalate reduce increase change improve discuss
negotiate sign agree refuse block join leave lead follow build destroy attack accuse blame
true false full partial direct indirect original official unofficial formal informal open
every each another same different whole entire certain various several few little much
fact facts evidence source sources article articles text words quote statement statements
context background details figures numbers data survey study analysis review check checks
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday morning evening night today
""".split()

_PROPER = [
    "Belgrade", "Priština", "Pristina", "Kosovska Mitrovica", "Zvečan", "Leposavić", "Zubin Potok",
    "Gračanica", "Štrpce", "Jarinje", "Brnjak", "Gazivode", "Ibar", "Trepča", "Dečani", "Prizren",
    "Peć", "Novi Sad", "Niš", "Moscow", "Москва", "Brussels", "Washington", "New York", "Sochi",
    "KFOR", "EULEX", "UNMIK", "NATO", "OSCE", "Kosovo", "Serbia", "Russia", "Albania", "Montenegro",
    "Resolution 1244", "Brussels Agreement", "Ohrid", "Vučić", "Kurti", "Лавров", "Dačić",
]

_OUTLETS = [
    # (display name, ASCII stem for slugs and domains, language)
    ("TASS", "tass", "en"), ("Tanjug", "tanjug", "sr-Latn"), ("KoSSev", "kossev", "sr-Latn"),
    ("RTS", "rts", "sr-Cyrl"), ("N1 Srbija", "n1", "sr-Latn"), ("Reuters", "reuters", "en"),
    ("Associated Press", "ap", "en"), ("Balkan Insight", "balkaninsight", "en"),
    ("Večernje novosti", "novosti", "sr-Latn"), ("РИА Новости", "ria", "ru"),
    ("Коммерсантъ", "kommersant", "ru"), ("Koha Ditore", "koha", "sq"), ("Danas", "danas", "sr-Latn"),
    ("Politika", "politika", "sr-Cyrl"), ("Euronews", "euronews", "en"),
    ("Radio Free Europe/Radio Liberty", "rferl", "en"), ("Kosovo Online", "kosovo-online", "sr-Latn"),
    ("Devdiscourse (Reuters)", "devdiscourse", "en"), ("Serbian Monitor", "serbian-monitor", "en"),
    ("Известия", "izvestia", "ru"),
]

# (Latin display, Cyrillic or None, nationality)
_FIRST = {
    "rs": ["Aleksandar", "Ivica", "Ana", "Milorad", "Dušan", "Đorđe", "Željko", "Nikola", "Marija",
           "Jelena", "Goran", "Petar", "Miloš", "Zoran", "Srđan", "Milica", "Vučko", "Nebojša",
           "Dragan", "Tatjana", "Branislav", "Snežana", "Radomir", "Jovana"],
    "ru": ["Sergey", "Dmitry", "Maria", "Vladimir", "Alexander", "Alexey", "Vasily", "Mikhail",
           "Elena", "Konstantin", "Grigory", "Yuri", "Olga", "Andrei", "Nikolai", "Igor"],
    "xk": ["Albin", "Vjosa", "Hashim", "Ramush", "Donika", "Glauk", "Besnik", "Xhelal", "Arbër",
           "Përparim", "Fatmir", "Enver", "Ilir", "Valdete"],
    "eu": ["Josep", "Miroslav", "Gabriel", "Federica", "Catherine", "Olivér", "Peter", "Ursula",
           "Antony", "Derek", "Jeffrey", "Angelina", "François", "Søren"],
}
_LAST = {
    "rs": ["Vučić", "Dačić", "Brnabić", "Petković", "Rakić", "Đurić", "Selaković", "Stefanović",
           "Popović", "Jovanović", "Nikolić", "Mladenović", "Kovačević", "Vulin", "Drecun",
           "Milićević", "Simić", "Obradović", "Lazić", "Živković", "Ćirić", "Šarčević"],
    "ru": ["Lavrov", "Peskov", "Zakharova", "Nebenzya", "Botsan-Kharchenko", "Grushko", "Polyansky",
           "Kosachev", "Shoigu", "Medvedev", "Matviyenko", "Slutsky", "Ryabkov", "Galuzin"],
    "xk": ["Kurti", "Osmani", "Thaçi", "Haradinaj", "Gërvalla", "Sveçla", "Bislimi", "Hoti", "Rugova",
           "Krasniqi", "Mustafa", "Veseli", "Limaj", "Kuçi"],
    "eu": ["Borrell", "Lajčák", "Escobar", "Hovenier", "Mogherini", "Ashton", "Várhelyi", "Stano",
           "von der Leyen", "Chollet", "Sørensen", "Blinken", "Eide", "Bechet"],
}
_CYRILLIC = {
    "Sergey": "Сергей", "Dmitry": "Дмитрий", "Maria": "Мария", "Vladimir": "Владимир",
    "Alexander": "Александр", "Alexey": "Алексей", "Vasily": "Василий", "Mikhail": "Михаил",
    "Elena": "Елена", "Konstantin": "Константин", "Grigory": "Григорий", "Yuri": "Юрий",
    "Olga": "Ольга", "Andrei": "Андрей", "Nikolai": "Николай", "Igor": "Игорь",
    "Lavrov": "Лавров", "Peskov": "Песков", "Zakharova": "Захарова", "Nebenzya": "Небензя",
    "Botsan-Kharchenko": "Боцан-Харченко", "Grushko": "Грушко", "Polyansky": "Полянский",
    "Kosachev": "Косачёв", "Shoigu": "Шойгу", "Medvedev": "Медведев", "Matviyenko": "Матвиенко",
    "Slutsky": "Слуцкий", "Ryabkov": "Рябков", "Galuzin": "Галузин",
    "Aleksandar": "Александар", "Ivica": "Ивица", "Vučić": "Вучић", "Dačić": "Дачић",
    "Đurić": "Ђурић", "Petković": "Петковић", "Nikola": "Никола", "Marija": "Марија",
}
_COUNTRY = {"rs": "Serbia", "ru": "Russia", "xk": "Kosovo", "eu": "European Union"}
_ROLES = {
    "rs": ["President of Serbia", "Prime Minister of Serbia", "Minister of Foreign Affairs of Serbia",
           "Director of the Office for Kosovo and Metohija", "Member of the National Assembly",
           "Mayor of Kosovska Mitrovica North", "Minister of Defence of Serbia", "Leader of Srpska lista"],
    "ru": ["Minister of Foreign Affairs of Russia", "Kremlin spokesman", "Foreign Ministry spokeswoman",
           "Permanent Representative of Russia to the UN", "Ambassador of Russia to Serbia",
           "Deputy Foreign Minister of Russia", "Chairman of the State Duma foreign affairs committee"],
    "xk": ["Prime Minister of Kosovo", "President of Kosovo", "Minister of Foreign Affairs of Kosovo",
           "Minister of Internal Affairs of Kosovo", "Chief negotiator of Kosovo", "Mayor of Priština"],
    "eu": ["EU High Representative for Foreign Affairs", "EU Special Representative for the "
           "Belgrade-Pristina Dialogue", "US Special Envoy for the Western Balkans",
           "US Ambassador to Kosovo", "Spokesperson of the European External Action Service"],
}
_ORGS = {
    "rs": ["Government of Serbia", "Presidency of the Republic of Serbia", "Srpska lista",
           "National Assembly of Serbia", "Office for Kosovo and Metohija"],
    "ru": ["Ministry of Foreign Affairs of Russia", "Kremlin", "Permanent Mission of Russia to the UN",
           "State Duma", "Embassy of Russia in Belgrade"],
    "xk": ["Government of Kosovo", "Presidency of Kosovo", "Vetëvendosje", "Assembly of Kosovo"],
    "eu": ["European External Action Service", "European Commission", "US Department of State"],
}
_NATIONALITY_WEIGHTS = [("rs", 35), ("ru", 30), ("xk", 20), ("eu", 15)]

_PLACES = [
    "Belgrade, Serbia", "Priština, Kosovo", "Kosovska Mitrovica, Kosovo", "Zvečan, Kosovo",
    "Leposavić, Kosovo", "Zubin Potok, Kosovo", "Gračanica, Kosovo", "Štrpce, Kosovo",
    "Jarinje crossing, northern Kosovo", "Brnjak crossing, northern Kosovo", "Brussels, Belgium",
    "Moscow, Russia", "Москва, Россия", "Санкт-Петербург, Россия", "Sochi, Russia",
    "UN headquarters, New York", "Novi Sad, Serbia", "Niš, Serbia", "Ohrid, North Macedonia",
    "Banjska, Kosovo", "Dečani, Kosovo", "Prizren, Kosovo", "Washington, D.C.", "Берлин, Германия",
]
_EVENT_KINDS = [
    "Press conference in {city}", "Visit to {city}", "Round of EU-facilitated talks in {city}",
    "UN Security Council session on Kosovo", "Unrest in {city}", "Barricades near {city}",
    "Election in {city}", "Briefing in {city}", "Interview published in {city}",
    "Summit in {city}", "Protest in {city}", "Anniversary commemoration in {city}",
]

_TAG_BASE = [
    "UN Security Council", "Resolution 1244", "Brussels Agreement", "Ohrid Agreement",
    "Association of Serb-majority Municipalities", "EU-facilitated dialogue", "Kosovo independence",
    "Recognition of Kosovo", "NATO bombing 1999", "KFOR", "EULEX", "UNMIK", "Licence plates",
    "Barricades", "North Kosovo", "Kosovska Mitrovica", "Priština–Belgrade dialogue", "Zvečan",
    "Leposavić", "Zubin Potok", "Gazivode Lake", "Ibar river", "Trepča mine", "Dečani Monastery",
    "Serbian Orthodox Church", "Sanctions against Russia", "Energy security", "Gas supply",
    "Territorial integrity", "Kosovo precedent", "Crimea", "Ukraine", "Special military operation",
    "Elections", "Local elections 2023", "Banjska attack", "Police", "Border crossings",
    "Human rights", "Minority rights", "Refugees", "Operation Storm", "Srebrenica", "Republika Srpska",
    "Open Balkan", "EU accession", "Chapter 35", "International Court of Justice",
    "Opinion of the ICJ 2010", "Interpol", "UNESCO", "Council of Europe", "OSCE", "Pristina",
    "Москва", "Лавров", "Vučić", "Kurti", "Dinar ban", "Identity documents", "Cadastre",
]
_TAG_ADJ = ["Regional", "Economic", "Military", "Diplomatic", "Legal", "Historical", "Religious",
            "Energy", "Border", "Media", "Electoral", "Security", "Cultural", "Humanitarian",
            "Institutional", "Judicial", "Local", "Strategic"]
_TAG_NOUN = ["cooperation", "tensions", "agreements", "sanctions", "disputes", "heritage",
             "narratives", "institutions", "reforms", "pressure", "guarantees", "claims",
             "disinformation", "commitments", "negotiations", "incidents"]

_VERDICT_WEIGHTS = {"opinion": 30, "needs-context": 24, "misleading": 12, "mostly-accurate": 10,
                    "unverifiable": 9, "accurate": 8, "inaccurate": 7}

_TRANSLIT = str.maketrans({
    "đ": "dj", "Đ": "Dj", "ë": "e", "ç": "c", "ø": "o", "å": "a", "æ": "ae",
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "ђ": "dj", "ћ": "c", "ј": "j",
    "љ": "lj", "њ": "nj", "џ": "dz",
})


def ascii_slug(text: str, limit: int = 60) -> str:
    """Lowercase ASCII words joined by hyphens, cut at a word boundary."""
    text = text.lower().translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", text)
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out or "x"


def yq(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


# --------------------------------------------------------------------------
# Text


class Text:
    """Pseudo-English prose from the embedded vocabulary, Zipf-weighted."""

    STREAM = 250_000

    def __init__(self, rng: random.Random):
        self.rng = rng
        # One long Zipf-weighted word stream, drawn once; text is cut from it at random
        # offsets, which is much faster than drawing every word (10k claims = 8M words).
        cum = list(accumulate(1.0 / (i + 8) for i in range(len(_WORDS))))
        self.stream = rng.choices(_WORDS, cum_weights=cum, k=self.STREAM)

    def words(self, n: int) -> list[str]:
        at = self.rng.randrange(self.STREAM - n)
        return self.stream[at:at + n]

    def sentence(self, lo: int = 8, hi: int = 22, proper: float = 0.35) -> str:
        rng = self.rng
        words = self.words(rng.randint(lo, hi))
        if rng.random() < proper:
            words.insert(rng.randrange(1, len(words)), rng.choice(_PROPER))
        if len(words) > 9 and rng.random() < 0.5:
            words[rng.randrange(3, len(words) - 3)] += ","
        words[0] = words[0][:1].upper() + words[0][1:]
        return " ".join(words) + rng.choice(".....?")

    def paragraph(self, target: int) -> str:
        out, count = [], 0
        while count < target:
            s = self.sentence()
            out.append(s)
            count += s.count(" ") + 1
        return " ".join(out)

    def title(self, lo: int = 5, hi: int = 10) -> str:
        words = self.words(self.rng.randint(lo, hi))
        if self.rng.random() < 0.6:
            words.insert(self.rng.randrange(0, len(words)), self.rng.choice(_PROPER))
        return words[0][:1].upper() + words[0][1:] + (" " + " ".join(words[1:]) if len(words) > 1 else "")


# --------------------------------------------------------------------------
# The model being generated


@dataclass
class Speaker:
    slug: str
    name: str
    nat: str
    role: str
    organisation: str
    aliases: list[str]
    body: str = ""


@dataclass
class Event:
    slug: str
    name: str
    date: dt.date
    end_date: dt.date | None
    place: str
    claims: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)


@dataclass
class Source:
    slug: str
    outlet: str
    language: str
    title: str
    url: str
    published: dt.date
    retrieved: dt.date
    author: str | None
    archive: bool
    quotes: list[tuple[str, str, bool]] = field(default_factory=list)  # (wording, speaker, indirect)


@dataclass
class Appearance:
    source: int
    wording: str | None  # None: defaults to the claim's quote
    indirect: bool = False
    printed: str = ""  # what the source prints (the full words)


@dataclass
class Claim:
    slug: str
    quote: str
    speaker: int
    event: int
    said: dt.date
    verdict: str
    tags: list[str]
    reviewed: dt.date
    updated: dt.date | None
    appearances: list[Appearance] = field(default_factory=list)


START, END = dt.date(2010, 1, 1), dt.date(2026, 6, 30)
LAST_REVIEW = dt.date(2026, 11, 30)


def _date_between(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))


def _unique(slug: str, taken: set[str]) -> str:
    if slug not in taken:
        taken.add(slug)
        return slug
    i = 2
    while f"{slug}-{i}" in taken:
        i += 1
    taken.add(f"{slug}-{i}")
    return f"{slug}-{i}"


def read_verdicts(repo_config: Path) -> tuple[str, list[str]]:
    """The `verdicts:` block of the repository's site_config.yaml, verbatim, and its ids."""
    text = repo_config.read_text(encoding="utf-8")
    match = re.search(r"^verdicts:\s*$", text, re.M)
    if not match:
        raise SystemExit(f"no verdicts: block in {repo_config}")
    block = text[match.start():].rstrip("\n") + "\n"
    ids = re.findall(r"^\s*-\s*id:\s*\"?([\w-]+)\"?\s*$", block, re.M)
    return block, ids


def _speakers(rng: random.Random, count: int) -> list[Speaker]:
    nats = [n for n, _ in _NATIONALITY_WEIGHTS]
    weights = [w for _, w in _NATIONALITY_WEIGHTS]
    taken: set[str] = set()
    seen_names: set[str] = set()
    out = []
    while len(out) < count:
        nat = rng.choices(nats, weights)[0]
        first, last = rng.choice(_FIRST[nat]), rng.choice(_LAST[nat])
        latin = f"{first} {last}"
        if latin in seen_names and len(seen_names) < 2000:
            # a second person of the same name gets a middle initial, like real archives
            latin = f"{first} {rng.choice('ABDGJKLMNPRSTVZ')}. {last}"
        seen_names.add(latin)
        cyr = f"{_CYRILLIC[first]} {_CYRILLIC[last]}" if first in _CYRILLIC and last in _CYRILLIC \
            and ". " not in latin else None
        name, aliases = latin, []
        if nat == "ru" and cyr and rng.random() < 0.35:
            name, aliases = cyr, [latin]
        elif cyr:
            aliases.append(cyr)
        plain = unicodedata.normalize("NFKD", latin.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
        if plain != latin and plain not in aliases:
            aliases.append(plain)
        if rng.random() < 0.2:
            aliases.append(last)
        slug = _unique(ascii_slug(latin), taken)
        out.append(Speaker(slug, name, nat, rng.choice(_ROLES[nat]), rng.choice(_ORGS[nat]), aliases))
    return out


def _tags(rng: random.Random, count: int = 200) -> list[str]:
    tags = list(_TAG_BASE)
    slugs = {ascii_slug(t) for t in tags}
    while len(tags) < count:
        t = f"{rng.choice(_TAG_ADJ)} {rng.choice(_TAG_NOUN)}"
        if rng.random() < 0.3:
            t += f" in {rng.choice(['Kosovo', 'Serbia', 'the Balkans', 'Priština', 'Kosovska Mitrovica', 'Europe'])}"
        s = ascii_slug(t)
        if s not in slugs:
            slugs.add(s)
            tags.append(t)
    return tags


def _variant(rng: random.Random, text: Text, quote: str) -> str:
    """Another outlet's translation: one word replaced (and maybe two swapped)."""
    words = quote.split(" ")
    for _ in range(10):
        i = rng.randrange(len(words))
        core = words[i].rstrip(",.?!")
        replacement = text.words(1)[0]
        if core and replacement != core.lower():
            words[i] = replacement + words[i][len(core):]
            break
    if len(words) > 6 and rng.random() < 0.3:
        j = rng.randrange(1, len(words) - 2)
        if not words[j].endswith(",") and not words[j + 1].endswith(","):
            words[j], words[j + 1] = words[j + 1], words[j]
    return " ".join(words)


def _elide(rng: random.Random, quote: str) -> str:
    words = quote.split(" ")
    if len(words) < 10:
        return quote
    a = rng.randint(3, len(words) // 2 - 1)
    b = rng.randint(a + 2, len(words) - 3)
    return " ".join(words[:a]) + " … " + " ".join(words[b:])


def plan(n_claims: int, seed: int, verdict_ids: list[str]):
    rng = random.Random(seed)
    text = Text(rng)
    n_speakers = max(1, round(n_claims / 20))
    n_events = max(1, round(n_claims / 10))

    speakers = _speakers(rng, n_speakers)
    # cumulative weights, computed once (choices() with plain weights re-sums them on every call)
    speaker_cum = list(accumulate(1.0 / (i + 1) ** 0.8 for i in range(n_speakers)))  # a few prolific ones
    tags = _tags(rng)
    tag_cum = list(accumulate(1.0 / (i + 3) for i in range(len(tags))))

    taken: set[str] = set()
    events = []
    for i in range(n_events):
        place = rng.choice(_PLACES)
        city = place.split(",")[0]
        date = _date_between(rng, START, END)
        end = date + dt.timedelta(days=rng.randint(1, 12)) if rng.random() < 0.25 else None
        name = rng.choice(_EVENT_KINDS).format(city=city)
        if rng.random() < 0.4:
            name += f" ({date.year})"
        stem = ascii_slug(name, 50)
        slug = _unique(stem if stem.endswith(str(date.year)) else f"{stem}-{date.year}", taken)
        events.append(Event(slug, name, date, end, place))

    # claims per event vary (3-30 for the default 10 per event)
    event_cum = list(accumulate(rng.uniform(0.3, 3.0) for _ in range(n_events)))
    verdicts = [v for v in verdict_ids]
    v_cum = list(accumulate(_VERDICT_WEIGHTS.get(v, 5) for v in verdicts))

    claims: list[Claim] = []
    taken = set()
    for i in range(n_claims):
        ev = rng.choices(range(n_events), cum_weights=event_cum)[0]
        event = events[ev]
        span = ((event.end_date or event.date) - event.date).days
        said = event.date + dt.timedelta(days=rng.randint(0, span))
        quote = text.sentence(10, 28, proper=0.5)
        slug = _unique(ascii_slug(quote, 55), taken)
        reviewed = min(LAST_REVIEW, said + dt.timedelta(days=rng.randint(1, 120)))
        updated = None
        if rng.random() < 0.15 and reviewed < LAST_REVIEW:
            updated = _date_between(rng, reviewed + dt.timedelta(days=1), LAST_REVIEW)
        k = rng.choices([1, 2, 3, 4], [35, 40, 20, 5])[0]
        claim_tags = rng.choices(tags, cum_weights=tag_cum, k=k)
        claim_tags = list(dict.fromkeys(claim_tags))
        claims.append(Claim(slug, quote, rng.choices(range(n_speakers), cum_weights=speaker_cum)[0], ev,
                            said, rng.choices(verdicts, cum_weights=v_cum)[0], claim_tags, reviewed, updated))
        event.claims.append(i)

    # sources: ~0.6 per claim of the event, shared by the event's claims
    sources: list[Source] = []
    taken = set()
    for ev, event in enumerate(events):
        if not event.claims:
            continue
        count = max(1, round(len(event.claims) * rng.uniform(0.45, 0.75)))
        for _ in range(count):
            name, stem, lang = rng.choice(_OUTLETS)
            published = event.date + dt.timedelta(days=rng.choice([0, 0, 1, 1, 1, 2, 3, 7]))
            retrieved = _date_between(rng, published, LAST_REVIEW)
            title = text.title()
            slug = _unique(f"{stem}-{published.isoformat()}-{ascii_slug(title, 40)}", taken)
            url = f"https://www.{stem}.example/{published.year}/{published.month:02d}/{ascii_slug(title, 70)}"
            author = f"{rng.choice(_FIRST['rs'] + _FIRST['ru'])} {rng.choice(_LAST['rs'] + _LAST['ru'])}" \
                if rng.random() < 0.5 else None
            event.sources.append(len(sources))
            sources.append(Source(slug, name, lang, title, url, published, retrieved, author,
                                  rng.random() < 0.4))
        # each claim cites 1-3 of its event's sources; the first pass makes sure every source is cited
        for j, ci in enumerate(event.claims):
            claim = claims[ci]
            k = min(len(event.sources), rng.choices([1, 2, 3], [35, 40, 25])[0])
            first = event.sources[j % len(event.sources)]
            others = [s for s in event.sources if s != first]
            chosen = [first] + rng.sample(others, k - 1)
            speaker_name = speakers[claim.speaker].name
            for a, si in enumerate(chosen):
                r = rng.random()
                if a == 0:
                    # the claim's quote as printed by its first source
                    wording = None if r < 0.6 else (claim.quote if r < 0.9 else _elide(rng, claim.quote))
                    app = Appearance(si, wording, False, claim.quote)
                elif r < 0.5:
                    app = Appearance(si, claim.quote, False, claim.quote)
                elif r < 0.9:
                    v = _variant(rng, text, claim.quote)
                    app = Appearance(si, v, False, v)
                else:
                    v = _variant(rng, text, claim.quote)
                    app = Appearance(si, v, True, v)
                claim.appearances.append(app)
                sources[si].quotes.append((app.printed, speaker_name, app.indirect))
    return rng, text, speakers, events, sources, claims, tags


# --------------------------------------------------------------------------
# Bodies


def _link(rng: random.Random, text: Text) -> str:
    label = " ".join(text.words(rng.randint(2, 5)))
    host = rng.choice(["un.org", "consilium.europa.eu", "mid.ru", "kremlin.ru", "srbija.gov.rs",
                       "kryeministri.rks-gov.net", "icj-cij.org", "pax.peaceagreements.org"])
    return f"[{label}](https://{host}/docs/{ascii_slug(label, 40)}-{rng.randint(100, 99999)})"


def claim_body(rng: random.Random, text: Text, claim: Claim, speaker: Speaker, event: Event,
               sources: list[Source]) -> str:
    first = sources[claim.appearances[0].source]
    parts = ["## What was said", ""]
    parts.append(f"{speaker.name} said this on {claim.said.day} {claim.said.strftime('%B')} "
                 f"{claim.said.year} ({event.name}, {event.place}). {first.outlet} reported it. "
                 + text.paragraph(rng.randint(55, 88)))
    parts += ["", f"> {claim.quote}", ""]
    parts += ["## What the record shows", ""]
    p = text.paragraph(rng.randint(60, 95)).split(". ")
    p.insert(rng.randrange(len(p)), _link(rng, text))
    footnotes = []
    if rng.random() < 0.35:
        p[-1] += "[^1]"
        footnotes.append(f"[^1]: {text.sentence(8, 16)} <https://archive.example.org/"
                         f"{claim.said.year}/{rng.randint(1000, 999999)}>")
    parts += [". ".join(p), ""]
    numbered = rng.random() < 0.3
    for i in range(rng.randint(3, 5)):
        bullet = f"{i + 1}." if numbered else "-"
        item = text.sentence(6, 16, proper=0.2)
        if rng.random() < 0.3:
            item = f"**{item.split(' ')[0]}** " + " ".join(item.split(" ")[1:])
        parts.append(f"{bullet} {item}")
    parts += ["", text.paragraph(rng.randint(60, 95))]
    if rng.random() < 0.5:
        parts += ["", "## Context", "", text.paragraph(rng.randint(45, 75)) + " " + _link(rng, text) + "."]
    parts += ["", "## Why this verdict", ""]
    last = text.paragraph(rng.randint(55, 90))
    if footnotes and rng.random() < 0.5:
        last += "[^2]"
        footnotes.append(f"[^2]: {text.sentence(8, 16)}")
    parts.append(last)
    if footnotes:
        parts += [""] + footnotes
    return "\n".join(parts) + "\n"


def source_body(rng: random.Random, text: Text, source: Source) -> str:
    target = rng.randint(400, 800)
    quoted = []
    for wording, speaker, indirect in source.quotes:
        if indirect:
            lowered = wording[:1].lower() + wording[1:]
            quoted.append(f"{speaker} said that {lowered.rstrip('.?!')}, according to officials.")
        elif rng.random() < 0.5:
            quoted.append(f"\u201c{wording}\u201d {speaker} told reporters.")
        else:
            quoted.append(f"{speaker} said: \"{wording}\"")
    used = sum(q.count(" ") + 1 for q in quoted)
    paragraphs = []
    remaining = max(120, target - used - 12 * len(quoted))
    while remaining > 0:
        size = min(remaining, rng.randint(40, 120))
        paragraphs.append(text.paragraph(size))
        remaining -= size
    for q in quoted:
        at = rng.randrange(len(paragraphs) + 1)
        if at < len(paragraphs) and rng.random() < 0.5:
            paragraphs[at] = paragraphs[at] + " " + q  # inside a paragraph
        else:
            paragraphs.insert(at, q + " " + text.sentence())
    lines = []
    for para in paragraphs:
        # archived text is often hard-wrapped; the generator must join the lines
        if rng.random() < 0.2:
            words = para.split(" ")
            para = "\n".join(" ".join(words[i:i + 14]) for i in range(0, len(words), 14))
        lines.append(para)
    return "\n\n".join(lines) + "\n"


PAGES = {
    "about": ("About this archive", 4),
    "methodology": ("Methodology and verdicts", 6),
    "corrections": ("Corrections policy", 2),
}


# --------------------------------------------------------------------------
# Writing


def _write(path: Path, text: str) -> int:
    data = text.encode("utf-8")
    with open(path, "wb") as handle:
        handle.write(data)
    return len(data)


def generate(n_claims: int, out: Path, seed: int = 1, repo: Path = REPO) -> dict:
    """Write out/site_config.yaml and out/content/...; returns counts."""
    started = time.perf_counter()
    verdict_block, verdict_ids = read_verdicts(repo / "site_config.yaml")
    rng, text, speakers, events, sources, claims, tags = plan(n_claims, seed, verdict_ids)

    out.mkdir(parents=True, exist_ok=True)
    content = out / "content"
    if content.exists():
        shutil.rmtree(content)
    for kind in ("claims", "speakers", "events", "sources", "pages"):
        (content / kind).mkdir(parents=True)
    templates = os.path.relpath(repo / "templates", out.resolve()).replace(os.sep, "/")
    total = _write(out / "site_config.yaml", "\n".join([
        f"# Synthetic benchmark corpus: {n_claims} claims, seed {seed}. Generated by",
        "# bench/generate_corpus.py; do not edit by hand.",
        "title: Synthetic Claims Archive",
        f"description: A generated archive of {n_claims} claims for measuring build times.",
        "base_url: https://example.org/bench/",
        "language: en",
        "publisher: factsite benchmark",
        "per_page: 20",
        "output_dir: output",
        "content_dir: content",
        f"templates_dir: {yq(templates)}",
        "rating_best: 5",
        "rating_worst: 1",
        "",
        verdict_block,
    ]))

    for sp in speakers:
        lines = ["---", f"name: {yq(sp.name)}", f"role: {yq(sp.role)}",
                 f"organisation: {yq(sp.organisation)}", f"country: {yq(_COUNTRY[sp.nat])}"]
        if sp.aliases:
            lines.append("aliases:")
            lines += [f"  - {yq(a)}" for a in sp.aliases]
        lines += ["---", "", f"{sp.name} has served as {sp.role}. " + text.paragraph(rng.randint(40, 90)), ""]
        if rng.random() < 0.3:
            lines += [text.paragraph(rng.randint(30, 60)), ""]
        total += _write(content / "speakers" / f"{sp.slug}.md", "\n".join(lines))

    for ev in events:
        lines = ["---", f"name: {yq(ev.name)}", f"date: {ev.date.isoformat()}"]
        if ev.end_date:
            lines.append(f"end_date: {ev.end_date.isoformat()}")
        lines += [f"place: {yq(ev.place)}", "---", "", text.paragraph(rng.randint(50, 110)), ""]
        if rng.random() < 0.4:
            lines += [text.paragraph(rng.randint(40, 80)) + "[^1]", "",
                      f"[^1]: {text.sentence(6, 12)} <https://example.org/timeline/{ev.slug}>", ""]
        total += _write(content / "events" / f"{ev.slug}.md", "\n".join(lines))

    for src in sources:
        lines = ["---", f"outlet: {yq(src.outlet)}", f"title: {yq(src.title)}", f"url: {yq(src.url)}",
                 f"published: {src.published.isoformat()}", f"language: {yq(src.language)}"]
        if src.author:
            lines.append(f"author: {yq(src.author)}")
        lines.append(f"retrieved: {src.retrieved.isoformat()}")
        if src.archive:
            lines.append(f"archive_url: {yq('https://web.archive.org/web/' + src.retrieved.strftime('%Y%m%d') + '000000/' + src.url)}")
        lines += ["---", "", source_body(rng, text, src)]
        total += _write(content / "sources" / f"{src.slug}.md", "\n".join(lines))

    for claim in claims:
        speaker, event = speakers[claim.speaker], events[claim.event]
        lines = ["---", f"quote: {yq(claim.quote)}", f"speaker: {speaker.slug}", f"event: {event.slug}",
                 f"said: {claim.said.isoformat()}", f"verdict: {claim.verdict}",
                 f"tags: [{', '.join(yq(t) for t in claim.tags)}]"]
        if rng.random() < 0.7:
            lines.append(f"summary: {yq(text.sentence(10, 20, proper=0.3))}")
        lines.append(f"reviewed: {claim.reviewed.isoformat()}")
        if claim.updated:
            lines.append(f"updated: {claim.updated.isoformat()}")
        lines.append("appearances:")
        for app in claim.appearances:
            lines.append(f"  - source: {sources[app.source].slug}")
            if app.wording is not None:
                lines.append(f"    wording: {yq(app.wording)}")
            if app.indirect:
                lines.append("    indirect: true")
        lines += ["---", "", claim_body(rng, text, claim, speaker, event, sources)]
        total += _write(content / "claims" / f"{claim.slug}.md", "\n".join(lines))

    for slug, (title, paras) in PAGES.items():
        body = []
        for i in range(paras):
            body += [f"## {text.title(2, 5)}", "", text.paragraph(rng.randint(60, 120)), ""]
        total += _write(content / "pages" / f"{slug}.md",
                        "\n".join(["---", f"title: {yq(title)}", "---", ""] + body))

    return {
        "claims": len(claims), "speakers": len(speakers), "events": len(events),
        "sources": len(sources), "pages": len(PAGES), "tags": len({ascii_slug(t) for c in claims for t in c.tags}),
        "appearances": sum(len(c.appearances) for c in claims), "bytes": total,
        "seconds": round(time.perf_counter() - started, 3),
    }


_REVISION = re.compile(r"^Editorial revision (\d+): .*$", re.M)


def edit_one_claim(corpus_dir: Path | str, n: int) -> Path:
    """Change the body of claim number n (in file-name order) and return its path.

    The edit bumps an "Editorial revision K" line at the end of the body (adding
    it the first time), so every call is a real change and the result depends
    only on the file's previous contents. The front matter is not touched.
    """
    claims = sorted((Path(corpus_dir) / "content" / "claims").glob("*.md"))
    if not claims:
        raise FileNotFoundError(f"no claims in {corpus_dir}/content/claims")
    path = claims[n % len(claims)]
    text = path.read_text(encoding="utf-8")
    match = _REVISION.search(text)
    if match:
        k = int(match.group(1)) + 1
        text = text[:match.start()] + _revision_line(k) + text[match.end():]
    else:
        text = text.rstrip("\n") + "\n\n" + _revision_line(1) + "\n"
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    return path


def edit_one_verdict(corpus_dir: Path | str, n: int) -> Path:
    """Change the verdict of claim number n (front matter, not the body) and return its path:
    `accurate` becomes `mostly-accurate`, anything else becomes `accurate`. The claim moves
    between two verdict lists, which re-paginates both: the costliest common edit."""
    claims = sorted((Path(corpus_dir) / "content" / "claims").glob("*.md"))
    if not claims:
        raise FileNotFoundError(f"no claims in {corpus_dir}/content/claims")
    path = claims[n % len(claims)]
    text = path.read_text(encoding="utf-8")
    match = re.search(r"^verdict: *(\S+)$", text, re.M)
    if match is None:
        raise ValueError(f"{path} has no verdict line")
    new = "mostly-accurate" if match.group(1) == "accurate" else "accurate"
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text[:match.start(1)] + new + text[match.end(1):])
    return path


def _revision_line(k: int) -> str:
    words = _WORDS[(k * 7) % 50:(k * 7) % 50 + 6]
    return f"Editorial revision {k}: the notes were checked again ({' '.join(words)})."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, help="number of claims N (speakers N/20, events N/10)")
    parser.add_argument("--out", type=Path, required=True, help="corpus folder to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--edit", type=int, metavar="K",
                        help="instead of generating, edit the body of claim number K in --out")
    args = parser.parse_args(argv)
    if args.edit is not None:
        print(edit_one_claim(args.out, args.edit))
        return 0
    if args.claims is None or args.claims < 1:
        parser.error("--claims N (N >= 1) is required unless --edit is given")
    stats = generate(args.claims, args.out, args.seed)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
