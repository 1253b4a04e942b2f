"""The fields editors write, declared once: validation, docs and scaffolding read this.

Each kind of entry (and site_config.yaml) is a table of `Field`s. `check_record`
turns raw YAML data into typed values and reports every problem with its
position; nothing here knows about the model.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from dataclasses import dataclass
from typing import Any, Callable

from .urls import web_address_problem
from .yamlread import YamlDoc


@dataclass(frozen=True)
class Field:
    type: str  # text | date | bool | int | url | path | texts | ref | colour | language | records | rating
    required: bool
    doc: str
    example: Any = None
    default: Any = None
    fields: "dict[str, Field] | None" = None  # for `records`
    max_chars: int | None = None  # for text: the longest value taken


# A quotation is a statement, not an article: held to this length, it is looked for in its
# source, and compared with other wordings, in a time that stays small whatever it holds
# (differences are found word by word, in time that grows with the square of the words).
QUOTE_CHARS = 2000

SOURCE = {
    "outlet": Field("text", True, "The publication that printed the article.", "TASS"),
    "title": Field("text", True, "The headline exactly as published.",
                   "Serbia can rely on Russia on Kosovo problem — Russian ambassador"),
    "url": Field("url", True, "Address of the original article.", "https://tass.com/politics/1555555"),
    "published": Field("date", True, "Publication date, YYYY-MM-DD.", "2022-12-22"),
    "language": Field("language", True, "Language of the article (BCP 47 code).", "en"),
    "author": Field("text", False, "Byline, if the article names one.", "Alexander Botsan-Kharchenko"),
    "retrieved": Field("date", True, "When the archived copy (the body) was taken.", "2026-11-01"),
    "archive_url": Field("url", False, "A public archive copy (e.g. the Wayback Machine).", None),
    "draft": Field("bool", False, "Shown in the preview only, never published.", None, False),
}

SPEAKER = {
    "name": Field("text", True, "Full name, with diacritics.", "Aleksandar Vučić"),
    "role": Field("text", True, "Office or role at the time of the statements.", "President of Serbia"),
    "organisation": Field("text", False, "Institution the speaker represents.", "Government of Serbia"),
    "country": Field("text", False, "Country the speaker represents.", "Serbia"),
    "aliases": Field("texts", False, "Other spellings found in sources (used by search).", ["Vucic"], []),
    "draft": Field("bool", False, "Shown in the preview only, never published.", None, False),
}

EVENT = {
    "name": Field("text", True, "What happened, as a short title.", "Lavrov's visit to Belgrade"),
    "date": Field("date", True, "The (first) day, YYYY-MM-DD.", "2021-10-10"),
    "end_date": Field("date", False, "Last day, for events spanning several days.", "2021-10-11"),
    "place": Field("text", True, "Where it happened.", "Belgrade, Serbia"),
    "draft": Field("bool", False, "Shown in the preview only, never published.", None, False),
}

APPEARANCE = {
    "source": Field("ref", True, "The source (file name without .md, or its title).",
                    "tass-2022-12-22-serbia-can-rely-on-russia"),
    "wording": Field("text", False, "The exact words as this source printed them; `…` marks an "
                     "elision. Defaults to the claim's quote.",
                     "People in Serbia know that they always can rely on Russia.", max_chars=QUOTE_CHARS),
    "indirect": Field("bool", False, "The source reports the words in indirect speech.", None, False),
}

CLAIM = {
    "quote": Field("text", True, "The claim, quoted verbatim.",
                   "People in Serbia know that they always can rely on Russia.", max_chars=QUOTE_CHARS),
    "speaker": Field("ref", True, "Who said it (speaker file name without .md, or the name).",
                     "alexander-botsan-kharchenko"),
    "event": Field("ref", False, "Where it was said (event file name without .md).",
                   "north-kosovo-barricades-2022"),
    "said": Field("date", True, "When it was said (or first reported), YYYY-MM-DD.", "2022-12-21"),
    "verdict": Field("text", True, "A verdict id from the scale in site_config.yaml.", "opinion"),
    "appearances": Field("records", True, "Where the claim was reported: one item per source.",
                         None, None, APPEARANCE),
    "tags": Field("texts", False, "Topics, for the tag pages.", ["UN Security Council"], []),
    "summary": Field("text", False, "One plain sentence for listings and search results.", None),
    "reviewed": Field("date", True, "When this fact-check was published, YYYY-MM-DD.", "2026-11-24"),
    "updated": Field("date", False, "When this fact-check was last changed materially.", None),
    "draft": Field("bool", False, "Shown in the preview only, never published.", None, False),
}

PAGE = {
    "title": Field("text", True, "Page title.", "About and methodology"),
    "draft": Field("bool", False, "Shown in the preview only, never published.", None, False),
}

KINDS: dict[str, dict[str, Field]] = {
    "claims": CLAIM, "speakers": SPEAKER, "events": EVENT, "sources": SOURCE, "pages": PAGE,
}

VERDICT = {
    "id": Field("text", True, "Identifier used in claims' `verdict` field.", "accurate"),
    "label": Field("text", True, "Name shown on the badge.", "Accurate"),
    "description": Field("text", True, "What the verdict means; shown on claim and about pages.",
                         "The statement matches the documented record."),
    "colour": Field("colour", True, "Badge colour (#rrggbb); text colour is chosen for contrast.",
                    "#1a7f37"),
    "rating": Field("int", False, "ClaimReview ratingValue between rating_worst and rating_best; "
                    "leave out for labels that are not on the true/false axis.", 5),
}

CONFIG = {
    "title": Field("text", True, "Site name.", "Kosovo Claims Archive"),
    "description": Field("text", True, "One sentence for the home page, feeds and meta tags.", None),
    "base_url": Field("url", True, "Where the site will live, with any sub-path.",
                      "https://example.org/factcheck/"),
    "language": Field("language", True, "Language of the site's pages (BCP 47).", "en"),
    "publisher": Field("text", True, "The organisation publishing the fact-checks (ClaimReview author).",
                       "Example Newsroom"),
    "per_page": Field("int", False, "Entries per index page before it is split into pages.", 20, 20),
    "output_dir": Field("path", False, "Where the built site goes (relative to this file).",
                        "output", "output"),
    "content_dir": Field("path", False, "Where the entries are (relative to this file).",
                         "content", "content"),
    "templates_dir": Field("path", False, "Where the Jinja templates are (relative to this file).",
                           "templates", "templates"),
    "rating_best": Field("int", False, "ClaimReview bestRating.", 5, 5),
    "rating_worst": Field("int", False, "ClaimReview worstRating.", 1, 1),
    "markdown_html": Field("bool", False, "Render raw HTML written in Markdown bodies. Off by default: "
                           "turn on only if every editor is trusted.", None, False),
    "verdicts": Field("records", True, "The verdict scale, best first; list order is display order.",
                      None, None, VERDICT),
}


Report = Callable[[tuple[Any, ...], str, str], None]

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# characters XML 1.0 forbids (tab and newlines are allowed), plus the non-characters
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


# every byte but those of what `_CONTROL` finds in a text decoded from UTF-8: a C0 control
# (tab and line breaks aside) or DEL is a byte of its own there, U+FFFE and U+FFFF begin
# EF BF, and strict decoding lets no lone surrogate through
_OTHER_BYTES = bytes(b for b in range(256) if not ((b < 0x20 and b not in b"\t\n\r") or b == 0x7F))


def may_hold_control(data: bytes) -> bool:
    """Could `control_character` find anything in a text decoded from these UTF-8 bytes?
    Nearly never: `bytes.translate` keeps only the control bytes at ~1 ns a byte, where the
    search takes ~5 ns a character of text (16,300 bodies: 15-19 vs 6 us each)."""
    return bool(data.translate(None, _OTHER_BYTES)) or b"\xef\xbf" in data


def control_character(text: str) -> tuple[int, str, str] | None:
    """(offset, message, hint) of the first character no page or feed may carry, if any:
    C0 controls other than tab and line breaks, DEL, lone surrogates, U+FFFE/U+FFFF.
    (None of them is printable: a one-line field that is, the usual case, skips the search.)"""
    if text.isprintable():
        return None
    bad = _CONTROL.search(text)
    if bad is None:
        return None
    return (bad.start(), f"the text contains the invisible control character U+{ord(bad.group()):04X}",
            "delete it (it often comes from copy-paste); pages and feeds cannot carry it")


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"a yes/no value ({str(value).lower()})"
    if isinstance(value, int) and value.bit_length() > 64:
        return "a very long number"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a set of fields"
    if value is None:
        return "nothing"
    return f"text ({value!r})"


_LIST_ITEM = Field("text", True, "")  # an item of a `texts` field


_TEXT_KINDS = ("text", "ref", "url", "language", "colour", "path")


def _convert_text(field: Field, value: Any, path: tuple[Any, ...], report: Report) -> Any:
    """A value of one of `_TEXT_KINDS` to its text, or None after reporting why it cannot be."""
    kind = field.type
    if not isinstance(value, str):
        hint = "put the value in double quotes"
        if isinstance(value, float):
            hint = f"YAML read this as the number {value}; write it in double quotes"
        report(path, f"expected text, found {_describe(value)}", hint)
        return None
    text = value.strip()
    bad = control_character(text)
    if bad:
        report(path, bad[1], bad[2])
        return None
    if not text:
        report(path, "this field is empty", "write its value (a new entry's comment beside it says what "
               "goes there)" if field.required else "write a value, or remove the line")
        return None
    if field.max_chars is not None and len(text) > field.max_chars:
        report(path, f"this is {len(text):,} characters long, more than the {field.max_chars:,} "
               "a quotation may have", "quote the sentences the claim is about, and mark what "
               "you leave out with …")
        return None
    if kind == "url":
        why = web_address_problem(text)
        if why:
            report(path, why, "write the page's public address as a browser shows it, https://…")
            return None
    if kind == "path":
        return os.path.expanduser(text)  # (~/site: a folder in the home folder)
    if kind == "language" and not _LANGUAGE.match(text):
        report(path, f"{text!r} is not a language code", "use a BCP 47 code such as en, sr-Latn or ru")
        return None
    if kind == "colour" and not _COLOUR.match(text):
        report(path, f"{text!r} is not a colour", 'write it as "#rrggbb" in quotes, e.g. "#1a7f37"')
        return None
    return text


def _convert(field: Field, value: Any, path: tuple[Any, ...], report: Report) -> Any:
    """One value to its typed form, or None after reporting why it cannot be."""
    kind = field.type
    if kind in _TEXT_KINDS:
        return _convert_text(field, value, path, report)
    if kind == "date":
        if isinstance(value, str):
            if not value.strip():
                report(path, "this field is empty", "write the date as YYYY-MM-DD, e.g. 2022-12-21")
                return None
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                report(path, f"{value!r} is not a valid date", "write it as YYYY-MM-DD, e.g. 2022-12-21")
                return None
        report(path, f"expected a date, found {_describe(value)}", "write it as YYYY-MM-DD, e.g. 2022-12-21")
        return None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        report(path, f"expected true or false, found {_describe(value)}", "write true or false")
        return None
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        report(path, f"expected a whole number, found {_describe(value)}", "write a number such as 20")
        return None
    if kind == "texts":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            report(path, f"expected a list, found {_describe(value)}", "write [one, two] or one item per line")
            return None
        result = []
        for i, item in enumerate(items):
            converted = _convert(_LIST_ITEM, item, path + (i,), report)
            if converted is not None:
                result.append(converted)
        return result
    if kind == "records":
        if isinstance(value, list) and not value:
            report(path, "the list is empty", "add at least one `- field: value` item under this key")
            return None
        if not isinstance(value, list):
            report(path, f"expected a list of items, found {_describe(value)}",
                   "write one `- field: value` item per line under this key")
            return None
        result = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                report(path + (i,), f"expected an item with fields, found {_describe(item)}",
                       "each item is `- field: value` with its fields indented below")
                continue
            assert field.fields is not None
            result.append(check_record(item, field.fields, report, path + (i,)))
        return result
    raise AssertionError(f"unknown field type {kind}")


def check_record(data: dict[str, Any], fields: dict[str, Field], report: Report,
                 prefix: tuple[Any, ...] = ()) -> dict[str, Any]:
    """Typed values for known fields (None where missing or wrong); reports every problem."""
    values: dict[str, Any] = {}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`?" if close else f"known fields: {', '.join(fields)}"
            report(prefix + (key,), f"unknown field `{key}`", hint)
    for name, field in fields.items():
        if name in data and data[name] is None and field.type == "path":
            report(prefix + (name,), f"`{name}` has no value (YAML reads `~` alone as no value, "
                   "not as the home folder)", f'write a folder, e.g. {name}: "~/site" in quotes, or '
                   f"remove the line for the default, {field.default}")
        if name not in data or data[name] is None:
            if field.required:
                report(prefix if prefix else (), f"missing required field `{name}`",
                       f"add `{name}:` — {field.doc[0].lower()}{field.doc[1:]}")
            values[name] = field.default
            continue
        values[name] = _convert(field, data[name], prefix + (name,), report)
        if values[name] is None:
            values[name] = field.default
    return values


def reporter_for(doc: YamlDoc | None, on_problem: Callable[[int, int, str, str], None]) -> Report:
    """A `Report` that turns a field path into the file position of that field."""
    def report(path: tuple[Any, ...], message: str, hint: str) -> None:
        line, column = doc.position(path) if doc is not None else (0, 0)
        on_problem(line, column, message, hint)
    return report
