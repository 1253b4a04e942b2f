"""Front matter in its common shapes, read without PyYAML.

Nearly every entry's front matter is `key: value` lines, a list of quoted strings in
brackets (tags) and a list of small mappings (appearances). PyYAML's C parser calls
its Python resolver for each scalar and the values are then built node by node:
~85 us a header, half of reading a 10,000-claim archive's 17,500 files. `read` takes
only text whose meaning these rules settle, and returns None for anything else
(aliases, block scalars, nesting, tabs, comments after values, numbers, repeated
keys, ...): `yamlread.parse_yaml` then reads it with PyYAML, which also reports
every mistake. A scalar is typed by the same implicit resolvers PyYAML's loader
uses (`yamlread._Loader`), so the values are the ones PyYAML would build;
tests/test_properties.py holds the two readers to that on generated text.
"""

from __future__ import annotations

import re
from typing import Any

# what YAML reads as a line break or refuses, and tabs (indentation rules), anywhere: left
# to PyYAML
_REFUSED = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
# (PyYAML refuses a key of over 1,024 characters on one line with its value)
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,1023}):(?: +(.*))?\Z")
# a flow list of double-quoted strings without escapes, on one line
_FLOW = re.compile(r'\[ *(?:"[^"\\]*"(?: *, *"[^"\\]*")*)? *\]')
_QUOTED = re.compile(r'"([^"\\]*)"')
# characters a plain scalar may not start with (a few may, when a letter follows: left out)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` ")
_NO: Any = object()  # not read here
# (tag, pattern) pairs by a plain scalar's first character; and those for any character
Types = tuple[dict[str, list[tuple[str, Any]]], list[tuple[str, Any]]]

MAX_CHARS = 64 * 1024  # longer front matter is rare: PyYAML reads it
# deeper indentation (blank lines too) and more values are left to PyYAML, whose reader
# refuses a document that nests past 50 levels or holds over 20,000 values
MAX_INDENT = 16
MAX_VALUES = 5000


class _Reader:
    """One document's lines, read top to bottom."""

    def __init__(self, text: str, types: Types):
        self.lines = text.split("\n")
        self.at = 0
        self.values = 0  # scalars read, list items included
        self.by_first, self.anywhere = types

    def _plain(self, text: str) -> Any:
        """A plain scalar's value, typed as PyYAML's resolvers type it: text, true/false
        or null here; _NO for a number, a merge key and the like."""
        tag = None
        for tag_name, pattern in self.by_first.get(text[0], self.anywhere):
            if pattern.match(text):
                tag = tag_name
                break
        if tag is None:
            return text
        if tag.endswith(":bool"):
            return text.lower() == "true"
        if tag.endswith(":null"):
            return None
        return _NO

    def scalar(self, text: str) -> Any:
        """A value written on its key's (or list item's) line, trailing spaces cut."""
        self.values += 1
        first = text[0]
        if first == '"':
            inner = text[1:-1]
            if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
                return _NO
            return inner
        if first == "'":
            inner = text[1:-1]
            return inner if len(text) >= 2 and text[-1] == "'" and "'" not in inner else _NO
        if first == "[":
            if not _FLOW.fullmatch(text):
                return _NO
            items = _QUOTED.findall(text)
            self.values += len(items)
            return items
        if first in _INDICATORS or "#" in text or ": " in text or text[-1] == ":":
            return _NO
        return self._plain(text)

    def _next(self) -> tuple[int, str] | None:
        """The next line that is not blank or a comment: (its indent, the line); not taken."""
        lines = self.lines
        while self.at < len(lines):
            line = lines[self.at]
            stripped = line.lstrip(" ")
            if stripped and stripped[0] != "#":
                return len(line) - len(stripped), line
            self.at += 1
        return None

    def mapping(self, indent: int, first: str | None = None) -> Any:
        """`key: value` lines at `indent` (the first one given when it followed a list's
        dash); a key with nothing after it opens a list below it (top level only)."""
        data: dict[str, Any] = {}
        pending = first
        while True:
            if pending is None:
                found = self._next()
                if found is None or found[0] < indent:
                    return data
                if found[0] > indent:
                    return _NO  # more indented: a continued scalar, a nested mapping
                line = found[1][indent:]
                self.at += 1
            else:
                line, pending = pending, None
            match = _KEY.match(line)
            if match is None:
                return _NO
            key, rest = match[1], match[2]
            if key in data or self._plain(key) is not key:
                return _NO  # repeated (PyYAML reports it), or a key typed as true, null ...
            if rest and (rest := rest.rstrip(" ")):
                value = self.scalar(rest)
            elif indent == 0:
                value = self._below()
            else:
                value = _NO
            if value is _NO:
                return _NO
            data[key] = value

    def _below(self) -> Any:
        """What follows a top-level key with nothing after it: a list, or null."""
        found = self._next()
        if found is None:
            return None
        column, line = found
        if line[column:column + 2] == "- ":
            return self.sequence(column)
        return None if column == 0 else _NO

    def sequence(self, indent: int) -> Any:
        """`- item` lines at `indent`; an item is a scalar or a mapping begun on its line."""
        items: list[Any] = []
        while True:
            found = self._next()
            if found is None or found[0] < indent:
                return items
            column, line = found
            if column > indent or line[column:column + 2] != "- ":
                return items if column == 0 == indent else _NO
            self.at += 1
            content = line[column + 2:].lstrip(" ").rstrip(" ")
            if not content:
                return _NO
            if _KEY.match(content):
                inside = len(line) - len(line[column + 2:].lstrip(" "))
                if inside > MAX_INDENT:
                    return _NO
                item = self.mapping(inside, content)
            else:  # (a line below it more indented is refused at the loop's top)
                item = self.scalar(content)
            if item is _NO:
                return _NO
            items.append(item)


def types_of(resolvers: dict[Any, list[tuple[str, Any]]]) -> Types:
    """A loader's implicit resolvers (`yaml_implicit_resolvers`) as `read` takes them: the
    patterns tried for a value by its first character, and those tried for any value."""
    anywhere = list(resolvers.get(None, []))
    return ({first: list(patterns) + anywhere for first, patterns in resolvers.items()
             if first is not None}, anywhere)


def read(text: str, types: Types) -> dict[str, Any] | None:
    """The front matter's values, or None to leave it to PyYAML. `types` come from
    `types_of` on the loader's resolvers."""
    if (len(text) > MAX_CHARS or _REFUSED.search(text)
            or "\n" + " " * (MAX_INDENT + 1) in "\n" + text):
        return None
    reader = _Reader(text, types)
    data = reader.mapping(0)
    if data is _NO or not data or reader._next() is not None or reader.values > MAX_VALUES:
        return None
    return data
