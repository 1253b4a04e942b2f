"""Quote provenance: does a wording occur in a source's archived text?

Matching is word by word. Case, typographic quotes and apostrophes, dashes,
punctuation and white space are tolerated; words are not. `…` or `[...]` in a
wording joins fragments that must appear in order.
"""

from __future__ import annotations

import difflib
from array import array
from itertools import accumulate
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote as _percent

from .model import Segment

_APOSTROPHES = "'’ʼ‘`´"
_ELISION = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’»“]*\s+|\n\s*\n")


def _fold(text: str) -> str:
    """Case and apostrophes folded; keeps the length of ordinary text, so offsets still fit.

    One `str.replace` per apostrophe kind: `str.translate` with a table goes character by
    character in Python-level lookups, 13x slower on a source text (364 vs 27 us)."""
    for apostrophe in _APOSTROPHES[1:]:
        if apostrophe in text:
            text = text.replace(apostrophe, "'")
    return text.lower()


class Token(NamedTuple):
    key: str
    start: int
    end: int


_WORD_SPLIT = re.compile(rf"(\w+(?:[{_APOSTROPHES}]\w+)*)")


def _words(text: str) -> tuple[list[str], array]:
    """Folded words and a flat array of offsets (start, end, start, end, ...).

    One regex split and one running sum, both in C: tokenising word by word in
    Python was a third of a 10,000-claim build."""
    folded = _fold(text)
    if len(folded) == len(text):
        parts = _WORD_SPLIT.split(folded)
        keys = parts[1::2]
    else:  # folding changed lengths (rare letters): fold word by word
        parts = _WORD_SPLIT.split(text)
        keys = [_fold(word) for word in parts[1::2]]
    # (through a list: `array` fills itself from a list in C, from an iterator item by item)
    return keys, array("l", list(accumulate(map(len, parts[:-1]))))


def tokenize(text: str) -> list[Token]:
    """Words with their offsets in `text`, each keyed for comparison."""
    keys, bounds = _words(text)
    return [Token(key, bounds[2 * i], bounds[2 * i + 1]) for i, key in enumerate(keys)]


class Run(NamedTuple):
    """Words of a wording between elisions, and where they lie in the (NFC) wording."""
    keys: list[str]
    start: int  # of the first word
    end: int  # of the last word


def fragments(wording: str) -> list[Run]:
    """The wording's word runs between elisions."""
    wording = unicodedata.normalize("NFC", wording)
    runs, start = [], 0
    for match in [*_ELISION.finditer(wording), None]:
        end = match.start() if match else len(wording)
        keys, bounds = _words(wording[start:end])
        if keys:
            runs.append(Run(keys, start + bounds[0], start + bounds[-1]))
        if match:
            start = match.end()
    return runs


@dataclass
class Found:
    spans: list[tuple[int, int]]  # character spans in the source text, one per fragment
    words: tuple[int, int] = (0, 0)  # numbers of the first and the last word matched


@dataclass
class QuoteResult:
    """What a match leaves for the page, cached per (source, wording): small on purpose,
    the passage in context is cut from the source only when the claim page is drawn."""
    found: bool
    spans: list[tuple[int, int]]
    text_fragment: str
    missing: "Missing | None" = None


@dataclass
class Missing:
    fragment: str  # the part of the wording that was not found
    closest: str  # the closest passage of the source, as printed there
    differences: list[str]  # human-readable, word by word


class ArchivedText:
    """A source's archived text as pages draw it: passages cut out in context."""

    def __init__(self, text: str):
        self.text = unicodedata.normalize("NFC", text)
        self._sentences: list[tuple[int, int]] | None = None

    def sentences(self) -> list[tuple[int, int]]:
        if self._sentences is None:
            bounds, start = [], 0
            for match in _SENTENCE_END.finditer(self.text):
                if match.start() > start:
                    bounds.append((start, match.start()))
                start = match.end()
            if start < len(self.text):
                bounds.append((start, len(self.text)))
            self._sentences = bounds
        return self._sentences

    def context(self, spans: list[tuple[int, int]]) -> list[Segment]:
        """The sentence before, the quoted sentence(s) and the sentence after, quote marked."""
        sentences = self.sentences()
        first = next((i for i, (s, e) in enumerate(sentences) if e > spans[0][0]), 0)
        last = next((i for i, (s, e) in enumerate(sentences) if e >= spans[-1][1]), len(sentences) - 1)
        lo = sentences[max(0, first - 1)][0]
        hi = sentences[min(len(sentences) - 1, last + 1)][1]
        segments, at = [], lo
        for start, end in spans:
            if start > at:
                segments.append(Segment(_flat(self.text[at:start]), False))
            segments.append(Segment(_flat(self.text[start:end]), True))
            at = end
        if hi > at:
            segments.append(Segment(_flat(self.text[at:hi]), False))
        return segments


class SourceText(ArchivedText):
    """A source's archived text, indexed once, searched many times.

    The words are joined into one space-separated string of folded keys, so
    finding a wording is a single `str.find` (C speed) and the word number of
    a hit is the count of spaces before it.
    """

    def __init__(self, text: str):
        super().__init__(text)
        # word boundaries as one flat array of ints (start, end, start, end, ...): a list of
        # tuples cost ~60 bytes a word, 270 MB over 10,000 claims' sources
        keys, self._bounds = _words(self.text)
        self.joined = " " + " ".join(keys) + " "
        self._positions: dict[str, list[int]] | None = None

    @property
    def keys(self) -> list[str]:
        return self.joined.split()

    @property
    def spans(self) -> list[tuple[int, int]]:
        b = self._bounds
        return [(b[i], b[i + 1]) for i in range(0, len(b), 2)]

    @property
    def tokens(self) -> list[Token]:
        return [Token(k, a, b) for k, (a, b) in zip(self.keys, self.spans)]

    @property
    def positions(self) -> dict[str, list[int]]:
        if self._positions is None:
            self._positions = {}
            for i, key in enumerate(self.keys):
                self._positions.setdefault(key, []).append(i)
        return self._positions

    def _find_run(self, run: list[str], after: int) -> tuple[int, int, int] | None:
        """(first word, last word, next search position) of the words `run` in order."""
        at = self.joined.find(" " + " ".join(run) + " ", after)
        if at < 0:
            return None
        first = self.joined.count(" ", 0, at + 1) - 1
        return first, first + len(run) - 1, at + len(" ".join(run)) + 1

    def find(self, wording: str) -> Found | Missing:
        runs = fragments(wording)
        if not runs:
            return Missing(wording, "", ["the wording has no words"])
        spans, after, first = [], 0, -1
        b = self._bounds
        for run in runs:
            hit = self._find_run(run.keys, after)
            if hit is None:
                nfc = unicodedata.normalize("NFC", wording)
                return self._closest(nfc[run.start:run.end], run.keys)
            spans.append((b[2 * hit[0]], b[2 * hit[1] + 1]))
            first = hit[0] if first < 0 else first
            after = hit[2]
        return Found(spans, (first, hit[1]))

    def _closest(self, piece: str, keys: list[str]) -> Missing:
        """The window of the source most like the missing words, and how they differ."""
        if not self._bounds:
            return Missing(piece, "", ["the source has no text"])
        keys_all = self.keys
        votes: dict[int, int] = {}
        for j, key in enumerate(keys):
            for i in self.positions.get(key, ()):
                votes[i - j] = votes.get(i - j, 0) + 1
        candidates = sorted(votes, key=lambda s: (-votes[s], s))[:25] or [0]
        best: tuple[float, int, int] | None = None
        n = len(keys)
        for start in candidates:
            lo, hi = max(0, start - 3), min(len(keys_all), start + n + 3)
            matcher = difflib.SequenceMatcher(None, keys, keys_all[lo:hi], autojunk=False)
            blocks = [b for b in matcher.get_matching_blocks() if b.size]
            if not blocks:
                continue
            # align the window with the whole wording, unmatched first and last words included
            w_lo = max(0, lo + blocks[0].b - blocks[0].a)
            w_hi = min(len(keys_all), lo + blocks[-1].b + blocks[-1].size + (n - blocks[-1].a - blocks[-1].size))
            ratio = difflib.SequenceMatcher(None, keys, keys_all[w_lo:w_hi], autojunk=False).ratio()
            if best is None or ratio > best[0]:
                best = (ratio, w_lo, w_hi)
        if best is None:
            return Missing(piece, "", ["none of its words occur in the source"])
        _, w_lo, w_hi = best
        window = self.tokens[w_lo:w_hi]  # built on this rare path only
        closest = self.text[window[0].start:window[-1].end]
        words_piece = [piece[t.start:t.end] for t in tokenize(piece)]
        words_source = [self.text[t.start:t.end] for t in window]
        return Missing(piece, closest, describe_differences(words_piece, words_source))

    def check(self, wording: str) -> QuoteResult:
        match = self.find(wording)
        if isinstance(match, Found):
            return QuoteResult(True, match.spans, self.text_fragment(*match.words))
        return QuoteResult(False, [], "", match)

    def text_fragment(self, first: int, last: int) -> str:
        """A URL text fragment (#:~:text=start,end) that highlights the quote on the original
        page, from the source's words `first` to `last`: up to 8 words whole, else the first
        four and the last four."""
        b, text = self._bounds, self.text
        if last - first < 8:
            return "#:~:text=" + _encode(text[b[2 * first]:b[2 * last + 1]])
        head = text[b[2 * first]:b[2 * (first + 3) + 1]]
        tail = text[b[2 * (last - 3)]:b[2 * last + 1]]
        return "#:~:text=" + _encode(head) + "," + _encode(tail)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _encode(text: str) -> str:
    # '-', ',' and '&' are syntax inside a text directive and must be escaped
    return _percent(_flat(text), safe="").replace("-", "%2D")


def describe_differences(quoted: list[str], printed: list[str]) -> list[str]:
    """Word-level differences between the quoted words and the source's, readable."""
    matcher = difflib.SequenceMatcher(None, [_fold(w) for w in quoted], [_fold(w) for w in printed],
                                      autojunk=False)
    opcodes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    moved_ours = sorted(_fold(w) for op in opcodes for w in quoted[op[1]:op[2]])
    moved_theirs = sorted(_fold(w) for op in opcodes for w in printed[op[3]:op[4]])
    if len(opcodes) > 1 and moved_ours == moved_theirs:
        a1, a2 = opcodes[0][1], opcodes[-1][2]
        b1, b2 = opcodes[0][3], opcodes[-1][4]
        return [f'word order differs: quote has "{" ".join(quoted[a1:a2])}" '
                f'where the source has "{" ".join(printed[b1:b2])}"']
    out = []
    for op, a1, a2, b1, b2 in opcodes:
        ours, theirs = " ".join(quoted[a1:a2]), " ".join(printed[b1:b2])
        if op == "replace":
            out.append(f'quote has "{ours}" where the source has "{theirs}"')
        elif op == "delete":
            out.append(f'quote adds "{ours}", which the source does not have here')
        elif op == "insert":
            out.append(f'quote leaves out "{theirs}" (mark an elision with …)')
    return out


def compare_wordings(a: str, b: str) -> tuple[list[Segment], list[Segment]]:
    """Both wordings as segments, the words that differ between them marked."""
    keys_a, bounds_a = _words(a)
    keys_b, bounds_b = _words(b)
    differ_a: list[list[int]] = []  # [first, last + 1] word numbers of each run that differs
    differ_b: list[list[int]] = []
    if keys_a != keys_b:
        matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
        for op, a1, a2, b1, b2 in matcher.get_opcodes():
            if op != "equal":
                _add_run(differ_a, a1, a2)
                _add_run(differ_b, b1, b2)
    return _segments(a, bounds_a, differ_a), _segments(b, bounds_b, differ_b)


def _add_run(runs: list[list[int]], first: int, end: int) -> None:
    if first == end:
        return
    if runs and runs[-1][1] == first:  # runs that touch make one marked stretch
        runs[-1][1] = end
    else:
        runs.append([first, end])


def _segments(text: str, bounds: array, runs: list[list[int]]) -> list[Segment]:
    """The text cut at each run of differing words: a marked segment goes from the run's
    first word to its last, the gaps between them included; the rest is unmarked."""
    segments: list[Segment] = []
    at = 0
    for first, end in runs:
        start, stop = bounds[2 * first], bounds[2 * end - 1]
        if start > at:
            segments.append(Segment(text[at:start], False))
        segments.append(Segment(text[start:stop], True))
        at = stop
    if at < len(text):
        segments.append(Segment(text[at:], False))
    return segments
