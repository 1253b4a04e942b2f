"""Slugs, URLs and output paths, derived in one place.

Slugs are ASCII words and hyphens only (`slug_problem`), and every output
path is checked by `check_relative` before it is written into the build's
own fresh staging folder, so no slug or field can write outside the output.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from slugify import slugify as _slugify

# Serbian letters whose generic transliteration reads wrongly ("ћ" -> "tsh");
# these follow Serbian Latin spelling before accents are dropped.
_SERBIAN = [
    ["Ђ", "Dj"], ["ђ", "dj"], ["Ћ", "C"], ["ћ", "c"], ["Џ", "Dz"], ["џ", "dz"],
    ["Ј", "J"], ["ј", "j"], ["Љ", "Lj"], ["љ", "lj"], ["Њ", "Nj"], ["њ", "nj"],
    ["Đ", "Dj"], ["đ", "dj"],
]

# Names Windows refuses as file or folder names, whatever the extension.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
             *(f"lpt{i}" for i in range(10))}

_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# Letters shared with Russian that Serbian spells differently in Latin (ч is
# "č", not "ch"); applied only when a Serbian-only letter shows the text is Serbian.
_SERBIAN_SHARED = [["Ч", "C"], ["ч", "c"], ["Ш", "S"], ["ш", "s"], ["Ж", "Z"], ["ж", "z"],
                   ["Ц", "C"], ["ц", "c"]]
_SERBIAN_ONLY = re.compile("[ЂђЋћЏџЈјЉљЊњ]")


def slugify(text: str) -> str:
    """ASCII, lowercase, hyphenated: 'Aleksandar Vučić' and 'Вучић' -> '...vucic'."""
    if len(text) <= 80 and _SLUG_RE.match(text):
        return text  # already a slug (most file names): python-slugify would return it as is
    replacements = _SERBIAN + (_SERBIAN_SHARED if _SERBIAN_ONLY.search(text) else [])
    return _slugify(text, replacements=replacements, max_length=80, word_boundary=True)


def slug_problem(slug: str) -> str | None:
    """Why a slug cannot be used as a folder name, or None if it can."""
    if not slug:
        return "the slug is empty"
    if not _SLUG_RE.match(slug):
        return f"the slug {slug!r} has characters other than a-z, 0-9 and single hyphens"
    if slug in _RESERVED:
        return f"the slug {slug!r} is a reserved file name on Windows"
    return None


def web_address_problem(text: str) -> str | None:
    """Why `text` is not a usable web address (http or https, a host, a valid port), or
    None. The one check for every address a site is given: content fields, base_url,
    --base-url."""
    try:
        parts = urlsplit(text)
        port = parts.port  # (raises for a port that is not a number from 0 to 65535)
    except ValueError as exc:
        return f"{text!r} is not a valid address ({exc})"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{text!r} is not an http(s) address"
    if not parts.hostname:
        return f"{text!r} has no host name"
    if port == 0:
        return f"{text!r} names port 0, which no server listens on"
    if parts.username is not None or parts.password is not None:
        return f"{text!r} holds a user name or password"
    if any(ch.isspace() for ch in text):
        return f"{text!r} has a space in it"
    return None


def with_text_fragment(url: str, directive: str) -> str:
    """`url` with a text fragment directive (`#:~:text=…`) that highlights a passage. The
    directive goes after the address's own fragment (`#section:~:text=…`, as the URL
    Fragment Text Directives spec has it), and replaces a directive already there."""
    if not directive:
        return url
    base, _hash, fragment = url.partition("#")
    return f"{base}#{fragment.split(':~:', 1)[0]}{directive.removeprefix('#')}"


def base_path(base_url: str) -> str:
    """The path part of base_url, always with a trailing slash: '/factcheck/'."""
    path = urlsplit(base_url).path or "/"
    if not path.endswith("/"):
        path += "/"
    return path


def absolute(base_url: str, url: str) -> str:
    """Turn a site path ('/factcheck/claims/x/') into a full URL for feeds and sitemaps."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}{url}"


def page_file(url_path: str) -> str:
    """Site-relative URL path ('claims/x/') to the file that serves it ('claims/x/index.html')."""
    if url_path == "" or url_path.endswith("/"):
        return url_path + "index.html"
    return url_path


def check_relative(relative: str) -> None:
    """Refuse, by its text alone, an output path that could leave its folder."""
    if relative.startswith(("/", "\\")) or "\0" in relative or ".." in relative.split("/") \
            or "\\" in relative:
        raise ValueError(f"output path {relative!r} is not inside the output folder")
